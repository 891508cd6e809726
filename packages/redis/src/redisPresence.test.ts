import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { presenceSuite } from '@duplex/server/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisPresence, type RedisPresence } from './redisPresence';
import { redisAvailable, startTestRedis, type TestRedis } from './testing';

const quiet = { onConnectionChange: () => {} };
const ann = { id: 'ann', name: 'Ann' };
const bob = { id: 'bob', name: 'Bob' };

describe.runIf(redisAvailable('the Redis presence suite'))('createRedisPresence', () => {
  let redis: TestRedis;
  let prefixes = 0;
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis?.[Symbol.asyncDispose]();
  });

  presenceSuite(
    'createRedisPresence',
    () => createRedisPresence({ url: redis.url, keyPrefix: `suite${++prefixes}:`, ...quiet }),
    (presence) => presence.close(),
  );

  // Spawns a node process and restarts redis-server: more than the default 5 s when loaded.
  describe('across nodes', { timeout: 20_000 }, () => {
    const nodes: RedisPresence[] = [];
    const node = async (keyPrefix: string, nodeTtlMs?: number) => {
      const presence = await createRedisPresence({
        url: redis.url,
        keyPrefix,
        ...(nodeTtlMs ? { nodeTtlMs } : {}),
        ...quiet,
      });
      nodes.push(presence);
      return presence;
    };
    afterEach(async () => {
      await Promise.all(nodes.splice(0).map((n) => n.close()));
    });

    it('counts a member once across nodes until their last connection anywhere leaves', async () => {
      const [a, b] = [await node('p1:'), await node('p1:')];
      const onA = await a.join('room', ann, 'c1');
      const onB = await b.join('room', ann, 'c1');
      await b.join('room', bob, 'c2');
      expect([onA.first, onB.first]).toEqual([true, false]);
      expect(await a.members('room')).toEqual([ann, bob]);
      expect(await b.members('room')).toEqual([ann, bob]);
      expect(await onA.leave()).toEqual({ last: false });
      expect(await onB.leave()).toEqual({ last: true });
      expect(await a.members('room')).toEqual([bob]);
    });

    it("drops a node's members when it closes", async () => {
      const [a, b] = [await node('p2:'), await node('p2:')];
      await a.join('room', ann, 'c1');
      await b.join('room', bob, 'c1');
      await a.close();
      expect(await b.members('room')).toEqual([bob]);
    });

    it("drops a crashed node's members once its heartbeat expires", async () => {
      const b = await node('p3:', 600);
      await b.join('room', bob, 'b1');
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--conditions=@duplex/source',
          fileURLToPath(new URL('./fixtures/presenceNode.ts', import.meta.url)),
        ],
        {
          env: {
            ...process.env,
            REDIS_URL: redis.url,
            KEY_PREFIX: 'p3:',
            NODE_TTL_MS: '600',
            JOIN: JSON.stringify([
              ['room', 'ann', 'a1'],
              ['room', 'bob', 'a2'],
            ]),
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (chunk: Buffer) => {
            if (chunk.toString().includes('joined')) resolve();
          });
          child.once('exit', (code) => reject(new Error(`presence node exited with ${code}`)));
        });
        expect(await b.members('room')).toEqual([bob, ann]);
        const died = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await died;
        // Ann was only on the crashed node; Bob is still here on this one.
        await vi.waitFor(async () => expect(await b.members('room')).toEqual([bob]), {
          timeout: 3_000,
          interval: 100,
        });
      } finally {
        child.kill('SIGKILL');
      }
    });

    it('keeps joins made while Redis was away and writes them when it returns', async () => {
      await using own = await startTestRedis({ appendOnly: false });
      const a = await createRedisPresence({ url: own.url, nodeTtlMs: 300, ...quiet });
      try {
        await a.join('room', ann, 'c1');
        await own.stop('SIGKILL');
        const offline = await a.join('room', bob, 'c2');
        expect(offline.first).toBe(true);
        await expect(a.members('room')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
        await own.start();
        // Redis came back empty: the heartbeat notices and writes this node's members again.
        await vi.waitFor(async () => expect(await a.members('room')).toEqual([ann, bob]), {
          timeout: 3_000,
          interval: 50,
        });
      } finally {
        await a.close();
      }
    });
  });
});
