import type { Message, RoomSummary } from '@duplex/chat';
import {
  type ChatMessage,
  useMembers,
  usePresence,
  useReceipts,
  useSendMessage,
  useTyping,
} from '@duplex/react/chat';
import { useMutation } from '@tanstack/react-query';
import { useLayoutEffect, useRef, useState } from 'react';
import { type Me, upload, useTRPC } from './client';
import { focusOnMount } from './dom';
import { useReporter } from './report';

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

export function RoomView({
  me,
  summary,
  messages,
  hasOlder,
  loadingOlder,
  loadOlder,
}: {
  me: Me;
  summary: RoomSummary;
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
  const listRef = useRef<HTMLDivElement>(null);
  const prev = useRef({ firstId: '', lastId: '', height: 0 });
  const canModerate = role === 'owner' || role === 'moderator';

  // Keep the view pinned: to the bottom on new messages, in place when older ones load above.
  useLayoutEffect(() => {
    const list = listRef.current;
    if (!list) return;
    const firstId = messages[0]?.id ?? '';
    const lastId = messages.at(-1)?.id ?? '';
    if (
      prev.current.firstId &&
      firstId !== prev.current.firstId &&
      lastId === prev.current.lastId
    ) {
      list.scrollTop += list.scrollHeight - prev.current.height;
    } else if (lastId !== prev.current.lastId) {
      list.scrollTop = list.scrollHeight;
    }
    prev.current = { firstId, lastId, height: list.scrollHeight };
  });

  const typing = typingState.typing.map((t) => t.name);

  return (
    <section className="room-view">
      <header className="room-header">
        <div>
          <h2>
            {room.visibility === 'private' ? '🔒 ' : '# '}
            {room.name}
          </h2>
          <span className="muted">
            {members.length} members · <span className="online-dot" /> {online.length} online
            {online.length > 0 && `: ${online.map((o) => o.name).join(', ')}`}
          </span>
        </div>
        {canModerate && room.visibility === 'private' && <InviteForm roomId={room.id} />}
      </header>
      <div
        className="messages"
        ref={listRef}
        onScroll={(e) => {
          if (e.currentTarget.scrollTop < 40) void loadOlder();
        }}
      >
        {loadingOlder && <div className="muted center">Loading older messages…</div>}
        {!hasOlder && <div className="muted center">This is the start of #{room.name}.</div>}
        {messages.map((message) => (
          <MessageItem
            // The same element from pending to confirmed: a send is confirmed in place.
            key={`${message.authorId}:${message.clientMsgId}`}
            actions={actions}
            me={me}
            message={message}
            mine={message.authorId === me.id}
            canDelete={message.authorId === me.id || canModerate}
            canCancel={
              message.stream?.state === 'streaming' &&
              (canModerate ||
                (message.replyTo !== null && byId.get(message.replyTo)?.authorId === me.id))
            }
            seenBy={readers.get(message.id) ?? []}
          />
        ))}
      </div>
      <div className="typing">
        {typing.length > 0 && `${typing.join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…`}
      </div>
      <Composer me={me} roomId={room.id} onTyping={typingState.notify} />
    </section>
  );
}

function MessageItem({
  actions,
  me,
  message,
  mine,
  canDelete,
  canCancel,
  seenBy,
}: {
  actions: MessageActions;
  me: Me;
  message: Message;
  mine: boolean;
  canDelete: boolean;
  canCancel: boolean;
  seenBy: string[];
}) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.text ?? '');
  const deleted = message.deletedAt !== null;
  return (
    <div
      className={mine ? 'message mine' : 'message'}
      data-id={message.id}
      data-client-id={message.clientMsgId}
    >
      <div className="avatar small">{message.authorName.slice(0, 1).toUpperCase()}</div>
      <div className="bubble">
        <div className="meta">
          <strong>{message.authorName}</strong>{' '}
          <time>
            {message.createdAt.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}
          </time>
          {message.editedAt && !deleted && <span className="muted"> (edited)</span>}
        </div>
        {deleted ? (
          <div className="text deleted">This message was deleted.</div>
        ) : editing ? (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void actions.edit(message.id, draft);
              setEditing(false);
            }}
          >
            <input
              className="edit"
              ref={focusOnMount}
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              onKeyDown={(e) => e.key === 'Escape' && setEditing(false)}
            />
          </form>
        ) : message.stream ? (
          <StreamedText actions={actions} message={message} canCancel={canCancel} />
        ) : (
          message.text && <div className="text">{message.text}</div>
        )}
        {message.attachments.map((a) => (
          <a key={a.id} href={a.url} target="_blank" rel="noreferrer">
            <img className="attachment" src={a.url} alt="attachment" />
          </a>
        ))}
        {Object.keys(message.reactions).length > 0 && (
          <div className="reactions">
            {Object.entries(message.reactions).map(([emoji, users]) => (
              <button
                type="button"
                key={emoji}
                className={users.includes(me.id) ? 'reaction mine' : 'reaction'}
                onClick={() => void actions.react(message.id, emoji)}
              >
                {emoji} {users.length}
              </button>
            ))}
          </div>
        )}
        {seenBy.length > 0 && <div className="seen">Seen by {seenBy.join(', ')}</div>}
      </div>
      {!deleted && (
        <div className="actions">
          {quickReactions.map((emoji) => (
            <button
              type="button"
              key={emoji}
              title={`React ${emoji}`}
              onClick={() => void actions.react(message.id, emoji)}
            >
              {emoji}
            </button>
          ))}
          {mine && !message.stream && (
            <button
              type="button"
              title="Edit"
              onClick={() => {
                setDraft(message.text ?? '');
                setEditing(true);
              }}
            >
              ✏️
            </button>
          )}
          {canDelete && (
            <button type="button" title="Delete" onClick={() => void actions.remove(message.id)}>
              🗑️
            </button>
          )}
        </div>
      )}
    </div>
  );
}

