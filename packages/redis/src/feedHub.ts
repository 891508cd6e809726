import { backgroundError, type DuplexErrorHandler } from '@duplex/server';
import type Redis from 'ioredis';
import superjson from 'superjson';
import type { BrokerScripts, StreamEntry } from './redisScripts';
import { compareIds } from './streamIds';

/** What a feed hands its local subscribers, in channel order. */
export type FeedItem =
  | { type: 'event'; id: string; data: unknown; ephemeral: boolean }
  | { type: 'gap'; id: string };

/** One channel as this node follows it: a single live subscription shared by every local subscriber. */
export interface Feed {
  readonly channel: string;
  readonly stream: string;
  /** The last logged id handed to listeners (or the trimmed id after a gap); `null` until ready. */
  cursor: string | null;
  readonly listeners: Set<(item: FeedItem) => void>;
}

interface FeedState extends Feed {
  live: string;
  refs: number;
  syncing: boolean;
  needsSync: boolean;
  closed: boolean;
  /** Live messages that arrived while catching up, or that showed something was missed. */
  pending: LiveMessage[];
  waiters: Set<() => void>;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** A failure was reported since the feed last synced: retries do not report it again. */
  reported: boolean;
}

interface LiveMessage {
  ephemeral: boolean;
  id: string;
  /** The newest logged id before this event. */
  prev: string;
  payload: string;
}

/** Options of {@link createFeedHub}. */
export interface FeedHubOptions {
  commands: Redis & BrokerScripts;
  /** A connection in subscriber mode, used for nothing else. */
  subscriber: Redis;
  streamKey: (channel: string) => string;
  liveChannel: (channel: string) => string;
  /** Entries read per catch-up round trip. */
  pageSize: number;
  /** Where failures with Redis up go (an outage is `onConnectionChange`'s). */
  onError: DuplexErrorHandler<never>;
}

/** Live messages kept per feed while it can't catch up; the log has the durable ones anyway. */
const maxPending = 10_000;
const retryDelayMs = 250;

/**
 * Follows channels on behalf of one node: one Redis SUBSCRIBE per channel, reference-counted
 * across local subscribers. Every logged event carries the id before it, so a feed notices a
 * message it missed (a dropped subscriber connection, a Redis restart) and catches up from the
 * stream before handing on anything newer: listeners see each logged event once, in log order,
 * or a gap when the log no longer has what was missed.
 */
