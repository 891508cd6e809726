import { describe, expect, it } from 'vitest';
import { brokerSuite } from './brokerSuite';
import { createMemoryBroker } from './memoryBroker';

brokerSuite('createMemoryBroker', (opts) => createMemoryBroker(opts));

describe('createMemoryBroker stats', () => {
  it('lists channels with subscribers, most subscribed first, with published, retained and last id', async () => {
    const broker = createMemoryBroker({ maxEventsPerChannel: 2 });
    const stop = new AbortController();
    const subscribe = (channel: string) => {
      const iterator = broker.subscribe(channel, { signal: stop.signal })[Symbol.asyncIterator]();
      void iterator.next();
    };
    subscribe('quiet');
    subscribe('busy');
    subscribe('busy');
    for (let n = 0; n < 3; n++) await broker.publish('busy', { n });
    const last = await broker.publish('busy', { typing: true }, { ephemeral: true });
    await broker.publish('nobody', { n: 0 });
    const stats = broker.stats?.();
    expect(stats).toEqual({
      kind: 'memory',
      state: 'ready',
      outages: 0,
      publishBuckets: null,
      channels: [
        {
          channel: 'busy',
          subscribers: 2,
          published: 4,
          retained: 2,
          lastEventId: expect.any(String),
        },
        { channel: 'quiet', subscribers: 1, published: 0, retained: 0, lastEventId: null },
      ],
    });
    expect(last.startsWith(`${stats?.channels[0]?.lastEventId}~`)).toBe(true);
    stop.abort();
    await broker.close();
    expect(broker.stats?.()).toMatchObject({ state: 'closed', channels: [] });
  });
});
