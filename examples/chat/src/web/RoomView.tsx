import type { Message, Room, RoomSummary } from '@duplex/chat';
import {
  type ChatMessage,
  useMembers,
  usePresence,
  useReceipts,
  useSendMessage,
  useTyping,
} from '@duplex/react/chat';
import { useMutation } from '@tanstack/react-query';
import {
  type RefObject,
  type UIEvent,
  useEffect,
  useId,
  useLayoutEffect,
  useRef,
  useState,
} from 'react';
import { type Me, upload, useTRPC } from './client';
import { focusLater, focusOnMount, useDismiss } from './dom';
import {
  ArrowDownIcon,
  ClockIcon,
  CloseIcon,
  Emoji,
  MenuIcon,
  MoreIcon,
  PaperclipIcon,
  PencilIcon,
  SendIcon,
  StopIcon,
  TrashIcon,
  UserPlusIcon,
} from './icons';
import { Markdown } from './Markdown';
import { useReporter } from './report';
import { RoomName } from './Sidebar';
import { useDraft } from './useDraft';

const quickReactions = ['👍', '❤️', '😂', '🎉'];

/** The calls a message's buttons make. */
function useMessageActions() {
  const trpc = useTRPC();
  const { run } = useReporter();
  const edit = useMutation(trpc.chat.edit.mutationOptions());
  const react = useMutation(trpc.chat.react.mutationOptions());
  const remove = useMutation(trpc.chat.delete.mutationOptions());
  const cancel = useMutation(trpc.chat.cancelStream.mutationOptions());
  return {
    edit: (messageId: string, text: string) => run(() => edit.mutateAsync({ messageId, text })),
    react: (messageId: string, emoji: string) => run(() => react.mutateAsync({ messageId, emoji })),
    remove: (messageId: string) => run(() => remove.mutateAsync({ messageId })),
    cancel: (messageId: string) => run(() => cancel.mutateAsync({ messageId })),
  };
}
type MessageActions = ReturnType<typeof useMessageActions>;

/** The phone layout's button that opens the room drawer. */
export interface MenuButtonProps {
  ref: RefObject<HTMLButtonElement | null>;
  open: () => void;
  expanded: boolean;
  /** Unread messages in other rooms plus unread notifications: a dot on the button. */
  attention: number;
}

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

/** A message's key from pending to confirmed: the same element, so a send is confirmed in place. */
const keyOf = (m: Message) => `${m.authorId}:${m.clientMsgId}`;

/** Message ids are decimal strings without leading zeros: longer is newer, then by digits. */
const newer = (a: string, b: string) => a.length > b.length || (a.length === b.length && a > b);

const fiveMinutes = 5 * 60_000;