export function createFeedHub(opts: FeedHubOptions) {
  const { commands, subscriber } = opts;
  const feeds = new Map<string, FeedState>();
  const byLive = new Map<string, FeedState>();
  const isUp = () => commands.status === 'ready' && subscriber.status === 'ready';

  const dispatch = (feed: FeedState, item: FeedItem) => {
    for (const listener of feed.listeners) listener(item);
  };
  const dispatchEvent = (feed: FeedState, id: string, payload: string, ephemeral: boolean) => {
    if (feed.listeners.size === 0) return;
    dispatch(feed, { type: 'event', id, data: superjson.parse(payload), ephemeral });
  };

  /** Hands on a live message if nothing was missed before it; `false` means catch up first. */
  const accept = (feed: FeedState, msg: LiveMessage): boolean => {
    const cursor = feed.cursor as string;
    if (msg.ephemeral) {
      if (msg.prev !== cursor && compareIds(msg.prev, cursor) > 0) return false;
      dispatchEvent(feed, msg.id, msg.payload, true);
      return true;
    }
    if (compareIds(msg.id, cursor) <= 0) return true;
    if (msg.prev !== cursor) return false;
    feed.cursor = msg.id;
    dispatchEvent(feed, msg.id, msg.payload, false);
    return true;
  };

  const catchUp = async (feed: FeedState) => {
    let progressed = false;
    for (;;) {
      const [trimmed, resumable, entries] = await commands.duplexReadAfter(
        feed.stream,
        feed.cursor as string,
        opts.pageSize,
      );
      if (feed.closed) return progressed;
      // The entries then follow the trimmed id, read in the same step: one gap, however
      // busy trimming is.
      if (!resumable) {
        feed.cursor = trimmed;
        dispatch(feed, { type: 'gap', id: trimmed });
        progressed = true;
      }
      for (const [id, fields] of entries as StreamEntry[]) {
        if (compareIds(id, feed.cursor as string) <= 0) continue;
        feed.cursor = id;
        progressed = true;
        dispatchEvent(feed, id, payloadOf(fields), false);
      }
      if (entries.length < opts.pageSize) return progressed;
    }
  };

  const drainPending = (feed: FeedState, force: boolean) => {
    while (feed.pending.length > 0) {
      const msg = feed.pending[0]!;
      if (!accept(feed, msg)) {
        // The log had nothing newer than the cursor: what the message claims came before it
        // is gone (an expired key, a Redis that lost data), so it is taken as the new start.
        if (!force) return false;
        if (!msg.ephemeral) feed.cursor = msg.id;
        dispatchEvent(feed, msg.id, msg.payload, msg.ephemeral);
      }
      feed.pending.shift();
    }
    return true;
  };

  const sync = async (feed: FeedState): Promise<void> => {
    if (feed.syncing) {
      feed.needsSync = true;
      return;
    }
    clearTimeout(feed.retryTimer);
    feed.syncing = true;
    try {
      do {
        feed.needsSync = false;
        await subscriber.subscribe(feed.live);
        if (feed.closed) return;
        let progressed = true;
        if (feed.cursor === null) {
          feed.cursor = await commands.duplexHead(feed.stream);
          for (const wake of feed.waiters) wake();
          feed.waiters.clear();
        } else {
          progressed = await catchUp(feed);
        }
        if (feed.closed) return;
        if (!drainPending(feed, !progressed)) feed.needsSync = true;
      } while (feed.needsSync && !feed.closed);
      feed.reported = false;
    } catch (error) {
      // Redis is away (its outage is reported once, elsewhere), or something else failed: a
      // script, a listener. That one is a bug, reported once until the feed syncs again.
      if (isUp() && !feed.reported) {
        feed.reported = true;
        opts.onError(
          backgroundError('redis.feedSync', error, { input: { channel: feed.channel } }),
        );
      }
      // Try again shortly, and at once when the subscriber reconnects.
      feed.needsSync = true;
      if (!feed.closed) feed.retryTimer = setTimeout(() => void sync(feed), retryDelayMs);
    } finally {
      feed.syncing = false;
    }
  };

  subscriber.on('message', (live: string, raw: string) => {
    const feed = byLive.get(live);
    const msg = parseLive(raw);
    if (!feed || !msg) return;
    if (feed.syncing || feed.needsSync || feed.cursor === null) {
      if (feed.pending.length >= maxPending) feed.pending.length = 0;
      feed.pending.push(msg);
      return;
    }
    if (!accept(feed, msg)) {
      feed.pending.push(msg);
      void sync(feed);
    }
  });
  subscriber.on('close', () => {
    for (const feed of feeds.values()) feed.needsSync = true;
  });
  subscriber.on('ready', () => {
    for (const feed of feeds.values()) void sync(feed);
  });

  return {
    /** Starts following `channel` (or joins the node's existing feed). Pair with `release`. */
    acquire(channel: string): Feed {
      let feed = feeds.get(channel);
      if (!feed) {
        feed = {
          channel,
          stream: opts.streamKey(channel),
          live: opts.liveChannel(channel),
          cursor: null,
          listeners: new Set(),
          refs: 0,
          syncing: false,
          needsSync: false,
          closed: false,
          pending: [],
          waiters: new Set(),
          retryTimer: undefined,
          reported: false,
        };
        feeds.set(channel, feed);
        byLive.set(feed.live, feed);
        void sync(feed);
      }
      feed.refs++;
      return feed;
    },

    /** Resolves once the feed knows where it starts; waits for Redis if it is away. */
    ready(feed: Feed, signal?: AbortSignal): Promise<void> {
      const state = feed as FeedState;
      if (state.cursor !== null) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          state.waiters.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        state.waiters.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    },

    release(feed: Feed) {
      const state = feed as FeedState;
      if (--state.refs > 0 || state.closed) return;
      state.closed = true;
      clearTimeout(state.retryTimer);
      feeds.delete(state.channel);
      byLive.delete(state.live);
      for (const wake of state.waiters) wake();
      // Redis away: the subscriber's reconnect subscribes afresh, without it (ioredis drops
      // unsubscribed channels). Anything else would leave Redis sending this node a dead feed.
      subscriber.unsubscribe(state.live).catch((error: unknown) => {
        if (!isUp()) return;
        opts.onError(
          backgroundError('redis.unsubscribe', error, { input: { channel: state.channel } }),
        );
      });
    },

    /** Channels followed, for metrics and tests. */
    get size() {
      return feeds.size;
    },

    /** Whether this node follows `channel`. */
    has(channel: string): boolean {
      return feeds.has(channel);
    },

    /** The channels this node follows, for the broker's stats. */
    feeds(): IterableIterator<Feed> {
      return feeds.values();
    },

    close() {
      for (const feed of feeds.values()) {
        feed.closed = true;
        clearTimeout(feed.retryTimer);
        for (const wake of feed.waiters) wake();
      }
      feeds.clear();
      byLive.clear();
    },
  };
}

/** The hub's type. */
export type FeedHub = ReturnType<typeof createFeedHub>;

function payloadOf(fields: string[]): string {
  const at = fields.indexOf('d');
  return at === -1 ? 'null' : (fields[at + 1] ?? 'null');
}

function parseLive(raw: string): LiveMessage | null {
  const a = raw.indexOf('\n');
  const b = raw.indexOf('\n', a + 1);
  const c = raw.indexOf('\n', b + 1);
  if (a === -1 || b === -1 || c === -1) return null;
  return {
    ephemeral: raw.slice(0, a) === 'e',
    id: raw.slice(a + 1, b),
    prev: raw.slice(b + 1, c),
    payload: raw.slice(c + 1),
  };
}
