import { randomBytes } from 'node:crypto';
import {
  type Broker,
  type BrokerItem,
  type BrokerStats,
  type BrokerSubscribeOptions,
  backgroundError,
  type DuplexChannelStats,
  procedureBucketsSeconds,
} from '@duplex/server';
import { createAsyncQueue } from '@duplex/server/internal';
import type Redis from 'ioredis';
import superjson from 'superjson';
import { BrokerUnavailableError } from './brokerUnavailableError';
import { createFeedHub, type FeedItem } from './feedHub';
import {
  closeRedisConnection,
  openRedisConnections,
  type RedisConnectionOptions,
  redisConnectionDefaults,
} from './redisConnection';
import { type BrokerScripts, defineBrokerScripts, type StreamEntry } from './redisScripts';
import { baseId, compareIds, isStreamId } from './streamIds';

/** Options of {@link createRedisBroker}. */
export interface RedisBrokerOptions extends RedisConnectionOptions {
  /**
   * Prefixes every Redis key and pub/sub channel, so several apps can share one Redis.
   * @default 'duplex:'
   */
  keyPrefix?: string;
  /**
   * Events kept per channel for resume (exact trimming); older ones are reported as a gap.
   * A positive integer, or `Infinity` for no limit by count.
   * @default 1000
   */
  maxEventsPerChannel?: number;
  /**
   * How long events are kept for resume, in milliseconds (trimmed on each publish). Positive,
   * or `Infinity` for no limit by age.
   * @default 3_600_000 (one hour)
   */
  maxAgeMs?: number;
  /**
   * A channel's log is deleted this long after its last publish, so idle channels don't hold
   * Redis memory; resuming after that reports a gap. At least `maxAgeMs`: with `maxAgeMs:
   * Infinity` (or `channelTtlMs: Infinity`) logs never expire.
   * @default 86_400_000 (one day)
   */
  channelTtlMs?: number;
  /**
   * Events a subscriber may have waiting before it is skipped ahead with a gap, so that one
   * stalled reader never grows memory without bound.
   * @default 10_000
   */
  maxQueuedEvents?: number;
  /**
   * The clock retention by age is measured with.
   * @default Date.now
   */
  now?: () => number;
}

/** Defaults of {@link RedisBrokerOptions}. */
export const redisBrokerDefaults = {
  keyPrefix: 'duplex:',
  maxEventsPerChannel: 1000,
  maxAgeMs: 3_600_000,
  channelTtlMs: 86_400_000,
  maxQueuedEvents: 10_000,
  now: Date.now,
};

/** A {@link Broker} on Redis, with what a node may want to observe. */
export interface RedisBroker extends Broker {
  /** Channels this node follows (one Redis subscription each, however many local subscribers). */
  readonly followedChannels: number;
}

/** Entries read per round trip when replaying. */
const pageSize = 500;
const replayRetryMs = 250;

/**
 * A {@link Broker} shared by every node on one Redis. Each channel's resume log is a Redis
 * Stream (entry ids are the event ids); live fan-out is one pub/sub subscription per channel
 * per node, shared by all its local subscribers, on one subscriber connection. Publishes fail
 * with {@link BrokerUnavailableError} while Redis is away; subscribers stay open and resume
 * from the log when it returns. Resolves once connected.
 * @example
 * ```ts
 * const broker = await createRedisBroker({ url: process.env.REDIS_URL });
 * const server = createDuplexServer({ router, authenticate, broker });
 * ```
 */