export function RoomView({
  me,
  summary,
  menu,
  messages,
  hasOlder,
  loadingOlder,
  loadOlder,
}: {
  me: Me;
  summary: RoomSummary;
  menu: MenuButtonProps | null;
  messages: ChatMessage[];
  hasOlder: boolean;
  loadingOlder: boolean;
  loadOlder: () => Promise<void>;
}) {
  const { room, role } = summary;
  const trpc = useTRPC();
  const members = useMembers(trpc.chat, room.id);
  const online = usePresence(trpc.chat, room.id);
  const typingState = useTyping(trpc.chat, room.id, { userId: me.id });
  const readers = useReceipts(trpc.chat, room.id, { userId: me.id, messages });
  const actions = useMessageActions();
  const byId = new Map(messages.map((m) => [m.id, m]));
  const canModerate = role === 'owner' || role === 'moderator';
  const { listRef, contentRef, unseen, jumpToLatest, onScroll } = useFollowScroll(
    messages,
    me.id,
    loadOlder,
  );
  const announcements = useAnnouncements(messages, me.id, loadingOlder);
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
      <div className="typing" role="status">
        {typing.length > 0 && `${typing.join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…`}
      </div>
      <Composer me={me} room={room} onTyping={typingState.notify} />
    </section>
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

/**
 * What a screen reader is told as messages arrive: other people's new messages (a streamed
 * reply once it has finished), never the history loaded on opening the room or above it.
 */
function useAnnouncements(messages: ChatMessage[], myId: string, loading: boolean) {
  const newest = useRef<string | null>(null);
  const streaming = useRef(new Set<string>());
  const [said, setSaid] = useState<{ key: string; text: string }[]>([]);
  useEffect(() => {
    const stored = messages.filter((m) => !m.pending);
    if (newest.current === null) {
      if (loading) return;
      newest.current = stored.at(-1)?.id ?? '';
      return;
    }
    const next: { key: string; text: string }[] = [];
    const say = (m: Message) => {
      const body = m.deletedAt
        ? 'deleted a message'
        : m.text
          ? m.text.slice(0, 500)
          : m.attachments.length > 0
            ? 'sent an image'
            : '';
      if (body)
        next.push({ key: `${m.id}:${m.stream?.state ?? ''}`, text: `${m.authorName}: ${body}` });
    };
    for (const m of stored) {
      if (m.authorId === myId) continue;
      if (newest.current === '' || newer(m.id, newest.current)) {
        if (m.stream?.state === 'streaming') streaming.current.add(m.id);
        else say(m);
      } else if (streaming.current.has(m.id) && m.stream?.state !== 'streaming') {
        streaming.current.delete(m.id);
        say(m);
      }
    }
    const last = stored.at(-1)?.id;
    if (last && (newest.current === '' || newer(last, newest.current))) newest.current = last;
    if (next.length > 0) setSaid((s) => [...s, ...next].slice(-5));
  }, [messages, myId, loading]);
  return said;
}

function MessageItem({
  actions,
  me,
  message,
  mine,
  grouped,
  canDelete,
  canCancel,
  seenBy,
}: {
  actions: MessageActions;
  me: Me;
  message: ChatMessage;
  mine: boolean;
  grouped: boolean;
  canDelete: boolean;
  canCancel: boolean;
  seenBy: string[];
}) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.text ?? '');
  const [toolsOpen, setToolsOpen] = useState(false);
  const rowRef = useRef<HTMLDivElement>(null);
  const moreRef = useRef<HTMLButtonElement>(null);
  const deleted = message.deletedAt !== null;
  const pending = message.pending === true;
  const hasActions = !deleted && !pending;
  const closeTools = (how: 'escape' | 'outside') => {
    setToolsOpen(false);
    if (how === 'escape') moreRef.current?.focus();
  };
  useDismiss(rowRef, toolsOpen, closeTools);
  /** Runs a toolbar action and folds the toolbar away. */
  const act = (action: () => void) => {
    action();
    setToolsOpen(false);
  };
  const time = message.createdAt.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const classes = ['message'];
  if (mine) classes.push('mine');
  if (grouped) classes.push('grouped');
  if (toolsOpen) classes.push('tools-open');
  if (message.stream) classes.push('bot');
  return (
    <article
      ref={rowRef}
      className={classes.join(' ')}
      data-id={message.id}
      data-client-id={message.clientMsgId}
      data-pending={pending ? 'true' : undefined}
      aria-label={`${message.authorName}, ${pending ? 'sending' : time}`}
    >
      {!mine && (
        <div className="avatar small" aria-hidden="true">
          {grouped ? '' : message.authorName.slice(0, 1).toUpperCase()}
        </div>
      )}
      <div className="bubble-wrap">
        <div className="bubble">
          <div className="meta">
            <strong className={grouped || mine ? 'sr-only' : undefined}>
              {message.authorName}
            </strong>
            {pending ? (
              <span className="pending-note">
                <ClockIcon size={12} /> Sending…
              </span>
            ) : (
              <time dateTime={message.createdAt.toISOString()}>{time}</time>
            )}
            {message.editedAt && !deleted && <span className="edited"> (edited)</span>}
          </div>
          {deleted ? (
            <div className="text deleted">This message was deleted.</div>
          ) : editing ? (
            <form
              className="edit-form"
              onSubmit={(e) => {
                e.preventDefault();
                // Emptied or unchanged: nothing to save (deleting is the Delete action's job).
                if (draft.trim() && draft !== message.text) void actions.edit(message.id, draft);
                setEditing(false);
                focusLater(() => moreRef.current);
              }}
            >
              <input
                className="edit"
                aria-label="Edit message"
                ref={focusOnMount}
                value={draft}
                onChange={(e) => setDraft(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key !== 'Escape') return;
                  e.preventDefault();
                  setEditing(false);
                  focusLater(() => moreRef.current);
                }}
              />
              <span className="edit-hint">Enter to save · Esc to cancel</span>
            </form>
          ) : message.stream ? (
            <StreamedText actions={actions} message={message} canCancel={canCancel} />
          ) : (
            message.text && <div className="text">{message.text}</div>
          )}
          {message.attachments.map((a) => (
            <a key={a.id} href={a.url} target="_blank" rel="noreferrer" className="attachment-link">
              <img
                className="attachment"
                src={a.url}
                alt={`Attachment from ${message.authorName}`}
              />
            </a>
          ))}
          {Object.keys(message.reactions).length > 0 && (
            <div className="reactions">
              {Object.entries(message.reactions).map(([emoji, users]) => (
                <button
                  type="button"
                  key={emoji}
                  className={users.includes(me.id) ? 'reaction mine' : 'reaction'}
                  aria-pressed={users.includes(me.id)}
                  title={`${users.length} reacted ${emoji}`}
                  onClick={() => void actions.react(message.id, emoji)}
                >
                  <Emoji char={emoji} size={16} /> {users.length}
                </button>
              ))}
            </div>
          )}
          {seenBy.length > 0 && <div className="seen">Seen by {seenBy.join(', ')}</div>}
        </div>
        {hasActions && (
          <div className="tools">
            <button
              ref={moreRef}
              type="button"
              className="more-button icon-button"
              aria-label="Message actions"
              aria-expanded={toolsOpen}
              title="Message actions"
              onClick={() => setToolsOpen(!toolsOpen)}
            >
              <MoreIcon size={18} />
            </button>
            <div className="actions">
              {quickReactions.map((emoji) => (
                <button
                  type="button"
                  key={emoji}
                  title={`React ${emoji}`}
                  aria-label={`React ${emoji}`}
                  onClick={() => act(() => void actions.react(message.id, emoji))}
                >
                  <Emoji char={emoji} size={20} />
                </button>
              ))}
              {mine && !message.stream && (
                <button
                  type="button"
                  title="Edit"
                  aria-label="Edit message"
                  onClick={() =>
                    act(() => {
                      setDraft(message.text ?? '');
                      setEditing(true);
                    })
                  }
                >
                  <PencilIcon size={16} />
                </button>
              )}
              {canDelete && (
                <button
                  type="button"
                  title="Delete"
                  aria-label="Delete message"
                  className="danger"
                  onClick={() => act(() => void actions.remove(message.id))}
                >
                  <TrashIcon size={16} />
                </button>
              )}
            </div>
          </div>
        )}
      </div>
    </article>
  );
}

