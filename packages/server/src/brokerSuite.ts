import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, BrokerItem } from './broker';

/** Retention settings a suite case asks its broker for; each maps to the broker's own option. */
export interface BrokerSuiteOptions {
  maxEventsPerChannel?: number;
  maxAgeMs?: number;
  maxQueuedEvents?: number;
  /** The clock retention by age is measured with. */
  now?: () => number;
}

/** Reads `count` items from a subscription, then ends it. */
export async function takeItems<T>(iterable: AsyncIterable<BrokerItem<T>>, count: number) {
  const items: BrokerItem<T>[] = [];
  if (count === 0) return items;
  for await (const item of iterable) {
    items.push(item);
    if (items.length === count) break;
  }
  return items;
}

/**
 * Opens a live subscription and waits for its cursor, so that what the test publishes next is
 * known to reach it (a remote broker registers a subscription asynchronously).
 */
async function subscribeLive<T>(broker: Broker, channel: string) {
  const iterator = broker.subscribe<T>(channel)[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done || first.value.type !== 'cursor') throw new Error('expected a cursor first');
  const rest: AsyncIterable<BrokerItem<T>> = { [Symbol.asyncIterator]: () => iterator };
  return { cursor: first.value.id, items: rest };
}

const dataOf = <T>(items: BrokerItem<T>[]) =>
  items.map((item) => (item.type === 'event' ? item.data : item.type));

/**
 * The contract of {@link Broker}, as one vitest suite that every implementation runs: the
 * in-memory broker and `@duplex/redis` pass the same cases. `create` gets the retention a case
 * needs; every broker it returns is closed after the case.
 * @example
 * ```ts
 * brokerSuite('createMemoryBroker', (opts) => createMemoryBroker(opts));
 * ```
 */
