import { useCallback, useEffect, useRef, useState } from 'react';

/** Where a room's unsent text is kept, per signed-in user and room. */
export const draftKey = (userId: string, roomId: string) =>
  `duplex-chat:draft:${encodeURIComponent(userId)}:${encodeURIComponent(roomId)}`;

function read(key: string): string {
  try {
    return localStorage.getItem(key) ?? '';
  } catch {
    return ''; // storage disabled: the draft lives in memory only
  }
}

function write(key: string, text: string): void {
  try {
    if (text) localStorage.setItem(key, text);
    else localStorage.removeItem(key);
  } catch {
    // Full or disabled storage: the draft still lives in memory.
  }
}

/**
 * A room's composer text, kept in `localStorage` as it is typed: it survives switching rooms,
 * a reconnect and a reload. Another tab of the same user typing in the same room takes over the
 * draft (the newest edit wins). The setter takes a value or an update of the current one.
 */
export function useDraft(
  userId: string,
  roomId: string,
): [string, (next: string | ((current: string) => string)) => void] {
  const key = draftKey(userId, roomId);
  const [text, setText] = useState(() => read(key));
  const current = useRef(text);
  current.current = text;
  const update = useCallback(
    (next: string | ((current: string) => string)) => {
      const value = typeof next === 'function' ? next(current.current) : next;
      current.current = value;
      write(key, value);
      setText(value);
    },
    [key],
  );
  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (e.key === key) setText(e.newValue ?? '');
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, [key]);
  return [text, update];
}
