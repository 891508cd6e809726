import { createDuplexClient, type ResumeStore } from '@duplex/client';
import { describe, expect, it, vi } from 'vitest';
import { replayingRouter, startTestServer, testClient } from './fixtures';
import { deferred, sleep } from './helpers';

/** The options that keep a client on HTTP and server-sent events, never opening a socket. */
const overHttp = (port: number) => ({
  url: `ws://127.0.0.1:${port}/trpc`,
  httpUrl: `http://127.0.0.1:${port}/trpc`,
  transport: 'http' as const,
});

describe('subscriptions over server-sent events', () => {
  it('delivers each event once when a resumed stream replays events before its cursor', async () => {
    const router = replayingRouter();
    await using server = await startTestServer({ router });
    await using client = createDuplexClient<typeof router>({
      ...overHttp(server.port),
      token: 'user:alice',
      reconnect: { delayMs: () => 10 },
    });
    const seen: number[] = [];
    let starts = 0;
    client.numbers.subscribe(
      {},
      { onData: ({ data }) => seen.push(data.n), onStarted: () => starts++ },
    );
    await vi.waitFor(() => expect(seen).toEqual([1, 2, 3]));
    await server.restart();
    // The event source reconnects after event 3; the server sends 2 to 6.
    await vi.waitFor(() => expect(starts).toBe(2), { timeout: 10_000 });
    await vi.waitFor(() => expect(seen).toEqual([1, 2, 3, 4, 5, 6]));
    await sleep(50);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
    expect(client.$transport.get()).toBe('http');
    expect(server.server.connections).toBe(0);
  });

  it('keeps the start marker from the app and saves every cursor, the marker first', async () => {
    await using server = await startTestServer();
    const saved: string[] = [];
    const resumeStore: ResumeStore = { get: () => null, set: (_key, id) => void saved.push(id) };
    await using client = testClient(server.wsUrl, { ...overHttp(server.port), resumeStore });
    const before = await server.broker.publish('marker', { n: 0 });
    const data: unknown[] = [];
    const ids: string[] = [];
    const started = deferred();
    client.onEvent.subscribe(
      { channel: 'marker' },
      {
        onData: (event) => {
          data.push(event.data);
          ids.push(event.id);
        },
        onStarted: () => started.resolve(),
      },
    );
    await started.promise;
    // The stream starts at the channel's head: the marker carries the id of event 0.
    await vi.waitFor(() => expect(saved).toEqual([before]));
    const published = [
      await server.broker.publish('marker', { n: 1 }),
      await server.broker.publish('marker', { n: 2 }),
    ];
    await vi.waitFor(() => expect(data).toEqual([{ n: 1 }, { n: 2 }]));
    expect(ids).toEqual(published);
    expect(saved).toEqual([before, ...published]);
  });
});
