import type { RoomSummary } from '@duplex/chat';
import { useMembers, usePresence, useTyping } from '@duplex/react/chat';
import type { RefObject } from 'react';
import { Composer } from './Composer';
import { type Me, useTRPC } from './client';
import { InviteButton } from './InviteButton';
import { MenuIcon } from './icons';
import { MessageList, type RoomHistory } from './MessageList';
import { RoomName } from './Sidebar';

/** The phone layout's button that opens the room drawer. */
export interface MenuButtonProps {
  ref: RefObject<HTMLButtonElement | null>;
  open: () => void;
  expanded: boolean;
  /** Unread messages in other rooms plus unread notifications: a dot on the button. */
  attention: number;
}

/** The menu button, with a dot while anything outside the shown room is unread. */
export function MenuButton({ ref, open, expanded, attention }: MenuButtonProps) {
  return (
    <button
      ref={ref}
      type="button"
      className="icon-button menu-button"
      aria-label={attention > 0 ? `Rooms and notifications, ${attention} unread` : 'Rooms'}
      aria-expanded={expanded}
      aria-haspopup="dialog"
      title="Rooms"
      onClick={open}
    >
      <MenuIcon size={22} />
      {attention > 0 && <span className="menu-dot" aria-hidden="true" />}
    </button>
  );
}

/**
 * The open room: a header (name, members and who is online, the Invite button for the owner
 * and moderators of a private room), its messages, who is typing, and the composer.
 */
export function RoomView({
  me,
  summary,
  menu,
  ...history
}: { me: Me; summary: RoomSummary; menu: MenuButtonProps | null } & RoomHistory) {
  const { room, role } = summary;
  const trpc = useTRPC();
  const members = useMembers(trpc.chat, room.id);
  const online = usePresence(trpc.chat, room.id);
  const typingState = useTyping(trpc.chat, room.id, { userId: me.id });
  const canModerate = role === 'owner' || role === 'moderator';
  const typing = typingState.typing.map((t) => t.name);

  return (
    <section className="room-view" aria-labelledby="room-title">
      <header className="room-header">
        {menu && <MenuButton {...menu} />}
        <div className="room-title">
          <h1 id="room-title">
            <RoomName room={room} />
          </h1>
          <p className="muted members-line">
            {members.length} {members.length === 1 ? 'member' : 'members'} ·{' '}
            <span className="online-dot" aria-hidden="true" /> {online.length} online
            {online.length > 0 && `: ${online.map((o) => o.name).join(', ')}`}
          </p>
        </div>
        {canModerate && room.visibility === 'private' && <InviteButton room={room} />}
      </header>
      <MessageList me={me} room={room} canModerate={canModerate} {...history} />
      <div className="typing" role="status">
        {typing.length > 0 && `${typing.join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…`}
      </div>
      <Composer me={me} room={room} onTyping={typingState.notify} />
    </section>
  );
}