const endedNotes = {
  cancelled: 'Stopped',
  interrupted: 'Interrupted: the reply stopped coming',
  failed: 'The reply failed',
} as const;

/**
 * A streamed reply: markdown, rendered in full as it grows, with a caret while streaming and a
 * Stop button.
 */
function StreamedText({
  actions,
  message,
  canCancel,
}: {
  actions: MessageActions;
  message: Message;
  canCancel: boolean;
}) {
  const state = message.stream!.state;
  return (
    <>
      <div className="text streamed" data-stream={state}>
        {message.text ? (
          <Markdown text={message.text} />
        ) : (
          state === 'streaming' && <span className="muted">Thinking…</span>
        )}
        {state === 'streaming' && <span className="caret" aria-hidden="true" />}
      </div>
      {state !== 'streaming' && state !== 'done' && (
        <div className="stream-note">{endedNotes[state]}</div>
      )}
      {canCancel && (
        <button type="button" className="stop" onClick={() => void actions.cancel(message.id)}>
          <StopIcon size={12} /> Stop
        </button>
      )}
    </>
  );
}

function Composer({ me, room, onTyping }: { me: Me; room: Room; onTyping: () => void }) {
  const trpc = useTRPC();
  const { report } = useReporter();
  const { send } = useSendMessage(trpc.chat, room.id, me);
  const [text, setText] = useDraft(me.id, room.id);
  const [files, setFiles] = useState<File[]>([]);
  const [uploading, setUploading] = useState(false);
  const fileRef = useRef<HTMLInputElement>(null);
  const textRef = useRef<HTMLTextAreaElement>(null);
  const previews = usePreviews(files);

  // The box grows with its text, up to the height the stylesheet allows, then scrolls.
  // biome-ignore lint/correctness/useExhaustiveDependencies: measures again when the text changes
  useLayoutEffect(() => {
    const box = textRef.current;
    if (!box) return;
    box.style.height = 'auto';
    box.style.height = `${box.scrollHeight + 2}px`;
  }, [text]);

  const clearFiles = () => {
    setFiles([]);
    if (fileRef.current) fileRef.current.value = '';
  };
  const submit = async () => {
    const draft = text.trim();
    const sending = files;
    if ((!draft && sending.length === 0) || uploading) return;
    // What is sent leaves the box now; anything typed from here on is the next draft, and
    // stays whatever happens to this send.
    setText('');
    let attachments: string[] = [];
    if (sending.length > 0) {
      setUploading(true);
      try {
        attachments = await Promise.all(sending.map((file) => upload(me, file)));
        clearFiles();
      } catch (failure) {
        setText((current) => (current ? current : draft));
        report(failure);
        return;
      } finally {
        setUploading(false);
      }
    }
    try {
      // Shown at once as pending, confirmed in place when the server has it (once, even if it
      // is sent again after a reconnect).
      await send({
        ...(draft ? { text: draft } : {}),
        ...(attachments.length ? { attachments } : {}),
      });
    } catch (failure) {
      // The pending message is gone: the text comes back for another try, unless a new one
      // was typed meanwhile.
      setText((current) => (current ? current : draft));
      report(failure);
    }
  };
  return (
    <form
      className="composer"
      aria-label={`Send a message to ${room.name}`}
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
        textRef.current?.focus();
      }}
    >
      {previews.length > 0 && (
        <ul className="files" aria-label="Images to send">
          {previews.map(({ file, url }, i) => (
            <li key={url} className="file">
              <img src={url} alt={file.name} />
              <button
                type="button"
                className="remove-file"
                aria-label={`Remove ${file.name}`}
                title="Remove"
                disabled={uploading}
                onClick={() => {
                  const rest = files.filter((_, j) => j !== i);
                  if (rest.length === 0) clearFiles();
                  else setFiles(rest);
                  textRef.current?.focus();
                }}
              >
                <CloseIcon size={12} />
              </button>
            </li>
          ))}
          {uploading && <li className="uploading muted">Uploading…</li>}
        </ul>
      )}
      <div className="composer-row">
        <button
          type="button"
          className="icon-button attach"
          aria-label="Attach images"
          title="Attach images"
          onClick={() => fileRef.current?.click()}
        >
          <PaperclipIcon size={20} />
        </button>
        <input
          ref={fileRef}
          type="file"
          accept="image/png,image/jpeg,image/gif,image/webp"
          multiple
          hidden
          onChange={(e) => setFiles([...files, ...(e.target.files ?? [])])}
        />
        <textarea
          ref={textRef}
          className="compose-text"
          aria-label={`Message ${room.name}`}
          placeholder={`Message ${room.visibility === 'private' ? '' : '#'}${room.name}`}
          rows={1}
          value={text}
          maxLength={4000}
          enterKeyHint="send"
          onChange={(e) => {
            setText(e.target.value);
            onTyping();
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
              e.preventDefault();
              void submit();
            }
          }}
        />
        <button type="submit" className="send" disabled={uploading} aria-label="Send">
          <SendIcon size={18} />
          <span className="send-label" aria-hidden="true">
            Send
          </span>
        </button>
      </div>
    </form>
  );
}

