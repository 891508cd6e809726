import type { Message, Room } from '@duplex/chat';
import { type ChatMessage, type RoomMessagesResult, useReceipts } from '@duplex/react/chat';
import { type UIEvent, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { type Me, useTRPC } from './client';
import { ArrowDownIcon } from './icons';
import { MessageItem } from './MessageItem';
import { RoomName } from './Sidebar';
import { useAnnouncements } from './useAnnouncements';
import { useMessageActions } from './useMessageActions';

/** A room's loaded history and the way to load more of it, as `useRoomMessages` gives them. */
export type RoomHistory = Pick<
  RoomMessagesResult,
  'messages' | 'hasOlder' | 'loadingOlder' | 'loadOlder'
>;

/** A message's key from pending to confirmed: the same element, so a send is confirmed in place. */
const keyOf = (m: Message) => `${m.authorId}:${m.clientMsgId}`;

const fiveMinutes = 5 * 60_000;

/**
 * A room's messages as a scrolling list: older ones load on scrolling to the top, the list
 * follows new ones while the user is at the bottom, a "New messages" button jumps down to what
 * arrived while they were scrolled up, and a screen reader hears other people's new messages.
 */
export function MessageList({
  me,
  room,
  canModerate,
  messages,
  hasOlder,
  loadingOlder,
  loadOlder,
}: RoomHistory & { me: Me; room: Room; canModerate: boolean }) {
  const trpc = useTRPC();
  const readers = useReceipts(trpc.chat, room.id, { userId: me.id, messages });
  const actions = useMessageActions();
  const byId = new Map(messages.map((m) => [m.id, m]));
  const { listRef, contentRef, unseen, jumpToLatest, onScroll } = useFollowScroll(
    messages,
    me.id,
    loadOlder,
  );
  const announcements = useAnnouncements(messages, me.id, loadingOlder);

  return (
    <div className="messages-frame">
      <section
        className="messages"
        ref={listRef}
        onScroll={onScroll}
        aria-label={`Messages in ${room.name}`}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it (arrow keys, Page Up/Down)
        tabIndex={0}
      >
        <div className="messages-content" ref={contentRef}>
          {loadingOlder && <div className="muted center">Loading older messages…</div>}
          {!hasOlder && (
            <div className="room-start">
              <strong>
                <RoomName room={room} />
              </strong>
              <span>This is the start of #{room.name}.</span>
            </div>
          )}
          {messages.map((message, i) => {
            const before = messages[i - 1];
            return (
              <MessageItem
                key={keyOf(message)}
                actions={actions}
                me={me}
                message={message}
                mine={message.authorId === me.id}
                grouped={
                  before !== undefined &&
                  before.authorId === message.authorId &&
                  !before.stream &&
                  !message.stream &&
                  message.createdAt.getTime() - before.createdAt.getTime() < fiveMinutes
                }
                canDelete={message.authorId === me.id || canModerate}
                canCancel={
                  message.stream?.state === 'streaming' &&
                  (canModerate ||
                    (message.replyTo !== null && byId.get(message.replyTo)?.authorId === me.id))
                }
                seenBy={readers.get(message.id) ?? []}
              />
            );
          })}
        </div>
      </section>
      {unseen > 0 && (
        <button type="button" className="jump" onClick={jumpToLatest}>
          <ArrowDownIcon size={16} /> {unseen === 1 ? 'New message' : `${unseen} new messages`}
        </button>
      )}
      <div className="sr-only" role="log" aria-live="polite" aria-label="New messages">
        {announcements.map((a) => (
          <p key={a.key}>{a.text}</p>
        ))}
      </div>
    </div>
  );
}

/**
 * Keeps the list pinned to the newest message while the user is at the bottom (new messages,
 * images loading, a reply streaming in, the keyboard opening), keeps the view in place when
 * older messages load above, and counts what arrived while the user was scrolled up.
 */
function useFollowScroll(messages: ChatMessage[], myId: string, loadOlder: () => Promise<void>) {
  const listRef = useRef<HTMLElement>(null);
  const contentRef = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const prev = useRef({ firstKey: '', lastKey: '', height: 0 });
  const [unseen, setUnseen] = useState(0);

  const toBottom = () => {
    const list = listRef.current;
    if (list) list.scrollTop = list.scrollHeight;
    pinned.current = true;
  };

  useLayoutEffect(() => {
    const list = listRef.current;
    if (!list) return;
    const firstKey = messages[0] ? keyOf(messages[0]) : '';
    const last = messages.at(-1);
    const lastKey = last ? keyOf(last) : '';
    const before = prev.current;
    if (before.firstKey && firstKey !== before.firstKey && lastKey === before.lastKey) {
      // Older messages came in above: stay on what the user was reading.
      list.scrollTop += list.scrollHeight - before.height;
    } else if (lastKey !== before.lastKey) {
      if (pinned.current || !before.lastKey || (last?.authorId === myId && last.pending)) {
        toBottom();
        setUnseen(0);
      } else {
        const at = messages.findIndex((m) => keyOf(m) === before.lastKey);
        setUnseen((n) => n + (at >= 0 ? messages.length - 1 - at : 1));
      }
    }
    prev.current = { firstKey, lastKey, height: list.scrollHeight };
  });

  // Whatever changes height (an image loads, a reply streams in, the window or keyboard
  // resizes), a pinned list stays at the bottom.
  useEffect(() => {
    const list = listRef.current;
    const content = contentRef.current;
    if (!list || !content) return;
    const observer = new ResizeObserver(() => {
      if (pinned.current) list.scrollTop = list.scrollHeight;
      prev.current.height = list.scrollHeight;
    });
    observer.observe(list);
    observer.observe(content);
    return () => observer.disconnect();
  }, []);

  const onScroll = (e: UIEvent<HTMLElement>) => {
    const list = e.currentTarget;
    pinned.current = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
    if (pinned.current) setUnseen(0);
    if (list.scrollTop < 40) void loadOlder();
  };
  const jumpToLatest = () => {
    toBottom();
    setUnseen(0);
  };
  return { listRef, contentRef, unseen, jumpToLatest, onScroll };
}
