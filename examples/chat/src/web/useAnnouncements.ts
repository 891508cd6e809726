import type { Message } from '@duplex/chat';
import type { ChatMessage } from '@duplex/react/chat';
import { useEffect, useRef, useState } from 'react';

/** Message ids are decimal strings without leading zeros: longer is newer, then by digits. */
const newer = (a: string, b: string) => a.length > b.length || (a.length === b.length && a > b);

/**
 * What a screen reader is told as messages arrive: other people's new messages (a streamed
 * reply once it has finished), never the history loaded on opening the room or above it.
 */
export function useAnnouncements(messages: ChatMessage[], myId: string, loading: boolean) {
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