/** Object URLs for thumbnails of the chosen files, released when they change. */
function usePreviews(files: File[]) {
  const [previews, setPreviews] = useState<{ file: File; url: string }[]>([]);
  useEffect(() => {
    const next = files.map((file) => ({ file, url: URL.createObjectURL(file) }));
    setPreviews(next);
    return () => {
      for (const p of next) URL.revokeObjectURL(p.url);
    };
  }, [files]);
  return previews;
}

/** Private rooms: the owner and moderators invite people by name, from a small popover. */
function InviteButton({ room }: { room: Room }) {
  const [open, setOpen] = useState(false);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const popoverRef = useRef<HTMLDivElement>(null);
  const id = useId();
  const close = (how: 'escape' | 'outside') => {
    setOpen(false);
    if (how === 'escape') buttonRef.current?.focus();
  };
  useDismiss(popoverRef, open, close, '.invite-button');
  return (
    <div className="invite-wrap">
      <button
        ref={buttonRef}
        type="button"
        className="invite-button"
        aria-expanded={open}
        aria-controls={open ? id : undefined}
        onClick={() => setOpen(!open)}
      >
        <UserPlusIcon size={18} />
        <span className="invite-label">Invite</span>
      </button>
      {open && (
        <div className="invite-popover" id={id} ref={popoverRef}>
          <InviteForm room={room} />
        </div>
      )}
    </div>
  );
}

function InviteForm({ room }: { room: Room }) {
  const trpc = useTRPC();
  const invite = useMutation(trpc.chat.invite.mutationOptions());
  const [name, setName] = useState('');
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const id = useId();
  return (
    <form
      className="invite"
      onSubmit={(e) => {
        e.preventDefault();
        const typed = name.trim();
        if (!typed || invite.isPending) return;
        setResult(null);
        // The server resolves the name the way sign-in does, and says when nobody has it.
        invite.mutate(
          { roomId: room.id, userId: typed },
          {
            onSuccess: (answer) => {
              const who = answer?.user?.name ?? typed;
              setResult({
                ok: true,
                text:
                  answer?.status === 'member' ? `${who} is already in this room` : `Invited ${who}`,
              });
              setName('');
            },
            onError: (failure) => setResult({ ok: false, text: failure.message }),
          },
        );
      }}
    >
      <label htmlFor={id}>Invite to {room.name}</label>
      <div className="invite-row">
        <input
          id={id}
          ref={focusOnMount}
          placeholder="Name, e.g. Alan Turing"
          value={name}
          autoComplete="off"
          onChange={(e) => setName(e.target.value)}
        />
        <button type="submit" className="primary" disabled={invite.isPending}>
          Invite
        </button>
      </div>
      <p
        className={
          result ? (result.ok ? 'invite-result ok' : 'invite-result error') : 'invite-result'
        }
        role="status"
      >
        {result?.text}
      </p>
    </form>
  );
}
