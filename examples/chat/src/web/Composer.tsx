import type { Room } from '@duplex/chat';
import { useSendMessage } from '@duplex/react/chat';
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { type Me, upload, useTRPC } from './client';
import { CloseIcon, PaperclipIcon, SendIcon } from './icons';
import { useReporter } from './report';
import { useDraft } from './useDraft';

/**
 * The box at the bottom of a room: text kept as a draft per room (see `useDraft`), images to
 * attach with thumbnails, Enter to send (Shift+Enter for a new line). A send shows at once as
 * pending; if it fails, the text comes back unless something new was typed meanwhile.
 */
export function Composer({ me, room, onTyping }: { me: Me; room: Room; onTyping: () => void }) {
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
