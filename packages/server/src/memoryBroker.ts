import { type AsyncQueue, createAsyncQueue } from './asyncQueue';
import type { Broker, BrokerItem, BrokerStats, BrokerSubscribeOptions } from './broker';
import type { DuplexChannelStats } from './inspection';

/** Options of {@link createMemoryBroker}. */
export interface MemoryBrokerOptions {
  /**
   * Events kept per channel for resume; older ones are reported as a gap.
   * @default 1000
   */
  maxEventsPerChannel?: number;
  /**
   * How long events are kept for resume, in milliseconds.
   * @default 3_600_000 (one hour)
   */
  maxAgeMs?: number;
  /**
   * Events a subscriber may have waiting before it is skipped ahead with a gap, so that one
   * stalled reader never grows memory without bound.
   * @default 10_000
   */
  maxQueuedEvents?: number;
  /**
   * The clock, for tests.
   * @default Date.now
   */
  now?: () => number;
}

/** Defaults of {@link MemoryBrokerOptions}. */
export const memoryBrokerDefaults = {
  maxEventsPerChannel: 1000,
  maxAgeMs: 3_600_000,
  maxQueuedEvents: 10_000,
  now: Date.now,
} satisfies Required<MemoryBrokerOptions>;

interface StoredEvent {
  seq: number;
  at: number;
  data: unknown;
  /** Its id, made once for every subscriber (they then share one string). */
  id?: string;
}

interface Channel {
  /** Retained events, oldest first. */
  events: StoredEvent[];
  headSeq: number;
  listeners: Set<Subscriber>;
  /** Events published to it (ephemeral ones included), for `stats()`. */
  published: number;
}

/** The most channels `stats()` lists (the most subscribed). */
const maxListedChannels = 100;

/** How a broker names its events. */
interface EventIds {
  /** A stored event's id, made once and shared. */
  of(event: StoredEvent): string;
  /** The id of a sequence number. */
  at(seq: number): string;
}

/**
 * One subscription's end of a channel. A class rather than closures: an idle subscription
 * (the common case: thousands per process) costs its fields only.
 */
class Subscriber {
  constructor(
    readonly queue: AsyncQueue<BrokerItem<unknown>>,
    public lastSeq: number,
    private readonly ids: EventIds,
    private readonly maxQueuedEvents: number,
  ) {}

  deliver(event: StoredEvent, ephemeralId?: string): void {
    this.lastSeq = event.seq;
    this.queue.push({ type: 'event', id: ephemeralId ?? this.ids.of(event), data: event.data });
  }

  /** A live event; `ephemeralId` is set for events that were never logged. */
  receive(event: StoredEvent, ephemeralId?: string): void {
    const { queue } = this;
    if (ephemeralId !== undefined) {
      if (queue.size < this.maxQueuedEvents) this.deliver(event, ephemeralId);
      return;
    }
    if (queue.size >= this.maxQueuedEvents) {
      queue.clear();
      queue.push({
        type: 'gap',
        id: this.ids.of(event),
        requestedEventId: this.ids.at(this.lastSeq),
      });
      this.lastSeq = event.seq;
      return;
    }
    this.deliver(event);
  }
}

/**
 * An in-process {@link Broker}: one process, a per-channel log with retention by count and age.
 * Event ids are `<epoch>:<seq>`, where the epoch is random per broker, so a client that resumes
 * with an id from another broker (say, before a process restart) gets a gap instead of a wrong
 * replay.
 * @example
 * ```ts
 * const broker = createMemoryBroker({ maxEventsPerChannel: 500 });
 * const id = await broker.publish('room:1', { text: 'hi' });
 * ```
 */
