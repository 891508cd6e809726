import type { Room, RoomSummary } from '@duplex/chat';
import { useConnectionStatus } from '@duplex/react';
import { useState } from 'react';
import type { Me } from './client';
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

export function Sidebar({
  me,
  rooms,
  activeRoomId,
  actions,
  onSignOut,
  onToggleNotifications,
}: {
  me: Me;
  rooms: { mine: RoomSummary[]; discover: Room[] };
  activeRoomId: string | null;
  actions: RoomActions;
  onSignOut: () => void;
  onToggleNotifications: () => void;
}) {
  const status = useConnectionStatus();
  const [name, setName] = useState('');
  const [priv, setPriv] = useState(false);
  return (
    <aside className="sidebar">
      <div className="me">
        <div className="avatar">{me.name.slice(0, 1).toUpperCase()}</div>
        <div className="me-text">
          <strong>{me.name}</strong>
          <span className="conn" data-state={status.state}>
            {status.state === 'open' && status.transport === 'http'
              ? 'Online (over HTTP)'
              : statusLabel[status.state]}
          </span>
        </div>
        <Bell onToggle={onToggleNotifications} />
        <button type="button" className="link" onClick={onSignOut}>
          Sign out
        </button>
      </div>
      <h3>Rooms</h3>
      <ul className="rooms">
        {rooms.mine.map(({ room, unread, lastMessage }) => (
          <li key={room.id}>
            <button
              type="button"
              className={room.id === activeRoomId ? 'room active' : 'room'}
              onClick={() => actions.openRoom(room.id)}
            >
              <span className="room-name">
                {room.visibility === 'private' ? '🔒 ' : '# '}
                {room.name}
              </span>
              {unread > 0 && (
                <span className="badge" data-room={room.name}>
                  {unread}
                </span>
              )}
              <span className="preview">
                {lastMessage
                  ? `${lastMessage.authorName}: ${lastMessage.text ?? (lastMessage.deletedAt ? 'deleted' : '📷 image')}`
                  : 'No messages yet'}
              </span>
            </button>
          </li>
        ))}
      </ul>
      {rooms.discover.length > 0 && (
        <>
          <h3>Discover</h3>
          <ul className="rooms">
            {rooms.discover.map((room) => (
              <li key={room.id} className="discover">
                <span># {room.name}</span>
                <button type="button" onClick={() => void actions.joinRoom(room.id)}>
                  Join
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      <form
        className="new-room"
        onSubmit={(e) => {
          e.preventDefault();
          if (!name.trim()) return;
          void actions.createRoom(name.trim(), priv ? 'private' : 'public');
          setName('');
        }}
      >
        <input
          placeholder="New room name"
          value={name}
          maxLength={80}
          onChange={(e) => setName(e.target.value)}
        />
        <label>
          <input type="checkbox" checked={priv} onChange={(e) => setPriv(e.target.checked)} />{' '}
          Private
        </label>
        <button type="submit">Create</button>
      </form>
    </aside>
  );
}