const endedNotes = {
  cancelled: 'Stopped',
  interrupted: 'Interrupted: the reply stopped coming',
  failed: 'The reply failed',
} as const;

/** A streamed reply: grows as deltas arrive, with a caret while streaming and a Stop button. */
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
        {message.text || (state === 'streaming' ? <span className="muted">Thinking…</span> : '')}
        {state === 'streaming' && <span className="caret" aria-hidden="true" />}
      </div>
      {state !== 'streaming' && state !== 'done' && (
        <div className="stream-note">{endedNotes[state]}</div>
      )}
      {canCancel && (
        <button type="button" className="stop" onClick={() => void actions.cancel(message.id)}>
          ■ Stop
        </button>
      )}
    </>
  );
}

function Composer({ me, roomId, onTyping }: { me: Me; roomId: string; onTyping: () => void }) {
  const trpc = useTRPC();
  const { report } = useReporter();
  const { send } = useSendMessage(trpc.chat, roomId, me);
  const [text, setText] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [uploading, setUploading] = useState(false);
  const fileRef = useRef<HTMLInputElement>(null);
  const submit = async () => {
    const draft = text.trim();
    if (!draft && files.length === 0) return;
    setUploading(true);
    let attachments: string[];
    try {
      attachments = await Promise.all(files.map((file) => upload(me, file)));
    } catch (failure) {
      report(failure);
      return;
    } finally {
      setUploading(false);
    }
    // The draft goes at once: the message shows as pending until the server confirms it.
    setText('');
    setFiles([]);
    if (fileRef.current) fileRef.current.value = '';
    try {
      await send({
        ...(draft ? { text: draft } : {}),
        ...(attachments.length ? { attachments } : {}),
      });
    } catch (failure) {
      // The pending message is gone: the draft comes back for another try.
      setText((current) => current || draft);
      report(failure);
    }
  };
  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <label className="attach" title="Attach images">
        📎
        <input
          ref={fileRef}
          type="file"
          accept="image/png,image/jpeg,image/gif,image/webp"
          multiple
          hidden
          onChange={(e) => setFiles([...(e.target.files ?? [])])}
        />
      </label>
      {files.length > 0 && (
        <span className="files">
          {files.length} image{files.length > 1 ? 's' : ''}
        </span>
      )}
      <input
        className="compose-text"
        placeholder="Write a message…"
        value={text}
        maxLength={4000}
        onChange={(e) => {
          setText(e.target.value);
          onTyping();
        }}
      />
      <button type="submit" disabled={uploading}>
        Send
      </button>
    </form>
  );
}

function InviteForm({ roomId }: { roomId: string }) {
  const trpc = useTRPC();
  const { run } = useReporter();
  const invite = useMutation(trpc.chat.invite.mutationOptions());
  const [userId, setUserId] = useState('');
  return (
    <form
      className="invite"
      onSubmit={(e) => {
        e.preventDefault();
        if (!userId.trim()) return;
        void run(() => invite.mutateAsync({ roomId, userId: userId.trim().toLowerCase() }));
        setUserId('');
      }}
    >
      <input
        placeholder="Invite by name"
        value={userId}
        onChange={(e) => setUserId(e.target.value)}
      />
      <button type="submit">Invite</button>
    </form>
  );
}
