import type { Message, RoomSummary } from '@duplex/chat';
import { useLayoutEffect, useRef, useState } from 'react';
import type { ChatModel } from './chatModel';
import { focusOnMount } from './dom';

const quickReactions = ['👍', '❤️', '😂', '🎉'];

export function RoomView({ model, summary }: { model: ChatModel; summary: RoomSummary }) {
  const { room, role } = summary;
  const state = model.room(room.id);
  const messages = model.ordered(room.id);
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

  const readers = new Map<string, string[]>();
  for (const [userId, messageId] of state.receipts) {
    // Nobody is told that they, or a message's own author, have seen it.
    if (userId === model.me.id || state.messages.get(messageId)?.authorId === userId) continue;
    const name = state.members.find((m) => m.userId === userId)?.name ?? userId;
    readers.set(messageId, [...(readers.get(messageId) ?? []), name]);
  }
  const typing = [...state.typing.values()].map((t) => t.name);

  return (
    <section className="room-view">
      <header className="room-header">
        <div>
          <h2>
            {room.visibility === 'private' ? '🔒 ' : '# '}
            {room.name}
          </h2>
          <span className="muted">
            {state.members.length} members · <span className="online-dot" /> {state.online.length}{' '}
            online
            {state.online.length > 0 && `: ${state.online.map((o) => o.name).join(', ')}`}
          </span>
        </div>
        {canModerate && room.visibility === 'private' && (
          <InviteForm model={model} roomId={room.id} />
        )}
      </header>
      <div
        className="messages"
        ref={listRef}
        onScroll={(e) => {
          if (e.currentTarget.scrollTop < 40) void model.loadOlder(room.id);
        }}
      >
        {state.loadingOlder && <div className="muted center">Loading older messages…</div>}
        {!state.hasOlder && <div className="muted center">This is the start of #{room.name}.</div>}
        {messages.map((message) => (
          <MessageItem
            key={message.id}
            model={model}
            message={message}
            mine={message.authorId === model.me.id}
            canDelete={message.authorId === model.me.id || canModerate}
            canCancel={
              message.stream?.state === 'streaming' &&
              (canModerate ||
                (message.replyTo !== null &&
                  state.messages.get(message.replyTo)?.authorId === model.me.id))
            }
            seenBy={readers.get(message.id) ?? []}
          />
        ))}
      </div>
      <div className="typing">
        {typing.length > 0 && `${typing.join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…`}
      </div>
      <Composer model={model} roomId={room.id} />
    </section>
  );
}

function MessageItem({
  model,
  message,
  mine,
  canDelete,
  canCancel,
  seenBy,
}: {
  model: ChatModel;
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
              void model.run(() =>
                model.client.chat.edit.mutate({ messageId: message.id, text: draft }),
              );
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
          <StreamedText model={model} message={message} canCancel={canCancel} />
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
                className={users.includes(model.me.id) ? 'reaction mine' : 'reaction'}
                onClick={() =>
                  void model.run(() =>
                    model.client.chat.react.mutate({ messageId: message.id, emoji }),
                  )
                }
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
              onClick={() =>
                void model.run(() =>
                  model.client.chat.react.mutate({ messageId: message.id, emoji }),
                )
              }
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
            <button
              type="button"
              title="Delete"
              onClick={() =>
                void model.run(() => model.client.chat.delete.mutate({ messageId: message.id }))
              }
            >
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
  model,
  message,
  canCancel,
}: {
  model: ChatModel;
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
        <button
          type="button"
          className="stop"
          onClick={() =>
            void model.run(() => model.client.chat.cancelStream.mutate({ messageId: message.id }))
          }
        >
          ■ Stop
        </button>
      )}
    </>
  );
}

function Composer({ model, roomId }: { model: ChatModel; roomId: string }) {
  const [text, setText] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [sending, setSending] = useState(false);
  const fileRef = useRef<HTMLInputElement>(null);
  const submit = async () => {
    if (!text.trim() && files.length === 0) return;
    setSending(true);
    try {
      await model.send(roomId, text.trim(), files);
      setText('');
      setFiles([]);
      if (fileRef.current) fileRef.current.value = '';
    } catch {
      // The model shows the error; the draft stays for another try.
    } finally {
      setSending(false);
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
          model.typing(roomId);
        }}
      />
      <button type="submit" disabled={sending}>
        Send
      </button>
    </form>
  );
}

function InviteForm({ model, roomId }: { model: ChatModel; roomId: string }) {
  const [userId, setUserId] = useState('');
  return (
    <form
      className="invite"
      onSubmit={(e) => {
        e.preventDefault();
        if (!userId.trim()) return;
        void model.run(() =>
          model.client.chat.invite.mutate({ roomId, userId: userId.trim().toLowerCase() }),
        );
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
