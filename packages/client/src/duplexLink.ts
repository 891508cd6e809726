import { isCursor } from '@duplex/protocol';
import type { Operation, TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import { DuplexClientError } from './duplexClientError';
import type { ResumeStore } from './resumeStore';

/** Event ids remembered per subscription to drop repeats; repeats only occur at resume seams. */
const seenIdsWindow = 1024;

export interface DuplexLinkOptions {
  resumeStore: ResumeStore | undefined;
  /** The error to fail calls with once the client can no longer connect (refused, closed). */
  terminalError(): DuplexClientError | null;
  /** Registers a callback run when the client stops for good; returns the unregister. */
  onTerminal(listener: () => void): () => void;
}

/**
 * The outermost link of a Duplex client: drops repeated events of resumed subscriptions by
 * event id, persists resume cursors, ends subscriptions with the reason when the client stops
 * for good, and turns every error into a {@link DuplexClientError}.
 */
export function duplexLink<TRouter extends AnyRouter>(opts: DuplexLinkOptions): TRPCLink<TRouter> {
  const toError = (cause: unknown) => opts.terminalError() ?? DuplexClientError.fromUnknown(cause);
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        // After $close() or a refusal, fail at once: the tRPC client would try to reopen.
        const terminal = opts.terminalError();
        if (terminal) {
          observer.error(terminal);
          return () => {};
        }
        const key = op.type === 'subscription' ? resumeKey(op) : null;
        const seen = op.type === 'subscription' ? createRecentIds(seenIdsWindow) : null;
        const stopListening =
          op.type === 'subscription'
            ? opts.onTerminal(() =>
                observer.error(
                  opts.terminalError() ?? new DuplexClientError('CLOSED', 'Client closed'),
                ),
              )
            : () => {};
        const subscription = next(withStoredCursor(op, key, opts.resumeStore)).subscribe({
          next(envelope) {
            const { result } = envelope;
            const eventId = 'id' in result && typeof result.id === 'string' ? result.id : null;
            // A (re)start or a connection change is a seam where repeats can come.
            if (seen && (result.type === 'started' || result.type === 'state')) seen.seam();
            // tRPC's contract: a result without a type is data (httpSubscriptionLink sends those).
            const isData = result.type === 'data' || result.type === undefined;
            if (seen && isData && eventId !== null) {
              if (!seen.add(eventId)) return;
              if (key !== null) opts.resumeStore?.set(key, eventId);
              // The stream's starting point: tRPC has recorded its id; the app has no use for it.
              if (isCursor((result.data as { data?: unknown } | undefined)?.data)) return;
            }
            observer.next(envelope);
          },
          error(cause) {
            observer.error(toError(cause));
          },
          complete() {
            observer.complete();
          },
        });
        return () => {
          stopListening();
          subscription.unsubscribe();
        };
      });
}

/**
 * The last `size` event ids, and repeat checks where repeats can occur: for the `size` events
 * after a seam (a resubscribe, a connection change), ids are checked against those seen
 * before it. Between seams an event costs one array write: checking every event against a
 * `Set` was a tenth of the client's CPU per delivery in profiles.
 */
function createRecentIds(size: number) {
  const ring: (string | undefined)[] = new Array(size);
  let next = 0;
  let checking: Set<string> | null = null;
  let checksLeft = 0;
  return {
    seam(): void {
      checking ??= new Set(ring.filter((id): id is string => id !== undefined));
      checksLeft = size;
    },
    /** Remembers `id`; `false` if it is a repeat. */
    add(id: string): boolean {
      if (checking) {
        if (checking.has(id)) return false;
        checking.add(id);
        if (--checksLeft === 0) checking = null;
      }
      ring[next] = id;
      next = (next + 1) % size;
      return true;
    },
  };
}

/** Identifies a subscription across page loads: its path and its input without the cursor. */
function resumeKey(op: Operation): string {
  const input = op.input;
  if (input === null || typeof input !== 'object')
    return `${op.path}:${JSON.stringify(input ?? null)}`;
  const { lastEventId: _cursor, ...rest } = input as Record<string, unknown>;
  const sorted = Object.fromEntries(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)));
  return `${op.path}:${JSON.stringify(sorted)}`;
}

function withStoredCursor(
  op: Operation,
  key: string | null,
  store: ResumeStore | undefined,
): Operation {
  if (key === null || !store) return op;
  const input = op.input;
  if (input !== undefined && (input === null || typeof input !== 'object')) return op;
  const current = input as Record<string, unknown> | undefined;
  if (current?.lastEventId != null) return op;
  const stored = store.get(key);
  return stored === null ? op : { ...op, input: { ...current, lastEventId: stored } };
}
