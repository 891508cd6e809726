import { createAsyncQueue } from './asyncQueue';
import type { Broker, BrokerItem, BrokerSubscribeOptions } from './broker';

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
}

interface Channel {
  /** Retained events, oldest first. */
  events: StoredEvent[];
  headSeq: number;
  /** `ephemeralId` is set for events that were never logged. */
  listeners: Set<(event: StoredEvent, ephemeralId?: string) => void>;
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
  let ephemeralCount = 0;

  const channelOf = (name: string): Channel => {
    let channel = channels.get(name);
    if (!channel) {
      channel = { events: [], headSeq: 0, listeners: new Set() };
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
      if (publishOpts.ephemeral) {
        const id = `${toId(channel.headSeq)}~${++ephemeralCount}`;
        for (const listener of channel.listeners)
          listener({ seq: channel.headSeq, at: o.now(), data }, id);
        return id;
      }
      const event = { seq: ++channel.headSeq, at: o.now(), data };
      channel.events.push(event);
      trim(channel);
      for (const listener of channel.listeners) listener(event);
      return toId(event.seq);
    },

    subscribe<TData>(name: string, subOpts: BrokerSubscribeOptions = {}) {
      const channel = channelOf(name);
      trim(channel);
      const queue = createAsyncQueue<BrokerItem<TData>>(() => {
        channel.listeners.delete(listener);
        closers.delete(queue.end);
        subOpts.signal?.removeEventListener('abort', queue.end);
      });
      let lastSeq = channel.headSeq;
      const deliver = (event: StoredEvent, ephemeralId?: string) => {
        lastSeq = event.seq;
        queue.push({
          type: 'event',
          id: ephemeralId ?? toId(event.seq),
          data: event.data as TData,
        });
      };
      const listener = (event: StoredEvent, ephemeralId?: string) => {
        if (ephemeralId !== undefined && queue.size >= o.maxQueuedEvents) return;
        if (ephemeralId !== undefined) return deliver(event, ephemeralId);
        if (queue.size >= o.maxQueuedEvents) {
          queue.clear();
          queue.push({
            type: 'gap',
            id: toId(event.seq),
            requestedEventId: toId(lastSeq),
          });
          lastSeq = event.seq;
          return;
        }
        deliver(event);
      };

      const { lastEventId } = subOpts;
      if (lastEventId == null) {
        queue.push({ type: 'cursor', id: toId(channel.headSeq) });
      } else {
        const after = resumeSeq(channel, lastEventId);
        if (after === null) {
          // Everything still retained is newer than what the subscriber had: replay it all.
          const firstRetained = channel.events[0]?.seq ?? channel.headSeq + 1;
          queue.push({ type: 'gap', id: toId(firstRetained - 1), requestedEventId: lastEventId });
          for (const event of channel.events) deliver(event);
        } else {
          for (const event of channel.events) if (event.seq > after) deliver(event);
        }
      }
      // Registered in the same tick as the replay above, so no publish falls between them.
      channel.listeners.add(listener);
      closers.add(queue.end);
      if (subOpts.signal?.aborted) queue.end();
      subOpts.signal?.addEventListener('abort', queue.end, { once: true });
      return queue;
    },

    async headEventId(name) {
      const seq = channels.get(name)?.headSeq ?? 0;
      return seq === 0 ? null : toId(seq);
    },

    async close() {
      clearInterval(sweepTimer);
      for (const close of [...closers]) close();
      channels.clear();
    },
  };
}