export async function createRedisBroker(opts: RedisBrokerOptions = {}): Promise<RedisBroker> {
  const o = { ...redisBrokerDefaults, ...opts };
  const retention = retentionOf(o);
  /** Outages since the broker started (one per loss of Redis, however many connections). */
  let outages = 0;
  const reportChange = opts.onConnectionChange ?? redisConnectionDefaults.onConnectionChange;
  const [connection, subscriber] = (await openRedisConnections(
    {
      ...opts,
      onConnectionChange: (change) => {
        if (change.state === 'lost') outages++;
        reportChange(change);
      },
    },
    ['broker', 'broker-subscriber'],
  )) as [Redis, Redis];
  /** Publish round trips in `procedureBucketsSeconds`' buckets, the last one +Inf. */
  const publishBuckets = new Array<number>(procedureBucketsSeconds.length + 1).fill(0);
  /** Publishes through this node, for the channels it follows (forgotten when it stops following). */
  const publishedTo = new Map<string, number>();
  const timePublish = (channel: string, startedAt: number) => {
    const seconds = (performance.now() - startedAt) / 1000;
    let index = 0;
    while (index < procedureBucketsSeconds.length && seconds > procedureBucketsSeconds[index]!) {
      index++;
    }
    publishBuckets[index]!++;
    if (hub.has(channel)) publishedTo.set(channel, (publishedTo.get(channel) ?? 0) + 1);
  };
  const commands = defineBrokerScripts(connection);
  const streamKey = (channel: string) => `${o.keyPrefix}log:${channel}`;
  const liveChannel = (channel: string) => `${o.keyPrefix}live:${channel}`;
  const onError = o.onError ?? redisConnectionDefaults.onError;
  const hub = createFeedHub({ commands, subscriber, streamKey, liveChannel, pageSize, onError });
  const nodeId = randomBytes(4).toString('hex');
  const closers = new Set<() => void>();
  let ephemeralCount = 0;
  let closed = false;

  const replay = (
    stream: string,
    after: string,
    push: (item: BrokerItem<unknown>) => void,
    requested: string,
    signal: AbortSignal,
  ) => readLog(commands, stream, after, push, requested, signal);

  return {
    async publish(channel, data, publishOpts = {}) {
      if (closed) throw new Error('The broker is closed');
      const payload = superjson.stringify(data);
      const startedAt = performance.now();
      try {
        let id: string;
        if (publishOpts.ephemeral) {
          const suffix = `${nodeId}.${++ephemeralCount}`;
          id = await commands.duplexEphemeral(
            streamKey(channel),
            payload,
            suffix,
            liveChannel(channel),
          );
        } else {
          const oldest =
            retention.maxAgeMs === null ? 0 : Math.max(0, Math.floor(o.now() - retention.maxAgeMs));
          id = await commands.duplexAppend(
            streamKey(channel),
            payload,
            retention.maxLen,
            oldest,
            retention.ttlMs,
            liveChannel(channel),
          );
        }
        timePublish(channel, startedAt);
        return id;
      } catch (error) {
        // A command that timed out may still have run: say so rather than claim it didn't.
        const timedOut = error instanceof Error && /timed out/i.test(error.message);
        throw new BrokerUnavailableError(
          timedOut
            ? `Redis did not answer in time, so the event for "${channel}" may not have been published`
            : `the event for "${channel}" was not published`,
          error,
        );
      }
    },

    subscribe<TData>(channel: string, subOpts: BrokerSubscribeOptions = {}) {
      if (closed) {
        const ended = createAsyncQueue<BrokerItem<TData>>(() => {});
        ended.end();
        return Object.assign(ended, { ready: Promise.resolve() });
      }
      const stop = new AbortController();
      const feed = hub.acquire(channel);
      let markReady: () => void = () => {};
      const ready = new Promise<void>((resolve) => {
        markReady = resolve;
      });
      const queue = createAsyncQueue<BrokerItem<TData>>(() => {
        stop.abort();
        markReady();
        feed.listeners.delete(listener);
        hub.release(feed);
        if (!hub.has(channel)) publishedTo.delete(channel);
        closers.delete(queue.end);
        subOpts.signal?.removeEventListener('abort', queue.end);
      });
      /** The newest logged id this subscriber has been handed (or skipped past with a gap). */
      let last = '0-0';
      let replaying: FeedItem[] | null = null;

      const take = (item: FeedItem) => {
        if (item.type === 'gap') {
          queue.push({ type: 'gap', id: item.id, requestedEventId: last });
          last = item.id;
          return;
        }
        if (item.ephemeral) {
          if (queue.size < o.maxQueuedEvents)
            queue.push({ type: 'event', id: item.id, data: item.data as TData });
          return;
        }
        if (compareIds(item.id, last) <= 0) return;
        if (queue.size >= o.maxQueuedEvents) {
          queue.clear();
          queue.push({ type: 'gap', id: item.id, requestedEventId: last });
        } else {
          queue.push({ type: 'event', id: item.id, data: item.data as TData });
        }
        last = item.id;
      };
      const listener = (item: FeedItem) => {
        if (replaying) replaying.push(item);
        else take(item);
      };

      const start = async () => {
        await hub.ready(feed, stop.signal);
        if (stop.signal.aborted || feed.cursor === null) return;
        feed.listeners.add(listener);
        const { lastEventId } = subOpts;
        if (lastEventId == null) {
          last = feed.cursor;
          queue.push({ type: 'cursor', id: last });
          markReady();
          return;
        }
        // Live items wait while the log is replayed; the seam is closed by id, so an event
        // both replayed and received live is handed on once.
        replaying = [];
        markReady();
        last = await replay(
          feed.stream,
          baseId(lastEventId),
          (item) => queue.push(item as BrokerItem<TData>),
          lastEventId,
          stop.signal,
        );
        const buffered = replaying;
        replaying = null;
        for (const item of buffered) {
          if (item.type === 'gap' && compareIds(item.id, last) <= 0) continue;
          take(item);
        }
      };
      closers.add(queue.end);
      if (subOpts.signal?.aborted) queue.end();
      subOpts.signal?.addEventListener('abort', queue.end, { once: true });
      // The replay outlasts outages by itself: a failure here is a bug, and the subscriber's
      // stream ends (it resubscribes with its last event id) rather than hang.
      start().catch((error: unknown) => {
        onError(backgroundError('redis.subscribe', error, { input: { channel } }));
        queue.end();
      });
      return Object.assign(queue, { ready });
    },

    async headEventId(channel) {
      try {
        const head = await commands.duplexHead(streamKey(channel));
        return head === '0-0' ? null : head;
      } catch (error) {
        throw new BrokerUnavailableError(`could not read the head of "${channel}"`, error);
      }
    },

    get followedChannels() {
      return hub.size;
    },

    stats(): BrokerStats {
      const channels: DuplexChannelStats[] = [];
      for (const feed of hub.feeds()) {
        channels.push({
          channel: feed.channel,
          subscribers: feed.listeners.size,
          published: publishedTo.get(feed.channel) ?? 0,
          // Counting a Stream's entries is a round trip; the inspector's snapshot makes none.
          retained: null,
          lastEventId: feed.cursor,
        });
      }
      channels.sort((a, b) => b.subscribers - a.subscribers);
      const up = connection.status === 'ready' && subscriber.status === 'ready';
      return {
        kind: 'redis',
        state: closed ? 'closed' : up ? 'ready' : 'reconnecting',
        outages,
        publishBuckets: [...publishBuckets],
        channels: channels.slice(0, 100),
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const close of [...closers]) close();
      hub.close();
      await Promise.all([closeRedisConnection(commands), closeRedisConnection(subscriber)]);
    },
  };
}

