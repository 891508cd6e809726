import type { Message, Room, RoomSummary } from '@duplex/chat';
import { useConnectionStatus } from '@duplex/react';
import { type Ref, useId, useState } from 'react';
import type { Me } from './client';
import { CloseIcon, LockIcon, PlusIcon, SignOutIcon } from './icons';
import { Bell } from './NotificationCenter';

const statusLabel = {
  connecting: 'Connecting',
  open: 'Online',
  reconnecting: 'Reconnecting',
  offline: 'Offline',
  unauthorized: 'Signed out',
  closed: 'Closed',
};

/** What the sidebar can do to rooms. */
export interface RoomActions {
  openRoom: (roomId: string) => void;
  joinRoom: (roomId: string) => Promise<void>;
  createRoom: (name: string, visibility: 'public' | 'private') => Promise<void>;
}

/** A room's name with its mark: `#` for a public room, a lock for a private one. */
export function RoomName({ room }: { room: Room }) {
  return room.visibility === 'private' ? (
    <>
      <span className="room-mark" title="Private room">
        <LockIcon size={14} />
        <span className="sr-only">Private: </span>
      </span>
      {room.name}
    </>
  ) : (
    <>
      <span className="room-mark" aria-hidden="true">
        #{' '}
      </span>
      {room.name}
    </>
  );
}

/** One line about a room's last message, for the room list; `You` for the user's own. */
export function previewOf(message: Message | null, myId: string): string {
  if (!message) return 'No messages yet';
  const who = message.authorId === myId ? 'You' : message.authorName;
  if (message.deletedAt) return `${who} deleted a message`;
  if (message.stream?.state === 'streaming' && !message.text) return `${who} is replying…`;
  const text = message.stream ? plainText(message.text ?? '') : (message.text ?? '');
  if (text) return `${who}: ${text}`;
  if (message.attachments.length > 0) return `${who} sent an image`;
  return `${who}: …`;
}

/** A markdown reply as one plain line: marks, table rules and fences left out. */
const plainText = (markdown: string) =>
  markdown
    .replace(/```[^\n]*\n?/g, ' ')
    .replace(/^\s{0,3}(#{1,6}\s|>\s?|[-*+]\s|\d+\.\s)/gm, '')
    .replace(/^\s*\|?[\s:|-]+\|[\s:|-]*$/gm, ' ')
    .replace(/[|*_`~]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

export function Sidebar({
  me,
  rooms,
  activeRoomId,
  actions,
  onSignOut,
  notificationsOpen,
  onToggleNotifications,
  bellRef,
  drawer,
}: {
  me: Me;
  rooms: { mine: RoomSummary[]; discover: Room[] };
  activeRoomId: string | null;
  actions: RoomActions;
  onSignOut: () => void;
  notificationsOpen: boolean;
  onToggleNotifications: () => void;
  bellRef: Ref<HTMLButtonElement>;
  /** On a phone: the drawer's state and how to close it; `null` on a wide screen. */
  drawer: { open: boolean; close: () => void; panelRef: Ref<HTMLDivElement> } | null;
}) {
  const status = useConnectionStatus();
  const [name, setName] = useState('');
  const [priv, setPriv] = useState(false);
  const ids = useId();
  const modal = drawer?.open === true;
  return (
    <aside
      className={drawer ? (drawer.open ? 'sidebar drawer open' : 'sidebar drawer') : 'sidebar'}
      aria-label="Rooms and account"
    >
      <div
        className="sidebar-inner"
        ref={drawer?.panelRef}
        // Open on a phone, the drawer is a modal dialog over the room (which is inert meanwhile).
        {...(modal
          ? { role: 'dialog', 'aria-modal': true, 'aria-label': 'Rooms menu', tabIndex: -1 }
          : {})}
      >
        <div className="me">
          <div className="avatar" aria-hidden="true">
            {me.name.slice(0, 1).toUpperCase()}
          </div>
          <div className="me-text">
            <strong>{me.name}</strong>
            <span className="conn" data-state={status.state}>
              {status.state === 'open' && status.transport === 'http'
                ? 'Online (over HTTP)'
                : statusLabel[status.state]}
            </span>
          </div>
          <Bell onToggle={onToggleNotifications} open={notificationsOpen} buttonRef={bellRef} />
          <button
            type="button"
            className="icon-button sign-out"
            aria-label="Sign out"
            title="Sign out"
            onClick={onSignOut}
          >
            <SignOutIcon size={19} />
          </button>
          {drawer && (
            <button
              type="button"
              className="icon-button drawer-close"
              aria-label="Close menu"
              title="Close menu"
              onClick={drawer.close}
            >
              <CloseIcon size={20} />
            </button>
          )}
        </div>
        <nav className="room-nav" aria-labelledby={`${ids}-rooms`}>
          <h2 className="section-title" id={`${ids}-rooms`}>
            Rooms
          </h2>
          {rooms.mine.length === 0 && (
            <p className="rooms-empty">No rooms yet: join one below or create your own.</p>
          )}
          <ul className="rooms">
            {rooms.mine.map(({ room, unread, lastMessage }) => (
              <li key={room.id}>
                <button
                  type="button"
                  className={room.id === activeRoomId ? 'room active' : 'room'}
                  aria-current={room.id === activeRoomId ? 'page' : undefined}
                  onClick={() => actions.openRoom(room.id)}
                >
                  <span className="room-name">
                    <RoomName room={room} />
                  </span>
                  {unread > 0 && (
                    <>
                      <span className="badge" data-room={room.name}>
                        {unread}
                      </span>
                      <span className="sr-only"> unread</span>
                    </>
                  )}
                  <span className="preview">{previewOf(lastMessage, me.id)}</span>
                </button>
              </li>
            ))}
          </ul>
          {rooms.discover.length > 0 && (
            <>
              <h2 className="section-title" id={`${ids}-discover`}>
                Discover
              </h2>
              <ul className="rooms" aria-labelledby={`${ids}-discover`}>
                {rooms.discover.map((room) => (
                  <li key={room.id} className="discover">
                    <span className="discover-name">
                      <RoomName room={room} />
                    </span>
                    <button
                      type="button"
                      className="small-button"
                      aria-label={`Join ${room.name}`}
                      onClick={() => void actions.joinRoom(room.id)}
                    >
                      Join
                    </button>
                  </li>
                ))}
              </ul>
            </>
          )}
        </nav>
        <form
          className="new-room"
          aria-labelledby={`${ids}-new`}
          onSubmit={(e) => {
            e.preventDefault();
            if (!name.trim()) return;
            void actions.createRoom(name.trim(), priv ? 'private' : 'public');
            setName('');
            setPriv(false);
          }}
        >
          <h2 className="section-title" id={`${ids}-new`}>
            New room
          </h2>
          <label className="sr-only" htmlFor={`${ids}-name`}>
            New room name
          </label>
          <input
            id={`${ids}-name`}
            className="new-room-name"
            placeholder="Room name"
            value={name}
            maxLength={80}
            autoComplete="off"
            onChange={(e) => setName(e.target.value)}
          />
          <div className="new-room-row">
            <label className="check">
              <input type="checkbox" checked={priv} onChange={(e) => setPriv(e.target.checked)} />
              Private
            </label>
            <button type="submit" className="small-button">
              <PlusIcon size={14} /> Create
            </button>
          </div>
        </form>
      </div>
    </aside>
  );
}