export function brokerSuite(
  name: string,
  create: (opts: BrokerSuiteOptions) => Broker | Promise<Broker>,
): void {
  describe(`${name} (broker contract)`, () => {
    const brokers: Broker[] = [];
    const make = async (opts: BrokerSuiteOptions = {}) => {
      const broker = await create(opts);
      brokers.push(broker);
      return broker;
    };
    afterEach(async () => {
      await Promise.all(brokers.splice(0).map((b) => b.close()));
    });

    it('starts a live stream at a cursor and delivers events in publish order', async () => {
      const broker = await make();
      const { cursor, items } = await subscribeLive<number>(broker, 'c');
      const ids = [await broker.publish('c', 1), await broker.publish('c', 2)];
      expect(await takeItems(items, 2)).toEqual([
        { type: 'event', id: ids[0], data: 1 },
        { type: 'event', id: ids[1], data: 2 },
      ]);
      expect(new Set([cursor, ...ids]).size).toBe(3);
      // A subscriber that saw only the cursor resumes from it without loss.
      const resumed = await takeItems(broker.subscribe<number>('c', { lastEventId: cursor }), 2);
      expect(dataOf(resumed)).toEqual([1, 2]);
    });

    it('replays the events after lastEventId, then goes live without loss or repeats', async () => {
      const broker = await make();
      const first = await broker.publish('c', 1);
      await broker.publish('c', 2);
      await broker.publish('c', 3);
      const sub = broker.subscribe<number>('c', { lastEventId: first });
      await broker.publish('c', 4);
      expect(dataOf(await takeItems(sub, 3))).toEqual([2, 3, 4]);
    });

    it('loses and repeats nothing when publishes race a resuming subscribe', async () => {
      const broker = await make();
      const first = await broker.publish('c', 0);
      const publishing = (async () => {
        for (let n = 1; n <= 60; n++) await broker.publish('c', n);
      })();
      const sub = broker.subscribe<number>('c', { lastEventId: first });
      const items = await takeItems(sub, 60);
      await publishing;
      expect(dataOf(items)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    });

    it('reports a gap when lastEventId is older than the retained events', async () => {
      const broker = await make({ maxEventsPerChannel: 2 });
      const ids = [
        await broker.publish('c', 1),
        await broker.publish('c', 2),
        await broker.publish('c', 3),
        await broker.publish('c', 4),
      ];
      const iterator = broker
        .subscribe<number>('c', { lastEventId: ids[0] })
        [Symbol.asyncIterator]();
      const replayed = [await iterator.next(), await iterator.next(), await iterator.next()];
      // Events 3 and 4 are retained (2 per channel): the gap ends at 2, then 3, 4, then live.
      expect(replayed.map((r) => (r.value?.type === 'event' ? r.value.data : r.value))).toEqual([
        { type: 'gap', id: ids[1], requestedEventId: ids[0] },
        3,
        4,
      ]);
      const late = await broker.publish('c', 5);
      expect((await iterator.next()).value).toEqual({ type: 'event', id: late, data: 5 });
      await iterator.return?.();
    });

    it('reports a gap when events aged out', async () => {
      // Offset from the real clock, so a broker whose ids carry wall time ages them too.
      let now = Date.now();
      const broker = await make({ maxAgeMs: 1_000, now: () => now });
      const first = await broker.publish('c', 1);
      const second = await broker.publish('c', 2);
      now += 5_000;
      const head = await broker.publish('c', 3);
      expect(await takeItems(broker.subscribe<number>('c', { lastEventId: first }), 2)).toEqual([
        { type: 'gap', id: second, requestedEventId: first },
        { type: 'event', id: head, data: 3 },
      ]);
    });

    it('reports a gap for an id from another broker, then replays all it holds', async () => {
      const broker = await make();
      await broker.publish('c', 1);
      await broker.publish('c', 2);
      const items = await takeItems(
        broker.subscribe<number>('c', { lastEventId: 'elsewhere:7' }),
        3,
      );
      expect(dataOf(items)).toEqual(['gap', 1, 2]);
      expect(items[0]).toMatchObject({ requestedEventId: 'elsewhere:7' });
      // Resuming from the gap id replays the same retained events, without another gap.
      const again = await takeItems(
        broker.subscribe<number>('c', { lastEventId: items[0]?.id ?? '' }),
        2,
      );
      expect(dataOf(again)).toEqual([1, 2]);
    });

    it('resumes from the newest id with nothing to replay', async () => {
      const broker = await make();
      const head = await broker.publish('c', 1);
      const sub = broker.subscribe<number>('c', { lastEventId: head });
      await broker.publish('c', 2);
      expect(await takeItems(sub, 1)).toMatchObject([{ type: 'event', data: 2 }]);
    });

    it('skips a stalled subscriber ahead with a gap instead of queueing without bound', async () => {
      const broker = await make({ maxQueuedEvents: 10 });
      const stalled = await subscribeLive<number>(broker, 'c');
      // A reader that keeps up shows when every event has been handed to the stalled one too.
      const reader = takeItems((await subscribeLive<number>(broker, 'c')).items, 25);
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) ids.push(await broker.publish('c', i));
      expect(dataOf(await reader)).toHaveLength(25);
      // Events 0–9 filled the queue; it overflowed at events 10 and 20, each time dropped for
      // one gap.
      const items = await takeItems(stalled.items, 5);
      expect(items[0]).toMatchObject({ type: 'gap', id: ids[20] });
      expect(items.slice(1)).toEqual(
        [21, 22, 23, 24].map((n) => ({ type: 'event', id: ids[n], data: n })),
      );
    });

    it('delivers each event once to every subscriber of a channel', async () => {
      const broker = await make();
      const subs = await Promise.all(
        Array.from({ length: 5 }, () => subscribeLive<number>(broker, 'c')),
      );
      for (let n = 0; n < 10; n++) await broker.publish('c', n);
      const got = await Promise.all(subs.map((s) => takeItems(s.items, 10)));
      for (const items of got) expect(dataOf(items)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('ends a subscription when its signal aborts', async () => {
      const broker = await make();
      const abort = new AbortController();
      const sub = broker.subscribe<number>('c', { signal: abort.signal });
      const iterator = sub[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toMatchObject({ type: 'cursor' });
      const pending = iterator.next();
      abort.abort();
      expect(await pending).toEqual({ value: undefined, done: true });
    });

    it('delivers ephemeral events live only, never logged or replayed', async () => {
      const broker = await make();
      const first = await broker.publish('c', 'durable 1');
      const live = await subscribeLive<string>(broker, 'c');
      expect(live.cursor).toBe(first);
      const typing = await broker.publish('c', 'typing', { ephemeral: true });
      expect(typing.startsWith(`${first}~`)).toBe(true);
      expect(await broker.headEventId('c')).toBe(first);
      const second = await broker.publish('c', 'durable 2');
      expect(await takeItems(live.items, 2)).toEqual([
        { type: 'event', id: typing, data: 'typing' },
        { type: 'event', id: second, data: 'durable 2' },
      ]);
      // Resuming after the ephemeral id resumes after the durable event before it.
      expect(await takeItems(broker.subscribe<string>('c', { lastEventId: typing }), 1)).toEqual([
        { type: 'event', id: second, data: 'durable 2' },
      ]);
    });

    it('delivers what is published once the subscription is ready', async () => {
      const broker = await make();
      const first = await broker.publish('c', 0);
      const live = broker.subscribe<number>('c');
      const resumed = broker.subscribe<number>('c', { lastEventId: first });
      await Promise.all([live.ready, resumed.ready]);
      await broker.publish('c', 1, { ephemeral: true });
      await broker.publish('c', 2);
      expect(dataOf(await takeItems(live, 3))).toEqual(['cursor', 1, 2]);
      // Live-only events are not ordered against a replay still in progress, only delivered.
      expect(dataOf(await takeItems(resumed, 2)).sort()).toEqual([1, 2]);
    });

    it('keeps channels apart', async () => {
      const broker = await make();
      const a = await subscribeLive<string>(broker, 'a');
      await broker.publish('b', 'not mine');
      await broker.publish('a', 'mine');
      expect(await takeItems(a.items, 1)).toMatchObject([{ data: 'mine' }]);
      expect(await broker.headEventId('nothing')).toBeNull();
    });
  });
}