/**
 * The retention options as the append script takes them, checked when the broker is created:
 * a bad value would otherwise fail every publish as if Redis were away.
 */
function retentionOf(
  o: Pick<typeof redisBrokerDefaults, 'maxEventsPerChannel' | 'maxAgeMs' | 'channelTtlMs'>,
) {
  const check = (option: string, value: number, integer: boolean) => {
    const infinite = value === Number.POSITIVE_INFINITY;
    if (infinite || (value > 0 && (!integer || Number.isInteger(value)))) return infinite;
    throw new RangeError(
      `createRedisBroker: ${option} must be a positive ${integer ? 'integer' : 'number'} or Infinity, got ${value}`,
    );
  };
  const countless = check('maxEventsPerChannel', o.maxEventsPerChannel, true);
  const ageless = check('maxAgeMs', o.maxAgeMs, false);
  const ttlless = check('channelTtlMs', o.channelTtlMs, false);
  return {
    /** 0: no limit by count. */
    maxLen: countless ? 0 : o.maxEventsPerChannel,
    /** `null`: no limit by age. */
    maxAgeMs: ageless ? null : o.maxAgeMs,
    /** 0: the log never expires. */
    ttlMs: ageless || ttlless ? 0 : Math.ceil(Math.max(o.channelTtlMs, o.maxAgeMs)),
  };
}

/**
 * Replays a channel's log after `after` into `push`, retrying while Redis is away. When `after`
 * can't be resumed from, reports one gap and replays all that is retained: the read that finds
 * the gap returns the entries after it, so trimming racing the resume can't add more gaps.
 * @returns the newest logged id pushed, or `after` when there was nothing newer
 */
async function readLog(
  commands: BrokerScripts,
  stream: string,
  after: string,
  push: (item: BrokerItem<unknown>) => void,
  requested: string,
  signal: AbortSignal,
): Promise<string> {
  // An id this log never issued (another broker's) starts with a gap, whatever the log holds.
  const foreign = !isStreamId(after);
  let cursor = foreign ? '0-0' : after;
  let first = true;
  for (;;) {
    if (signal.aborted) return cursor;
    let page: Awaited<ReturnType<BrokerScripts['duplexReadAfter']>>;
    try {
      page = await commands.duplexReadAfter(stream, cursor, pageSize);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, replayRetryMs));
      continue;
    }
    const [trimmed, resumable, entries] = page;
    // On a later page, a gap means publishes outran the replay itself and trimmed what it
    // had not read yet: a loss after delivered events, reported as such.
    if (!resumable || (first && foreign)) {
      push({ type: 'gap', id: trimmed, requestedEventId: first ? requested : cursor });
      cursor = trimmed;
    }
    first = false;
    for (const [id, fields] of entries as StreamEntry[]) {
      const at = fields.indexOf('d');
      push({ type: 'event', id, data: superjson.parse(fields[at + 1] ?? 'null') });
      cursor = id;
    }
    if (entries.length < pageSize) return cursor;
  }
}
