import type { ChatMessage } from '@duplex/react/chat';
import { useRef, useState } from 'react';
import type { Me } from './client';
import { focusLater, focusOnMount, useDismiss } from './dom';
import { ClockIcon, Emoji, MoreIcon, PencilIcon, TrashIcon } from './icons';
import { StreamedText } from './StreamedText';
import type { MessageActions } from './useMessageActions';

const quickReactions = ['👍', '❤️', '😂', '🎉'];

/**
 * One message: avatar, author and time (or "Sending…" while pending), the text (an edit box
 * while editing, a streamed reply for a bot), attachments, reactions and who has seen it, and a
 * toolbar of quick reactions, Edit and Delete behind a "Message actions" button.
 */
export function MessageItem({
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
