import { describe, expect, it, vi } from 'vitest';
import { createRedisBroker } from './redisBroker';
import type { RedisConnectionOptions } from './redisConnection';
import { createRedisPresence } from './redisPresence';
import { freePort, redisAvailable, startTestRedis } from './testing';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const quiet = { onConnectionChange: () => {} } satisfies RedisConnectionOptions;

/** The broker and presence open their connections the same way: both run every case. */
const clients = [
  ['createRedisBroker', createRedisBroker],
  ['createRedisPresence', createRedisPresence],
] as const;

// Starts, kills and restarts redis-server: more than the default 5 s on a loaded machine.
describe.runIf(redisAvailable('the Redis connection suite'))(
  'Redis connections',
  { timeout: 20_000 },
  () => {
    describe.each(clients)('%s', (_name, create) => {
      it('waits for a Redis that starts after it, within connectTimeoutMs', async () => {
        const port = await freePort();
        const pending = create({
          url: `redis://127.0.0.1:${port}`,
          connectTimeoutMs: 10_000,
          ...quiet,
        });
        let settled = false;
        pending.then(
          () => (settled = true),
          () => (settled = true),
        );
        // Its first attempts are refused; it must not give up on them.
        await sleep(500);
        expect(settled).toBe(false);
        await using own = await startTestRedis({ port, appendOnly: false });
        const client = await pending;
        await client.close();
        await own.stop();
      });

      it('fails after connectTimeoutMs with a clear error when Redis never comes', async () => {
        const url = `redis://127.0.0.1:${await freePort()}`;
        const started = performance.now();
        await expect(create({ url, connectTimeoutMs: 1_000, ...quiet })).rejects.toThrow(
          /^Duplex could not connect to Redis at redis:\/\/127\.0\.0\.1:\d+\/? \(connect ECONNREFUSED [^)]*\)\. Is redis-server running\?$/,
        );
        expect(performance.now() - started).toBeGreaterThanOrEqual(950);
      });

      it('reports each Redis outage once: lost, then restored', async () => {
        await using own = await startTestRedis({ appendOnly: false });
        const changes: string[] = [];
        const client = await create({
          url: own.url,
          onConnectionChange: ({ state }) => changes.push(state),
        });
        try {
          for (let outage = 1; outage <= 2; outage++) {
            await own.stop('SIGKILL');
            await vi.waitFor(() => expect(changes).toHaveLength(2 * outage - 1));
            // Every connection has seen Redis go by now: none reports it again.
            await sleep(300);
            await own.start();
            await vi.waitFor(() => expect(changes).toHaveLength(2 * outage), { timeout: 5_000 });
            await sleep(300);
            expect(changes).toEqual(
              Array.from({ length: outage }, () => ['lost', 'restored']).flat(),
            );
          }
        } finally {
          await client.close();
        }
      });
    });
  },
);
