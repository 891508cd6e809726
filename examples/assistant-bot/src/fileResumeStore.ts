import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ResumeStore } from '@duplex/client';

/**
 * A {@link ResumeStore} in a JSON file, so a restarted bot resumes its subscriptions where it
 * left off. Writes are batched (at most one per `flushMs`) and atomic (write, then rename).
 */
export function fileResumeStore(path: string, flushMs = 200): ResumeStore & { flush(): void } {
  let cursors: Record<string, string> = {};
  try {
    cursors = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
  } catch {
    // No file yet (or an unreadable one): start without cursors.
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.tmp`, JSON.stringify(cursors));
    renameSync(`${path}.tmp`, path);
  };
  return {
    get: (key) => cursors[key] ?? null,
    set(key, eventId) {
      cursors[key] = eventId;
      timer ??= setTimeout(flush, flushMs);
    },
    flush,
  };
}
