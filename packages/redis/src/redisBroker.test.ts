import type { Broker, BrokerItem } from '@duplex/server';
import { brokerSuite } from '@duplex/server/testing';
import Redis from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BrokerUnavailableError } from './brokerUnavailableError';
import { createRedisBroker, type RedisBrokerOptions } from './redisBroker';
import { freePort, redisAvailable, startTestRedis, type TestRedis } from './testing';

/** Pulls items off a subscription as they come, for a test to wait on. */
function reader<T>(iterable: AsyncIterable<BrokerItem<T>>) {
  const items: BrokerItem<T>[] = [];
  const iterator = iterable[Symbol.asyncIterator]();
  void (async () => {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      items.push(next.value);
    }
  })();
  return {
    items,
    data: () => items.filter((i) => i.type === 'event').map((i) => i.data),
    types: () => items.map((i) => (i.type === 'event' ? i.data : i.type)),
    stop: () => iterator.return?.(),
  };
}

const quiet = { onConnectionChange: () => {} } satisfies RedisBrokerOptions;

describe.runIf(redisAvailable('the Redis broker suite'))('createRedisBroker', () => {
  let redis: TestRedis;
  let prefixes = 0;
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis?.[Symbol.asyncDispose]();
  });

  brokerSuite('createRedisBroker', (opts) =>
    createRedisBroker({ url: redis.url, keyPrefix: `suite${++prefixes}:`, ...quiet, ...opts }),
  );

  describe('across nodes', () => {
    const brokers: Broker[] = [];
    const node = async (keyPrefix: string, url = redis.url) => {
      const broker = await createRedisBroker({ url, keyPrefix, ...quiet });
      brokers.push(broker);
      return broker;
    };
    afterEach(async () => {
      await Promise.all(brokers.splice(0).map((b) => b.close()));
    });

    it('delivers a publish on one node to subscribers on another, and resumes anywhere', async () => {
      const [a, b] = [await node('x1:'), await node('x1:')];
      const onB = reader(b.subscribe<number>('room'));
      await vi.waitFor(() => expect(onB.items).toHaveLength(1));
      const ids = [await a.publish('room', 1), await a.publish('room', 2)];
      await b.publish('room', 3);
      await vi.waitFor(() => expect(onB.data()).toEqual([1, 2, 3]));
      expect(onB.items.slice(1, 3).map((i) => i.id)).toEqual(ids);
      const resumedOnA = reader(a.subscribe<number>('room', { lastEventId: ids[0] }));
      await vi.waitFor(() => expect(resumedOnA.data()).toEqual([2, 3]));
      onB.stop();
      resumedOnA.stop();
    });

    it('follows a channel with one Redis subscription per node, whatever its subscribers', async () => {
      const [a, b] = [
        (await node('x2:')) as Awaited<ReturnType<typeof createRedisBroker>>,
        (await node('x2:')) as Awaited<ReturnType<typeof createRedisBroker>>,
      ];
      const subs = [a, b].flatMap((broker) =>
        Array.from({ length: 50 }, () => reader(broker.subscribe<number>('busy'))),
      );
      await vi.waitFor(() => expect(subs.every((s) => s.items.length === 1)).toBe(true));
      const admin = new Redis(redis.url);
      try {
        expect(await admin.pubsub('NUMSUB', 'x2:live:busy')).toEqual(['x2:live:busy', 2]);
        const clients = (await admin.client('LIST')) as string;
        // Two nodes, two connections each: commands and live messages.
        expect(clients.match(/name=duplex:broker-subscriber /g)).toHaveLength(2);
        expect(clients.match(/name=duplex:broker /g)).toHaveLength(2);
        expect([a.followedChannels, b.followedChannels]).toEqual([1, 1]);
        await a.publish('busy', 7);
        await vi.waitFor(() => expect(subs.every((s) => s.data()[0] === 7)).toBe(true));
        await Promise.all(subs.map((s) => s.stop()));
        expect([a.followedChannels, b.followedChannels]).toEqual([0, 0]);
        await vi.waitFor(async () =>
          expect(await admin.pubsub('NUMSUB', 'x2:live:busy')).toEqual(['x2:live:busy', 0]),
        );
      } finally {
        admin.disconnect();
      }
    });

    it('keeps dates and nested values intact', async () => {
      const [a, b] = [await node('x3:'), await node('x3:')];
      const onB = reader(b.subscribe<{ at: Date; tags: Set<string> }>('c'));
      await vi.waitFor(() => expect(onB.items).toHaveLength(1));
      const at = new Date('2025-01-02T03:04:05.678Z');
      await a.publish('c', { at, tags: new Set(['x']) });
      await vi.waitFor(() => expect(onB.data()).toEqual([{ at, tags: new Set(['x']) }]));
      onB.stop();
    });

    it('fails at startup with a clear error when Redis is unreachable', async () => {
      const url = `redis://127.0.0.1:${await freePort()}`;
      await expect(createRedisBroker({ url, connectTimeoutMs: 1_000, ...quiet })).rejects.toThrow(
        /could not connect to Redis at redis:\/\/127\.0\.0\.1:\d+.*Is redis-server running\?/,
      );
    });
  });

  describe('retention', () => {
    const brokers: Broker[] = [];
    const node = async (keyPrefix: string, opts: RedisBrokerOptions = {}) => {
      const broker = await createRedisBroker({ url: redis.url, keyPrefix, ...quiet, ...opts });
      brokers.push(broker);
      return broker;
    };
    afterEach(async () => {
      await Promise.all(brokers.splice(0).map((b) => b.close()));
    });

    it('keeps events without an age limit or expiry when maxAgeMs is Infinity', async () => {
      let clock = Date.now();
      const broker = await node('r1:', { maxAgeMs: Number.POSITIVE_INFINITY, now: () => clock });
      const first = await broker.publish('room', 1);
      clock += 10 * 365 * 86_400_000;
      await broker.publish('room', 2);
      const replay = reader(broker.subscribe<number>('room', { lastEventId: first }));
      await vi.waitFor(() => expect(replay.types()).toEqual([2]));
      replay.stop();
      const admin = new Redis(redis.url);
      try {
        expect(await admin.xlen('r1:log:room')).toBe(2);
        // channelTtlMs is at least maxAgeMs: a log kept forever by age never expires.
        expect(await admin.pttl('r1:log:room')).toBe(-1);
      } finally {
        admin.disconnect();
      }
    });

    it('refuses a retention option that is not a positive number when created', async () => {
      const url = redis.url;
      for (const [option, value] of [
        ['maxAgeMs', -1],
        ['maxAgeMs', Number.NaN],
        ['channelTtlMs', 0],
        ['maxEventsPerChannel', 0],
        ['maxEventsPerChannel', 1.5],
      ] as const) {
        await expect(createRedisBroker({ url, [option]: value, ...quiet })).rejects.toThrow(
          new RegExp(`${option} must be a positive`),
        );
      }
    });

    it('reports one gap to a resume that races trimming', async () => {
      const [pub, sub] = [await node('r2:', { maxEventsPerChannel: 3 }), await node('r2:')];
      const first = await pub.publish('room', 0);
      let next = 1;
      for (; next < 6; next++) await pub.publish('room', next);
      // Every publish trims one event while twenty subscribers resume from a trimmed id.
      let publishing = true;
      const publishers = Promise.all(
        Array.from({ length: 4 }, async () => {
          while (publishing) await pub.publish('room', next++);
        }),
      );
      const resumes = Array.from({ length: 20 }, () =>
        reader(sub.subscribe<number>('room', { lastEventId: first })),
      );
      try {
        await vi.waitFor(() => expect(resumes.every((r) => r.data().length >= 20)).toBe(true), {
          timeout: 10_000,
        });
      } finally {
        publishing = false;
        await publishers;
      }
      for (const resume of resumes) {
        expect(resume.items.filter((i) => i.type === 'gap')).toHaveLength(1);
        expect(resume.items[0]).toMatchObject({ type: 'gap', requestedEventId: first });
        // After the gap nothing is skipped: the events follow on one from the next.
        const data = resume.data();
        expect(data).toEqual(data.map((_, i) => data[0]! + i));
        resume.stop();
      }
    });

    it("costs Redis the same per publish whatever the length of the channel's log", async () => {
      await using own = await startTestRedis({ appendOnly: false });
      const admin = new Redis(own.url);
      const broker = await createRedisBroker({
        url: own.url,
        keyPrefix: 'r3:',
        maxEventsPerChannel: 100_000,
        ...quiet,
      });
      try {
        const payload = JSON.stringify({ json: 0 });
        for (let done = 0; done < 50_000; done += 10_000) {
          const batch = admin.pipeline();
          for (let i = 0; i < 10_000; i++) batch.xadd('r3:log:long', '*', 'd', payload);
          await batch.exec();
        }
        await broker.publish('short', 0);
        /** Median Redis time of a publish, from the slow log (every command, with its µs). */
        const medianUsec = async (channel: string) => {
          await admin.config('SET', 'slowlog-log-slower-than', '0', 'slowlog-max-len', '1000');
          await admin.slowlog('RESET');
          for (let i = 0; i < 100; i++) await broker.publish(channel, i);
          const log = (await admin.slowlog('GET', 1000)) as [number, number, number, string[]][];
          const usec = log
            .filter(([, , , args]) => args[0]?.toLowerCase() === 'evalsha')
            .map(([, , took]) => took)
            .sort((a, b) => a - b);
          expect(usec).toHaveLength(100);
          return usec[50]!;
        };
        const short = await medianUsec('short');
        const long = await medianUsec('long');
        // Walking 50k entries took milliseconds; a constant publish takes tens of µs at both.
        expect(long).toBeLessThan(5 * short + 100);
      } finally {
        await broker.close();
        admin.disconnect();
      }
    });
  });

  // Restarts redis-server: more than the unit project's default 5 s on a loaded machine.
  describe('when Redis goes away', { timeout: 20_000 }, () => {
    it('fails publishes clearly, keeps subscribers, and resumes them when it returns', async () => {
      await using own = await startTestRedis({ appendOnly: true });
      const a = await createRedisBroker({ url: own.url, keyPrefix: 'f1:', ...quiet });
      try {
        const sub = reader(a.subscribe<number>('room'));
        await vi.waitFor(() => expect(sub.items).toHaveLength(1));
        const first = await a.publish('room', 1);
        await vi.waitFor(() => expect(sub.data()).toEqual([1]));

        await own.stop('SIGKILL');
        const failed = a.publish('room', 99);
        await expect(failed).rejects.toBeInstanceOf(BrokerUnavailableError);
        await expect(failed).rejects.toMatchObject({
          code: 'SERVICE_UNAVAILABLE',
          message: expect.stringMatching(/broker is unavailable.*not published/),
        });
        // Subscribing while Redis is away waits for it instead of failing.
        const late = reader(a.subscribe<number>('room', { lastEventId: first }));

        await own.start();
        // Another node publishes the moment Redis is back, likely before this node has
        // resubscribed: it must still reach the subscriber, from the log.
        const b = await createRedisBroker({ url: own.url, keyPrefix: 'f1:', ...quiet });
        try {
          await b.publish('room', 2);
          await vi.waitFor(() => a.publish('room', 3), { timeout: 5_000, interval: 50 });
          await vi.waitFor(() => expect(sub.data()).toEqual([1, 2, 3]), { timeout: 5_000 });
          await vi.waitFor(() => expect(late.data()).toEqual([2, 3]), { timeout: 5_000 });
          expect(sub.types()).toEqual(['cursor', 1, 2, 3]);
          // Nothing stored was lost: the log still starts at the first event.
          const replay = reader(b.subscribe<number>('room', { lastEventId: '0-0' }));
          await vi.waitFor(() => expect(replay.data()).toEqual([1, 2, 3]));
          replay.stop();
        } finally {
          await b.close();
        }
        sub.stop();
        late.stop();
      } finally {
        await a.close();
      }
    });

    it('reports its state, outages, publish latency and followed channels in stats()', async () => {
      await using own = await startTestRedis({ appendOnly: false });
      const a = await createRedisBroker({ url: own.url, keyPrefix: 's1:', ...quiet });
      try {
        const subs = [reader(a.subscribe<number>('room')), reader(a.subscribe<number>('room'))];
        const lone = reader(a.subscribe<number>('lone'));
        await vi.waitFor(() =>
          expect([...subs, lone].every((s) => s.items.length === 1)).toBe(true),
        );
        await a.publish('room', 1);
        const second = await a.publish('room', 2);
        await a.publish('elsewhere', 3);
        const before = a.stats?.();
        expect(before).toMatchObject({ kind: 'redis', state: 'ready', outages: 0 });
        expect(before?.publishBuckets?.reduce((n, count) => n + count, 0)).toBe(3);
        expect(before?.channels).toEqual([
          {
            channel: 'room',
            subscribers: 2,
            published: 2,
            retained: null,
            lastEventId: expect.any(String),
          },
          {
            channel: 'lone',
            subscribers: 1,
            published: 0,
            retained: null,
            lastEventId: expect.any(String),
          },
        ]);
        // The feed's cursor: the newest event this node has handed its subscribers.
        await vi.waitFor(() => expect(a.stats?.().channels[0]?.lastEventId).toBe(second));
        await own.stop('SIGKILL');
        await vi.waitFor(() =>
          expect(a.stats?.()).toMatchObject({ state: 'reconnecting', outages: 1 }),
        );
        await own.start();
        await vi.waitFor(() => expect(a.stats?.()).toMatchObject({ state: 'ready', outages: 1 }), {
          timeout: 5_000,
        });
        for (const sub of [...subs, lone]) sub.stop();
      } finally {
        await a.close();
      }
      expect(a.stats?.().state).toBe('closed');
    });

    it('reports a gap to live subscribers when Redis returns without its data', async () => {
      await using own = await startTestRedis({ appendOnly: false });
      const a = await createRedisBroker({ url: own.url, keyPrefix: 'f2:', ...quiet });
      try {
        const sub = reader(a.subscribe<number>('room'));
        await vi.waitFor(() => expect(sub.items).toHaveLength(1));
        await a.publish('room', 1);
        await vi.waitFor(() => expect(sub.data()).toEqual([1]));
        await own.stop('SIGKILL');
        await own.start();
        await vi.waitFor(() => a.publish('room', 2), { timeout: 5_000, interval: 50 });
        await vi.waitFor(() => expect(sub.types()).toEqual(['cursor', 1, 'gap', 2]), {
          timeout: 5_000,
        });
        sub.stop();
      } finally {
        await a.close();
      }
    });
  });
});
