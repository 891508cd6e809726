/**
 * Hostile clients from another process (issue 17, "Prove it"): the server runs in a child
 * process of its own (`fixtures/hostileServer.ts`) and each attack in another
 * (`fixtures/attacker.ts`), from loopback addresses other than the well-behaved client's. Each
 * case asserts that the server stays up, that its RSS stays under a stated bound during the
 * attack and comes back near its idle level after it (after a full GC: V8's heap and buffers
 * within 16 MiB, RSS within a wider margin as the allocator keeps some freed pages), that a
 * well-behaved `@duplex/client` keeps being answered throughout, and that the limit meant to
 * stop the attack was what stopped it.
 *
 * Each case names the limits that stop its attack. `HOSTILE_LIFT_LIMITS=1` runs the suite with
 * those limits set to `Infinity`: every case then fails (the commit that added this file says
 * how each one failed), so none of them passes whatever the server does.
 */
import type { ChatLimits } from '@duplex/chat';
import type { DuplexLimits } from '@duplex/server';
import { describe, expect, it } from 'vitest';
import {
  type Attack,
  attackSetups,
  goodClient,
  MiB,
  peakRssDuring,
  roundTripsUntil,
  runAttacker,
  startHostileServer,
} from './hostileHarness';

interface Case {
  attack: Attack;
  title: string;
  /** RSS above idle allowed at the attack's peak. */
  peakBoundBytes: number;
  /** The limits that stop the attack, lifted by `HOSTILE_LIFT_LIMITS=1`. */
  lift: { limits?: Partial<DuplexLimits>; chatLimits?: Partial<ChatLimits> };
  /** `/metrics` counters that must have moved: the limit did the work. */
  counters: string[];
  /** How long the attack runs. */
  attackMs: number;
  /** Most file descriptors the server may hold above idle during the attack. */
  peakFdsBound?: number;
  /** Extra checks on the server after the attack. */
  after?: (stored: number) => void;
}

/**
 * Once the attack is over and a GC has run: what the server holds (V8 heap and buffers) above
 * idle, and its RSS above idle, which is larger as the allocator keeps some freed pages
 * (measured here: up to 66 MiB after the HTTP attack with 1 MiB files read by 400 streams).
 */
const settleHeapBoundBytes = 16 * MiB;
/**
 * RSS after an attack is the allocator's to give back, not the server's: after the HTTP attack's
 * file streams glibc kept 66-100 MiB of freed pages for longer than the poll. That memory is
 * held, not growing, so RSS after must stay within the case's peak bound, while V8's heap and
 * buffers (what the server holds) must be back within 16 MiB of idle.
 */
const lifting = process.env.HOSTILE_LIFT_LIMITS === '1';

