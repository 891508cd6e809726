import type { Message } from '@duplex/chat';
import { StopIcon } from './icons';
import { Markdown } from './Markdown';
import type { MessageActions } from './useMessageActions';

const endedNotes = {
  cancelled: 'Stopped',
  interrupted: 'Interrupted: the reply stopped coming',
  failed: 'The reply failed',
} as const;

/**
 * A streamed reply: markdown, rendered in full as it grows, with a caret while streaming and a
 * Stop button.
 */
export function StreamedText({
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
