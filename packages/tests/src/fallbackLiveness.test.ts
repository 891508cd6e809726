import type { DuplexStatus, ResumeStore } from '@duplex/client';
import { describe, expect, it, vi } from 'vitest';
import { startTestServer, testClient } from './fixtures';
import { collector, sleep } from './helpers';

/** A client kept on HTTP and server-sent events, probing the server every 100 ms. */
const overHttp = (port: number) => ({
  url: `ws://127.0.0.1:${port}/trpc`,
  httpUrl: `http://127.0.0.1:${port}/trpc`,
  transport: 'http' as const,
  keepAlive: { intervalMs: 100, pongTimeoutMs: 200 },
});

const openOverHttp: DuplexStatus = { state: 'open', transport: 'http' };

describe('the HTTP fallback checks that the server is alive', () => {
  it('leaves open while the server is down and returns once it is back, losing no event', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl, overHttp(server.port));
    await vi.waitFor(() => expect(client.$status.get()).toEqual(openOverHttp));
    const seen = collector<number>();
    client.onEvent.subscribe(
      { channel: 'liveness' },
      { onData: ({ data }) => seen.push((data as { n: number }).n) },
    );
    // Live once an event published now comes through.
    await vi.waitFor(async () => {
      await server.broker.publish('liveness', { n: -1 });
      expect(seen.items.length).toBeGreaterThan(0);
    });
    const sent = () => seen.items.filter((n) => n >= 0);
    for (let n = 0; n < 3; n++) await server.broker.publish('liveness', { n });
    await vi.waitFor(() => expect(sent()).toEqual([0, 1, 2]));

    for (const round of [0, 1]) {
      await server.stop();
      // Within a probe interval and a probe timeout, give or take a timer's lateness.
      await vi.waitFor(() => expect(client.$status.get().state).toBe('reconnecting'), {
        timeout: 1_000,
      });
      for (let n = 3 + round * 6; n < 6 + round * 6; n++) {
        await server.broker.publish('liveness', { n });
      }
      await sleep(150);
      expect(client.$status.get().state).toBe('reconnecting');
      await server.start();
      await vi.waitFor(() => expect(client.$status.get()).toEqual(openOverHttp), {
        timeout: 1_000,
      });
      for (let n = 6 + round * 6; n < 9 + round * 6; n++) {
        await server.broker.publish('liveness', { n });
      }
    }
    const all = Array.from({ length: 15 }, (_, n) => n);
    await vi.waitFor(() => expect(sent()).toEqual(all), { timeout: 10_000 });
    expect(client.$transport.get()).toBe('http');
  });

  it('is connecting, not open, until the server first answers', async () => {
    await using server = await startTestServer();
    await server.stop();
    await using client = testClient(server.wsUrl, overHttp(server.port));
    await sleep(300);
    expect(client.$status.get().state).not.toBe('open');
    await server.start();
    await vi.waitFor(() => expect(client.$status.get()).toEqual(openOverHttp), { timeout: 1_000 });
  });

  it('resumes without loss a stream that had received no event before the server stopped', async () => {
    await using server = await startTestServer();
    const saved: string[] = [];
    const resumeStore: ResumeStore = { get: () => null, set: (_key, id) => void saved.push(id) };
    await using client = testClient(server.wsUrl, { ...overHttp(server.port), resumeStore });
    const seen = collector<number>();
    client.onEvent.subscribe(
      { channel: 'quiet-http' },
      { onData: ({ data }) => seen.push((data as { n: number }).n) },
    );
    // The stream's cursor (asked for over SSE too) is all that arrived before the stop.
    await vi.waitFor(() => expect(saved).toHaveLength(1));
    await server.stop();
    for (let n = 0; n < 3; n++) await server.broker.publish('quiet-http', { n });
    await server.start();
    await vi.waitFor(() => expect(seen.items).toEqual([0, 1, 2]), { timeout: 10_000 });
    await vi.waitFor(() => expect(client.$status.get()).toEqual(openOverHttp));
  });
});