export function createMemoryBroker(opts: MemoryBrokerOptions = {}): Broker {
  const o = { ...memoryBrokerDefaults, ...opts };
  const epoch = Math.random().toString(36).slice(2, 10);
  const channels = new Map<string, Channel>();
  const closers = new Set<() => void>();
  const toId = (seq: number) => `${epoch}:${seq}`;
  const idOf = (event: StoredEvent) => {
    event.id ??= toId(event.seq);
    return event.id;
  };
  const ids: EventIds = { of: idOf, at: toId };
  let ephemeralCount = 0;
  let closed = false;

  const channelOf = (name: string): Channel => {
    let channel = channels.get(name);
    if (!channel) {
      channel = { events: [], headSeq: 0, listeners: new Set(), published: 0 };
      channels.set(name, channel);
    }
    return channel;
  };

  const trim = (channel: Channel) => {
    const oldest = o.now() - o.maxAgeMs;
    let drop = Math.max(0, channel.events.length - o.maxEventsPerChannel);
    while (drop < channel.events.length && (channel.events[drop]?.at ?? 0) < oldest) drop++;
    if (drop > 0) channel.events.splice(0, drop);
  };

  const sweepTimer = setInterval(
    () => {
      for (const [name, channel] of channels) {
        trim(channel);
        if (channel.events.length === 0 && channel.listeners.size === 0) channels.delete(name);
      }
    },
    Math.min(o.maxAgeMs, 60_000),
  );
  sweepTimer.unref?.();

  /** The seq to replay after, or `null` when `lastEventId` can't be resumed from (a gap). */
  const resumeSeq = (channel: Channel, lastEventId: string): number | null => {
    const [idEpoch, seqText] = lastEventId.split('~')[0]!.split(':');
    const seq = Number(seqText);
    if (idEpoch !== epoch || !Number.isSafeInteger(seq) || seq < 0 || seq > channel.headSeq) {
      return null;
    }
    const firstRetained = channel.events[0]?.seq ?? channel.headSeq + 1;
    return seq + 1 >= firstRetained ? seq : null;
  };

  return {
    async publish(name, data, publishOpts = {}) {
      const channel = channelOf(name);
      channel.published++;
      if (publishOpts.ephemeral) {
        const id = `${toId(channel.headSeq)}~${++ephemeralCount}`;
        const event = { seq: channel.headSeq, at: o.now(), data };
        for (const subscriber of channel.listeners) subscriber.receive(event, id);
        return id;
      }
      const event = { seq: ++channel.headSeq, at: o.now(), data };
      channel.events.push(event);
      trim(channel);
      for (const subscriber of channel.listeners) subscriber.receive(event);
      return idOf(event);
    },

    subscribe<TData>(name: string, subOpts: BrokerSubscribeOptions = {}) {
      const channel = channelOf(name);
      trim(channel);
      const queue: AsyncQueue<BrokerItem<TData>> = createAsyncQueue<BrokerItem<TData>>(() => {
        channel.listeners.delete(subscriber);
        closers.delete(queue.end);
        subOpts.signal?.removeEventListener('abort', queue.end);
      });
      const subscriber = new Subscriber(
        queue as AsyncQueue<BrokerItem<unknown>>,
        channel.headSeq,
        ids,
        o.maxQueuedEvents,
      );

      const { lastEventId } = subOpts;
      if (lastEventId == null) {
        queue.push({ type: 'cursor', id: toId(channel.headSeq) });
      } else {
        const after = resumeSeq(channel, lastEventId);
        if (after === null) {
          // Everything still retained is newer than what the subscriber had: replay it all.
          const firstRetained = channel.events[0]?.seq ?? channel.headSeq + 1;
          queue.push({ type: 'gap', id: toId(firstRetained - 1), requestedEventId: lastEventId });
          for (const event of channel.events) subscriber.deliver(event);
        } else {
          for (const event of channel.events) if (event.seq > after) subscriber.deliver(event);
        }
      }
      // Registered in the same tick as the replay above, so no publish falls between them.
      channel.listeners.add(subscriber);
      closers.add(queue.end);
      if (subOpts.signal?.aborted) queue.end();
      subOpts.signal?.addEventListener('abort', queue.end, { once: true });
      return queue;
    },

    async headEventId(name) {
      const seq = channels.get(name)?.headSeq ?? 0;
      return seq === 0 ? null : toId(seq);
    },

    stats(): BrokerStats {
      const listed: DuplexChannelStats[] = [];
      for (const [name, channel] of channels) {
        if (channel.listeners.size === 0) continue;
        listed.push({
          channel: name,
          subscribers: channel.listeners.size,
          published: channel.published,
          retained: channel.events.length,
          lastEventId: channel.headSeq === 0 ? null : toId(channel.headSeq),
        });
      }
      listed.sort((a, b) => b.subscribers - a.subscribers);
      return {
        kind: 'memory',
        state: closed ? 'closed' : 'ready',
        outages: 0,
        publishBuckets: null,
        channels: listed.slice(0, maxListedChannels),
      };
    },

    async close() {
      closed = true;
      clearInterval(sweepTimer);
      for (const close of [...closers]) close();
      channels.clear();
    },
  };
}
