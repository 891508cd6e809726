import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, BrokerItem } from './broker';
import { createMemoryBroker } from './memoryBroker';

const brokers: Broker[] = [];
const make = (opts: Parameters<typeof createMemoryBroker>[0] = {}) => {
  const broker = createMemoryBroker(opts);
  brokers.push(broker);
  return broker;
};
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

/** Reads `count` items from a subscription, then ends it. */
async function take<T>(iterable: AsyncIterable<BrokerItem<T>>, count: number) {
  const items: BrokerItem<T>[] = [];
  if (count === 0) return items;
  for await (const item of iterable) {
    items.push(item);
    if (items.length === count) break;
  }
  return items;
}

describe('createMemoryBroker', () => {
  it('delivers live events in publish order', async () => {
    const broker = make();
    const sub = broker.subscribe<number>('c');
    const ids = [await broker.publish('c', 1), await broker.publish('c', 2)];
    const items = await take(sub, 3);
    // A live stream starts with its cursor: the id it starts after (here, before the first event).
    expect(items).toEqual([
      { type: 'cursor', id: ids[0]?.replace(/:1$/, ':0') },
      { type: 'event', id: ids[0], data: 1 },
      { type: 'event', id: ids[1], data: 2 },
    ]);
  });

  it('replays the events after lastEventId, then goes live without loss or repeats', async () => {
    const broker = make();
    const first = await broker.publish('c', 1);
    await broker.publish('c', 2);
    await broker.publish('c', 3);
    const sub = broker.subscribe<number>('c', { lastEventId: first });
    await broker.publish('c', 4);
    const items = await take(sub, 3);
    expect(items.map((i) => (i.type === 'event' ? i.data : 'gap'))).toEqual([2, 3, 4]);
  });

  it('reports a gap when lastEventId is older than the retained events', async () => {
    const broker = make({ maxEventsPerChannel: 2 });
    const first = await broker.publish('c', 1);
    await broker.publish('c', 2);
    await broker.publish('c', 3);
    const head = await broker.publish('c', 4);
    const sub = broker.subscribe<number>('c', { lastEventId: first });
    const late = await broker.publish('c', 5);
    const items = await take(sub, 4);
    // Events 3 and 4 are retained (2 per channel): the gap is before 3, then 3, 4, then live.
    expect(items.map((i) => (i.type === 'event' ? i.data : i))).toEqual([
      { type: 'gap', id: head.replace(/:4$/, ':2'), requestedEventId: first },
      3,
      4,
      5,
    ]);
    expect(items[3]?.id).toBe(late);
  });

  it('reports a gap when events aged out', async () => {
    let now = 0;
    const broker = make({ maxAgeMs: 1_000, now: () => now });
    const first = await broker.publish('c', 1);
    await broker.publish('c', 2);
    now = 5_000;
    const head = await broker.publish('c', 3);
    const items = await take(broker.subscribe<number>('c', { lastEventId: first }), 2);
    expect(items).toEqual([
      { type: 'gap', id: head.replace(/:3$/, ':2'), requestedEventId: first },
      { type: 'event', id: head, data: 3 },
    ]);
  });

  it('reports a gap for an id from another broker, then replays all it holds', async () => {
    const broker = make();
    await broker.publish('c', 1);
    await broker.publish('c', 2);
    const items = await take(broker.subscribe<number>('c', { lastEventId: 'elsewhere:7' }), 3);
    expect(items.map((i) => (i.type === 'event' ? i.data : i.type))).toEqual(['gap', 1, 2]);
    // Resuming from the gap id replays the same retained events, without another gap.
    const again = await take(broker.subscribe<number>('c', { lastEventId: items[0]?.id ?? '' }), 2);
    expect(again.map((i) => (i.type === 'event' ? i.data : i.type))).toEqual([1, 2]);
  });

  it('resumes from the newest id with nothing to replay', async () => {
    const broker = make();
    const head = await broker.publish('c', 1);
    const sub = broker.subscribe<number>('c', { lastEventId: head });
    await broker.publish('c', 2);
    expect(await take(sub, 1)).toMatchObject([{ type: 'event', data: 2 }]);
  });

  it('skips a stalled subscriber ahead with a gap instead of queueing without bound', async () => {
    const broker = make({ maxQueuedEvents: 10 });
    const sub = broker.subscribe<number>('c');
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) ids.push(await broker.publish('c', i));
    // The cursor and events 0–8 filled the queue; it overflowed at events 9 and 19, each time
    // dropped for one gap.
    const items = await take(sub, 6);
    expect(items).toEqual([
      { type: 'gap', id: ids[19], requestedEventId: ids[18] },
      ...[20, 21, 22, 23, 24].map((n) => ({ type: 'event', id: ids[n], data: n })),
    ]);
  });

  it('ends a subscription when its signal aborts', async () => {
    const broker = make();
    const abort = new AbortController();
    const sub = broker.subscribe<number>('c', { signal: abort.signal });
    const iterator = sub[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ type: 'cursor' });
    const pending = iterator.next();
    abort.abort();
    expect(await pending).toEqual({ value: undefined, done: true });
  });

  it('delivers ephemeral events live only, never logged or replayed', async () => {
    const broker = make();
    const first = await broker.publish('c', 'durable 1');
    const live = broker.subscribe<string>('c');
    const typing = await broker.publish('c', 'typing', { ephemeral: true });
    expect(typing).toBe(`${first}~1`);
    expect(await broker.headEventId('c')).toBe(first);
    const second = await broker.publish('c', 'durable 2');
    expect(await take(live, 3)).toEqual([
      { type: 'cursor', id: first },
      { type: 'event', id: typing, data: 'typing' },
      { type: 'event', id: second, data: 'durable 2' },
    ]);
    // Resuming after the ephemeral id resumes after the durable event before it.
    expect(await take(broker.subscribe<string>('c', { lastEventId: typing }), 1)).toEqual([
      { type: 'event', id: second, data: 'durable 2' },
    ]);
    expect(await take(broker.subscribe<string>('c', { lastEventId: null }), 0)).toEqual([]);
  });

  it('keeps channels apart', async () => {
    const broker = make();
    const a = broker.subscribe<string>('a');
    await broker.publish('b', 'not mine');
    await broker.publish('a', 'mine');
    expect(await take(a, 2)).toMatchObject([{ type: 'cursor' }, { data: 'mine' }]);
    expect(await broker.headEventId('nothing')).toBeNull();
  });
});
