import type { BrokerItem, DuplexErrorReport } from '@duplex/server';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisBroker } from './redisBroker';
import { redisAvailable, startTestRedis, type TestRedis } from './testing';

describe.runIf(redisAvailable('the Redis feed error suite'))('feed failures with Redis up', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis?.[Symbol.asyncDispose]();
  });

  it('reports a feed that cannot catch up to onError once, and keeps the broker serving', async () => {
    const reports: DuplexErrorReport<never>[] = [];
    const broker = await createRedisBroker({
      url: redis.url,
      keyPrefix: 'feed1:',
      onConnectionChange: () => {},
      onError: (report) => reports.push(report),
    });
    const raw = new Redis(redis.url);
    const stop = new AbortController();
    try {
      const items: BrokerItem<unknown>[] = [];
      const reading = (async () => {
        for await (const item of broker.subscribe('room', { signal: stop.signal })) {
          items.push(item);
        }
      })();
      await vi.waitFor(() => expect(items).toHaveLength(1));
      // An entry no Duplex node wrote (another app on the same prefix, a bad migration): the
      // next publish shows the feed missed it, and catching up fails to decode it.
      await raw.xadd('feed1:log:room', '*', 'd', '{not superjson');
      await broker.publish('room', { n: 1 });
      await vi.waitFor(() => expect(reports).toHaveLength(1));
      expect(reports[0]).toMatchObject({
        source: 'background',
        task: 'redis.feedSync',
        input: { channel: 'room' },
      });
      expect(reports[0]?.error).toBeInstanceOf(SyntaxError);
      // Retries do not report it again, and other channels carry on.
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(reports).toHaveLength(1);
      const other: BrokerItem<unknown>[] = [];
      const readingOther = (async () => {
        for await (const item of broker.subscribe('other', { signal: stop.signal })) {
          other.push(item);
        }
      })();
      await vi.waitFor(() => expect(other).toHaveLength(1));
      await broker.publish('other', { n: 2 });
      await vi.waitFor(() => expect(other.at(-1)).toMatchObject({ data: { n: 2 } }));
      stop.abort();
      await Promise.allSettled([reading, readingOther]);
    } finally {
      stop.abort();
      raw.disconnect();
      await broker.close();
    }
  });
});
