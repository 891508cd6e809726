import { randomUUID } from 'node:crypto';
import type { Broker } from '@duplex/server';
import { TRPCError } from '@trpc/server';
import type { AnnouncementRef, ChatStore } from './chatStore';
import type { ChatEvent } from './schemas';

/** One event to announce at most once: `event` is the `ref.type` event of `ref.messageId`. */
export interface Announcement {
  ref: AnnouncementRef;
  channel: string;
  event: ChatEvent;
}

/** Options of {@link createAnnouncer}. */
export interface AnnouncerOptions {
  store: ChatStore;
  /**
   * How long a claim to announce is held before another attempt may take it over (the holder
   * crashed or hangs). Longer than a publish can take: a Redis broker gives up on a command
   * after `commandTimeoutMs` (5 s).
   * @default 10_000
   */
  leaseMs?: number;
  /**
   * Receives a failure to release a claim after a failed publish (the call still fails with
   * the publish's error; the lease then ends the claim instead).
   */
  onReleaseError?: (error: unknown, ref: AnnouncementRef) => void;
}

/** Defaults of {@link AnnouncerOptions}. */
export const announcerDefaults = { leaseMs: 10_000 };

/** What looking for an event in a channel's log found. */
type LogSearch = 'found' | 'absent' | 'unknown';

const maxPollMs = 250;

/**
 * Publishes announcements so that each goes out at most once, whatever the concurrency,
 * crashes or timeouts, and is not left unannounced by a failure the next attempt can repair.
 *
 * Each attempt reads the channel's head, then claims the announcement in the store (one
 * atomic step, with a lease). Only the holder publishes, then settles it as announced.
 * Attempts that find it claimed wait until it is settled or the lease lapses. A holder whose
 * publish fails releases the claim: the failure may be ambiguous (a Redis command that timed
 * out may still run), so whoever claims next first looks for the event in the log after the
 * head read before the first claim, and publishes only if it is provably not there. When the
 * log can no longer tell (trimmed by retention, lost by a broker restart), it is settled
 * without publishing: at most once wins, and the change stays in history.
 */
export function createAnnouncer(opts: AnnouncerOptions) {
  const { store } = opts;
  const leaseMs = opts.leaseMs ?? announcerDefaults.leaseMs;

  return {
    /**
     * Announces unless it was already: `true` if this call settled it (published it, found it
     * published by an attempt that died, or gave up looking), `false` if another one had.
     */
    async announce(broker: Broker, { ref, channel, event }: Announcement): Promise<boolean> {
      const token = randomUUID();
      const { id: afterEventId } = await logPosition(broker, channel, leaseMs / 2);
      for (let pollMs = 5; ; pollMs = Math.min(pollMs * 2, maxPollMs)) {
        const claim = await store.claimAnnouncement(ref, { token, leaseMs, afterEventId });
        if (claim.status === 'announced') return false;
        if (claim.status === 'busy') {
          const lapsesInMs = claim.until.getTime() - Date.now();
          await new Promise((resolve) => setTimeout(resolve, clamp(lapsesInMs, 1, pollMs)));
          continue;
        }
        try {
          const search = claim.retry
            ? await searchLog(broker, channel, claim.afterEventId, ref, leaseMs / 2)
            : 'absent';
          if (search === 'absent') await broker.publish(channel, event);
        } catch (error) {
          // If this fails too, the lease ends the claim instead.
          await store
            .settleAnnouncement(ref, token, 'released')
            .catch((cause: unknown) => opts.onReleaseError?.(cause, ref));
          throw error;
        }
        await store.settleAnnouncement(ref, token, 'announced');
        return true;
      }
    },
  };
}

/** Announces events at most once each; see {@link createAnnouncer}. */
export type Announcer = ReturnType<typeof createAnnouncer>;

const clamp = (value: number, min: number, max: number) => Math.min(Math.max(value, min), max);

const isAnnouncement = (data: unknown, ref: AnnouncementRef) => {
  const event = data as ChatEvent;
  return event.type === ref.type && event.message.id === ref.messageId;
};

const brokerTimedOut = () =>
  new TRPCError({
    code: 'SERVICE_UNAVAILABLE',
    message: 'The message broker did not answer in time; try again',
  });

/**
 * Where the channel's log stands, as an id to resume after: its newest event, or, for a log
 * with none, where a subscription starts (the only id a broker gives out for an empty log).
 */
async function logPosition(
  broker: Broker,
  channel: string,
  timeoutMs: number,
): Promise<{ id: string; empty: boolean }> {
  const head = await broker.headEventId(channel);
  if (head !== null) return { id: head, empty: false };
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), timeoutMs);
  try {
    for await (const item of broker.subscribe(channel, { signal: stop.signal })) {
      return { id: item.id, empty: item.type === 'cursor' };
    }
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
  throw brokerTimedOut();
}

/**
 * Looks for `ref`'s event among the channel's logged events after `afterEventId`, up to the
 * head. `unknown` when that stretch is no longer all retained; throws `SERVICE_UNAVAILABLE`
 * when the broker does not answer within `timeoutMs`.
 */
async function searchLog(
  broker: Broker,
  channel: string,
  afterEventId: string,
  ref: AnnouncementRef,
  timeoutMs: number,
): Promise<LogSearch> {
  // A publish that timed out may still be queued at the broker. Redis runs each connection's
  // commands in order and reads every waiting connection before answering the first read, so
  // by the second read anything sent before the first has run.
  await broker.headEventId(channel);
  const now = await logPosition(broker, channel, timeoutMs);
  if (now.id === afterEventId) return 'absent';
  // Empty now, but not as it was: the log expired or was lost (a broker restart).
  if (now.empty) return 'unknown';
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), timeoutMs);
  try {
    for await (const item of broker.subscribe(channel, {
      lastEventId: afterEventId,
      signal: stop.signal,
    })) {
      // Events after `afterEventId` were trimmed (retention) or lost: they can't be searched.
      if (item.type === 'gap') return 'unknown';
      if (item.type !== 'event') continue;
      if (isAnnouncement(item.data, ref)) return 'found';
      if (item.id === now.id) return 'absent';
    }
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
  throw brokerTimedOut();
}