const cases: Case[] = [
  {
    attack: 'http',
    attackMs: 5_000,
    title: 'pipelining with unread responses, 1,100 idle sockets from one address, odd requests',
    // 180 MiB seen once with the whole suite running beside it; lifted limits reach 251-262.
    peakBoundBytes: 208 * MiB,
    lift: {
      limits: {
        maxPipelinedRequests: Number.POSITIVE_INFINITY,
        maxConnectionsPerIp: Number.POSITIVE_INFINITY,
      },
    },
    counters: ['duplex_closed_pipelining_total', 'duplex_refused_sockets_total'],
    // One per admitted socket (`maxConnectionsPerIp`, 1,024) and the file it is being sent;
    // a file opened per pipelined request reached 18,681.
    peakFdsBound: 2 * 1_024 + 64,
  },
  {
    attack: 'frames',
    attackMs: 5_000,
    title: '500 KB request ids, JSON 100,000 deep, 100,000-wide arrays and batches, flooded',
    peakBoundBytes: 128 * MiB,
    lift: {
      limits: {
        maxJsonDepth: Number.POSITIVE_INFINITY,
        maxRequestIdLength: Number.POSITIVE_INFINITY,
        bytesPerSecond: Number.POSITIVE_INFINITY,
        burstBytes: Number.POSITIVE_INFINITY,
        userBytesPerSecond: Number.POSITIVE_INFINITY,
        userBurstBytes: Number.POSITIVE_INFINITY,
      },
    },
    counters: ['duplex_refused_deep_frames_total', 'duplex_closed_rate_limited_total'],
  },
  {
    attack: 'budgets',
    attackMs: 8_000,
    title: '100 sockets as one user, 300 users from one address, reconnect floods',
    peakBoundBytes: 96 * MiB,
    lift: {
      limits: {
        maxConnectionsPerUser: Number.POSITIVE_INFINITY,
        maxConnectionsPerIp: Number.POSITIVE_INFINITY,
      },
    },
    counters: ['duplex_refused_user_connections_total', 'duplex_refused_sockets_total'],
  },
  {
    attack: 'slow',
    attackMs: 5_000,
    title: 'subscribers that never read while 32 KB events are published at 1,000 a second',
    peakBoundBytes: 128 * MiB,
    lift: { limits: { maxBufferedBytes: Number.POSITIVE_INFINITY } },
    counters: ['duplex_closed_slow_consumer_total'],
  },
  {
    attack: 'uploads',
    attackMs: 3_000,
    title: '5 MiB uploads back to back from 4 loops as one user, ignoring 429',
    peakBoundBytes: 128 * MiB,
    lift: {
      chatLimits: {
        uploadsPerMinute: Number.POSITIVE_INFINITY,
        uploadBurst: Number.POSITIVE_INFINITY,
        uploadBytesPerMinute: Number.POSITIVE_INFINITY,
        uploadBurstBytes: Number.POSITIVE_INFINITY,
      },
    },
    counters: [],
    // The default burst (25 MiB) plus 20 MiB a minute for the attack, and one upload in flight
    // per loop that was admitted before the bucket emptied.
    after: (stored) => expect(stored).toBeLessThanOrEqual(25 * MiB + 4 * 5 * MiB),
  },
];

describe('hostile clients in another process', { timeout: 30_000 }, () => {
  for (const c of cases) {
    it(`keeps serving and stays bounded in memory: ${c.attack} (${c.title})`, async () => {
      const { publish, ...setup } = attackSetups[c.attack];
      await using server = await startHostileServer({
        ...setup,
        limits: { ...setup.limits, ...(lifting ? c.lift.limits : {}) },
        ...(lifting && c.lift.chatLimits ? { chatLimits: c.lift.chatLimits } : {}),
      });
      await using client = goodClient(server);
      expect(await client.ping.query()).toBe('pong');
      const { rss: idle, heap: idleHeap, fds: idleFds } = await server.memory(true);
      server.resetPeak();
      if (publish) server.publish(...publish);

      const attacker = runAttacker(c.attack, server.port, c.attackMs);
      const [answers, peak, seen] = await Promise.all([
        roundTripsUntil(client, attacker),
        peakRssDuring(server, attacker),
        attacker,
      ]);
      if (publish) server.stopPublish();
      const report = { idleMiB: idle / MiB, peakMiB: peak / MiB, answers: answers.length, seen };
      console.log(`hostile ${c.attack}: ${JSON.stringify(report)}`);

      expect(server.alive).toBe(true);
      expect(answers.length).toBeGreaterThan(0);
      expect(peak - idle).toBeLessThan(c.peakBoundBytes);
      if (c.peakFdsBound !== undefined) {
        expect((await server.memory()).peakFds - idleFds).toBeLessThan(c.peakFdsBound);
      }
      for (const counter of c.counters) expect(await server.metric(counter)).toBeGreaterThan(0);
      await expect
        .poll(
          async () => {
            const { rss, heap } = await server.memory(true);
            return {
              heap: heap - idleHeap < settleHeapBoundBytes,
              rss: rss - idle < c.peakBoundBytes,
            };
          },
          { timeout: 10_000, interval: 500 },
        )
        .toEqual({ heap: true, rss: true });
      expect(await client.ping.query()).toBe('pong');
      c.after?.((await server.memory()).storedBytes);
    });
  }
});
