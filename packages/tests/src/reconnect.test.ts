import type { DuplexStatus } from '@duplex/client';
import {
  createDuplexClient,
  createManualOnlineManager,
  idempotent,
  memoryResumeStore,
} from '@duplex/client';
import { describe, expect, it, vi } from 'vitest';
import { replayingRouter, startTestServer, testClient } from './fixtures';
import { collector, deferred, sleep } from './helpers';

type Event = { id: string; data: unknown };

/** Subscribes and resolves once the server confirmed the subscription. */
async function subscribe(client: ReturnType<typeof testClient>, channel: string, extra = {}) {
  const seen = collector<Event>();
  const started = deferred();
  const errors: unknown[] = [];
  const subscription = client.onEvent.subscribe(
    { channel, ...extra },
    { onData: seen.push, onStarted: () => started.resolve(), onError: (e) => errors.push(e) },
  );
  await started.promise;
  return { seen, subscription, errors };
}

const numbers = (events: Event[]) => events.map((e) => (e.data as { n: number }).n);

describe('reconnect and resume', () => {
  it('delivers every event exactly once, in order, across a server restart on the same port', async () => {
    await using server = await startTestServer();
    const clients = [testClient(server.wsUrl), testClient(server.wsUrl), testClient(server.wsUrl)];
    const subs = await Promise.all(clients.map((c) => subscribe(c, 'room')));
    const total = 300;
    let published = 0;
    const publishing = (async () => {
      while (published < total) {
        await server.broker.publish('room', { n: published++ });
        await sleep(1);
      }
    })();
    await vi.waitFor(() => expect(published).toBeGreaterThan(100), { timeout: 5_000 });
    const downAt = performance.now();
    await server.restart();
    const back = await Promise.all(
      clients.map(
        (c) =>
          new Promise<number>((resolve) => {
            const check = () =>
              c.$status.get().state === 'open' && resolve(performance.now() - downAt);
            check();
            c.$status.subscribe(check);
          }),
      ),
    );
    await publishing;
    for (const { seen } of subs) {
      await vi.waitFor(() => expect(seen.items.length).toBe(total), { timeout: 10_000 });
    }
    const expected = Array.from({ length: total }, (_, n) => n);
    for (const { seen, errors } of subs) {
      expect(numbers(seen.items)).toEqual(expected);
      expect(new Set(seen.items.map((e) => e.id)).size).toBe(total);
      expect(errors).toEqual([]);
    }
    console.info(
      `[measure] restart: ${total} events, 3 clients, back open after ${back.map((ms) => `${ms.toFixed(0)} ms`).join(', ')}; lost 0, duplicated 0`,
    );
    await Promise.all(clients.map((c) => c.$close()));
  });

  it('resumes without loss a subscription that had received no event before the drop', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    const { seen, errors } = await subscribe(client, 'quiet');
    await server.stop();
    for (let n = 0; n < 3; n++) await server.broker.publish('quiet', { n });
    await server.start();
    await vi.waitFor(() => expect(numbers(seen.items)).toEqual([0, 1, 2]));
    // The cursor the stream started with never reaches the app.
    expect(seen.items.every((e) => typeof (e.data as { n?: number }).n === 'number')).toBe(true);
    expect(errors).toEqual([]);
  });

  it('re-sends a query that was in flight when the connection dropped', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    await client.whoami.query();
    const pending = client.slow.query({ ms: 300 });
    await sleep(50);
    await server.restart();
    await expect(pending).resolves.toBe('done');
  });

  it('fails an unmarked mutation cut off by a drop with a retryable CONNECTION_LOST', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    await client.whoami.query();
    const pending = client.slowMutation.mutate({ ms: 300, key: 'unsafe' }).catch((e: unknown) => e);
    await sleep(50);
    await server.restart();
    expect(await pending).toMatchObject({ code: 'CONNECTION_LOST', retryable: true });
  });

  it('re-sends a mutation marked idempotent', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    await client.whoami.query();
    const pending = client.slowMutation.mutate({ ms: 300, key: 'safe' }, idempotent);
    await sleep(50);
    await server.restart();
    // It ran twice: once on the lost connection, once re-sent.
    await expect(pending).resolves.toBe(2);
  });

  it('resumes from a persisted cursor in a new client (a page reload)', async () => {
    await using server = await startTestServer();
    const resumeStore = memoryResumeStore();
    const first = testClient(server.wsUrl, { resumeStore });
    const a = await subscribe(first, 'reload');
    for (let n = 0; n < 3; n++) await server.broker.publish('reload', { n });
    await vi.waitFor(() => expect(a.seen.items).toHaveLength(3));
    await first.$close();
    for (let n = 3; n < 6; n++) await server.broker.publish('reload', { n });
    await using second = testClient(server.wsUrl, { resumeStore });
    const b = await subscribe(second, 'reload');
    await vi.waitFor(() => expect(numbers(b.seen.items)).toEqual([3, 4, 5]));
  });

  it('pauses while offline and reconnects at once when back online, skipping the backoff', async () => {
    await using server = await startTestServer();
    const online = createManualOnlineManager(true);
    let delayAsked = 0;
    await using client = testClient(server.wsUrl, {
      onlineManager: online,
      reconnect: {
        delayMs: () => {
          delayAsked++;
          return 60_000;
        },
      },
    });
    const states: DuplexStatus['state'][] = [];
    client.$status.subscribe((s) => states.push(s.state));
    await client.whoami.query();
    online.setOnline(false);
    await server.stop();
    await vi.waitFor(() => expect(client.$status.get().state).toBe('offline'));
    await server.start();
    await sleep(200);
    expect(server.server.metrics.connectionsOpened).toBe(0);
    online.setOnline(true);
    await vi.waitFor(() => expect(client.$status.get().state).toBe('open'), { timeout: 2_000 });
    expect(delayAsked).toBe(0);
    expect(states).toContain('offline');
    expect(await client.whoami.query()).toMatchObject({ id: 'alice' });
  });

  it('reports reconnecting with the attempt and the next retry time', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl, { reconnect: { delayMs: () => 100 } });
    await client.whoami.query();
    const seen: DuplexStatus[] = [];
    client.$status.subscribe((s) => seen.push(s));
    await server.stop();
    await vi.waitFor(() =>
      expect(
        seen.filter((s) => s.state === 'reconnecting' && s.nextRetryAt !== null).length,
      ).toBeGreaterThan(1),
    );
    const waits = seen.filter((s) => s.state === 'reconnecting' && s.nextRetryAt !== null);
    expect(waits.map((s) => (s.state === 'reconnecting' ? s.attempt : -1)).slice(0, 2)).toEqual([
      0, 1,
    ]);
    expect(waits[0]).toMatchObject({ closeCode: 1012 });
    await server.start();
    await vi.waitFor(() => expect(client.$status.get().state).toBe('open'));
  });

  it('drops events a source repeats after a resubscribe', async () => {
    const router = replayingRouter();
    await using server = await startTestServer({ router });
    const client = createDuplexClient<typeof router>({
      url: server.wsUrl,
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
    await vi.waitFor(() => expect(starts).toBe(2));
    await vi.waitFor(() => expect(seen).toEqual([1, 2, 3, 4, 5, 6]));
    await client.$close();
  });

  it('asks clients to reconnect on graceful close and closes the rest with 1012 after the drain', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    await subscribe(client, 'drain');
    const started = performance.now();
    const first = server.server.close({ drainTimeoutMs: 200 });
    // A second close() resolves when the first one has finished, not before.
    await server.server.close();
    const took = performance.now() - started;
    await first;
    expect(took).toBeGreaterThanOrEqual(200);
    expect(took).toBeLessThan(3_000);
    expect(server.server.connections).toBe(0);
    await vi.waitFor(() =>
      expect(client.$status.get()).toMatchObject({ state: 'reconnecting', closeCode: 1012 }),
    );
    const health = await fetch(`${server.httpUrl}/healthz`).catch(() => null);
    expect(health).toBeNull();
    await server.start();
  });
});
