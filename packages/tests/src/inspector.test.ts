import { createDuplexClient, type DuplexStatus } from '@duplex/client';
import { closeCodes, type DuplexLogger, procedureBucketsSeconds } from '@duplex/server';
import { describe, expect, it, vi } from 'vitest';
import { type appRouter, startTestServer, testClient, testHandler } from './fixtures';
import {
  closeCodeOf,
  collector,
  deferred,
  openAuthedRawSocket,
  openRawSocket,
  sleep,
} from './helpers';

/** A logger that keeps what it is given, by level. */
function recordingLogger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string | undefined }[] = [];
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  const logger: DuplexLogger = {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
  };
  return { lines, logger };
}

type Event = { id: string; data: unknown };

describe('server.inspector', () => {
  it('lists each connection with its user, transport, subscriptions and calls', async () => {
    await using server = await startTestServer();
    await using alice = testClient(server.wsUrl);
    await using bob = testClient(server.wsUrl, { token: 'user:bob' });
    await using carol = createDuplexClient({
      url: server.wsUrl,
      httpUrl: `${server.httpUrl}/trpc`,
      transport: 'http',
      token: 'user:carol',
      reconnect: { delayMs: () => 10 },
    });
    const started = deferred();
    alice.onEvent.subscribe({ channel: 'a' }, { onStarted: () => started.resolve() });
    await started.promise;
    await bob.whoami.query();
    await bob.whoami.query();
    const carolStarted = deferred();
    (carol as typeof alice).onEvent.subscribe(
      { channel: 'c' },
      { onStarted: () => carolStarted.resolve() },
    );
    await carolStarted.promise;
    const { inspector } = server.server;
    await vi.waitFor(() => expect(inspector.connections()).toHaveLength(3));
    const byUser = new Map(inspector.connections().map((c) => [c.userId, c]));
    expect(byUser.get('alice')).toMatchObject({
      transport: 'websocket',
      subscriptions: 1,
      calls: 1,
      nodeId: inspector.nodeId,
      remoteAddress: '127.0.0.1',
    });
    expect(byUser.get('bob')).toMatchObject({ transport: 'websocket', subscriptions: 0, calls: 2 });
    expect(byUser.get('carol')).toMatchObject({ transport: 'http', subscriptions: 1 });
    expect(byUser.get('alice')?.id).toBe((await alice.connectionInfo.query()).id);
    expect(inspector.connections({ userId: 'bob' }).map((c) => c.userId)).toEqual(['bob']);
    expect(inspector.connections({ limit: 1 })).toHaveLength(1);
    const stats = inspector.stats();
    expect(stats).toMatchObject({
      nodeId: inspector.nodeId,
      connections: { websocket: 2, http: 1 },
      usersOnline: 3,
      subscriptions: 2,
    });
  });

  it('disconnects one connection with 4403; the client reconnects and its subscription resumes', async () => {
    const { lines, logger } = recordingLogger();
    await using server = await startTestServer({ logger, nodeId: 'node-a' });
    await using client = testClient(server.wsUrl);
    await using other = testClient(server.wsUrl, { token: 'user:bob' });
    await other.whoami.query();
    const seen = collector<Event>();
    const started = deferred();
    let starts = 0;
    client.onEvent.subscribe(
      { channel: 'room' },
      {
        onData: seen.push,
        onStarted: () => {
          starts++;
          started.resolve();
        },
      },
    );
    await started.promise;
    await server.broker.publish('room', { n: 1 });
    await vi.waitFor(() => expect(seen.items.map((e) => (e.data as { n: number }).n)).toEqual([1]));
    const statuses: DuplexStatus[] = [];
    client.$status.subscribe((status) => statuses.push(status));
    const { inspector } = server.server;
    const target = inspector.connections({ userId: 'alice' })[0];
    expect(target).toBeDefined();
    expect(inspector.disconnect(target?.id as string, { by: 'operator-1' })).toBe(true);
    expect(inspector.disconnect('no-such-connection')).toBe(false);
    await server.broker.publish('room', { n: 2 });
    await vi.waitFor(() => expect(starts).toBe(2));
    await server.broker.publish('room', { n: 3 });
    await vi.waitFor(() =>
      expect(seen.items.map((e) => (e.data as { n: number }).n)).toEqual([1, 2, 3]),
    );
    expect(statuses).toContainEqual(
      expect.objectContaining({ state: 'reconnecting', closeCode: closeCodes.operatorDisconnect }),
    );
    expect(client.$status.get()).toMatchObject({ state: 'open' });
    // The other user's connection was left alone.
    expect(inspector.connections({ userId: 'bob' })).toHaveLength(1);
    const fresh = inspector.connections({ userId: 'alice' });
    expect(fresh).toHaveLength(1);
    expect(fresh[0]?.id).not.toBe(target?.id);
    expect(inspector.stats().closesByCode).toMatchObject({ '4403': 1 });
    expect(lines).toContainEqual({
      level: 'warn',
      obj: expect.objectContaining({
        event: 'duplex.operatorDisconnect',
        nodeId: 'node-a',
        connectionId: target?.id,
        userId: 'alice',
        transport: 'websocket',
        by: 'operator-1',
      }),
      msg: expect.stringContaining(target?.id as string),
    });
  });

  it('cuts an HTTP event stream on disconnect; the client starts it again and resumes', async () => {
    await using server = await startTestServer();
    await using client = createDuplexClient<typeof appRouter>({
      url: server.wsUrl,
      httpUrl: `${server.httpUrl}/trpc`,
      transport: 'http',
      token: 'user:ivy',
      reconnect: { delayMs: () => 10 },
    });
    const seen = collector<Event>();
    let starts = 0;
    client.onEvent.subscribe({ channel: 'sse' }, { onData: seen.push, onStarted: () => starts++ });
    const { inspector } = server.server;
    await vi.waitFor(() => expect(starts).toBe(1));
    await server.broker.publish('sse', { n: 1 });
    await vi.waitFor(() => expect(seen.items).toHaveLength(1));
    const [stream] = inspector.connections({ userId: 'ivy' });
    expect(stream).toMatchObject({ transport: 'http', subscriptions: 1 });
    expect(inspector.disconnect(stream?.id as string)).toBe(true);
    await server.broker.publish('sse', { n: 2 });
    await vi.waitFor(() => expect(starts).toBe(2), { timeout: 10_000 });
    await server.broker.publish('sse', { n: 3 });
    await vi.waitFor(() =>
      expect(seen.items.map((e) => (e.data as { n: number }).n)).toEqual([1, 2, 3]),
    );
    const [again] = inspector.connections({ userId: 'ivy' });
    expect(again?.id).not.toBe(stream?.id);
  });

  it('reports the event-loop delay since the previous snapshot', async () => {
    await using server = await startTestServer();
    const { inspector } = server.server;
    // The first snapshot starts the monitor.
    expect(inspector.stats().eventLoopDelayMs).toEqual({ p50: 0, p99: 0, max: 0 });
    await sleep(50);
    const blockedUntil = performance.now() + 150;
    while (performance.now() < blockedUntil) {
      // Holds the event loop, as a slow synchronous handler would.
    }
    await sleep(50);
    const blocked = inspector.stats().eventLoopDelayMs;
    expect(blocked.max).toBeGreaterThanOrEqual(100);
    expect(blocked.p99).toBeLessThanOrEqual(blocked.max);
    // Each snapshot starts afresh.
    await sleep(50);
    expect(inspector.stats().eventLoopDelayMs.max).toBeLessThan(blocked.max);
  });

  it('disconnects every connection of a user and no one else', async () => {
    await using server = await startTestServer();
    const sockets = await Promise.all([
      openAuthedRawSocket(server.wsUrl, 'user:dave'),
      openAuthedRawSocket(server.wsUrl, 'user:dave'),
      openAuthedRawSocket(server.wsUrl, 'user:erin'),
    ]);
    const { inspector } = server.server;
    await vi.waitFor(() => expect(inspector.connections({ userId: 'dave' })).toHaveLength(2));
    const closes = sockets.map(closeCodeOf);
    expect(inspector.disconnectUser('dave')).toBe(2);
    expect(await closes[0]).toBe(4403);
    expect(await closes[1]).toBe(4403);
    expect(sockets[2]?.readyState).toBe(sockets[2]?.OPEN);
    expect(inspector.disconnectUser('nobody')).toBe(0);
    for (const socket of sockets) socket.close();
  });

  it('counts the closes the server makes by code, not those the peer starts', async () => {
    await using server = await startTestServer();
    const refused = await openAuthedRawSocket(server.wsUrl, 'not-a-token');
    expect(await closeCodeOf(refused)).toBe(closeCodes.unauthorized);
    // A peer closing with a Duplex code is answered by `ws` with the same code: not counted.
    const peer = await openAuthedRawSocket(server.wsUrl, 'user:frank');
    await vi.waitFor(() => expect(server.server.inspector.connections()).toHaveLength(1));
    const peerClosed = closeCodeOf(peer);
    peer.close(4403, 'from the client');
    await peerClosed;
    const plain = await openRawSocket(server.wsUrl);
    const plainClosed = closeCodeOf(plain);
    plain.close();
    await plainClosed;
    await vi.waitFor(() => expect(server.server.inspector.connections()).toHaveLength(0));
    expect(server.server.inspector.stats().closesByCode).toEqual({ '4401': 1 });
  });

  it('counts calls, errors by code, latency buckets and events per procedure', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    await using overHttp = createDuplexClient<typeof appRouter>({
      url: server.wsUrl,
      httpUrl: `${server.httpUrl}/trpc`,
      transport: 'http',
      token: 'user:hank',
    });
    for (let n = 0; n < 3; n++) await client.echo.query({ text: 'hi' });
    await overHttp.echo.query({ text: 'over http' });
    await expect(client.forbidden.query()).rejects.toThrow('Not yours');
    await expect(overHttp.forbidden.query()).rejects.toThrow('Not yours');
    await expect(client.slow.query({ ms: 60 })).resolves.toBe('done');
    await expect(client.echo.query({ text: 'x'.repeat(20_000) })).rejects.toThrow();
    const seen = collector<Event>();
    const started = deferred();
    client.onEvent.subscribe(
      { channel: 'figures' },
      { onData: seen.push, onStarted: () => started.resolve() },
    );
    await started.promise;
    for (let n = 0; n < 4; n++) await server.broker.publish('figures', { n });
    await vi.waitFor(() => expect(seen.items).toHaveLength(4));
    const stats = server.server.inspector.stats();
    const byPath = new Map(stats.procedures.map((p) => [p.path, p]));
    const echo = byPath.get('echo');
    expect(echo).toMatchObject({ type: 'query', calls: 5, errors: { BAD_REQUEST: 1 } });
    expect(echo?.buckets).toHaveLength(procedureBucketsSeconds.length + 1);
    expect(echo?.buckets.reduce((a, b) => a + b, 0)).toBe(5);
    expect(byPath.get('forbidden')).toMatchObject({ calls: 2, errors: { FORBIDDEN: 2 } });
    const slow = byPath.get('slow');
    // 60 ms lands above the 0.05 s bound, at most in the 0.25 s one.
    const slowBucket = slow?.buckets.indexOf(1) ?? -1;
    expect(procedureBucketsSeconds[slowBucket - 1]).toBeGreaterThanOrEqual(0.05);
    // Timers may fire a little before performance.now() says 60 ms have passed.
    expect(slow?.sumSeconds).toBeGreaterThan(0.05);
    expect(byPath.get('onEvent')).toMatchObject({ type: 'subscription', calls: 1, errors: {} });
    // Procedures nobody called are left out.
    expect(byPath.has('boom')).toBe(false);
    expect(stats.calls).toBe(9);
    expect(stats.errorsByCode).toEqual({ FORBIDDEN: 2, BAD_REQUEST: 1 });
    // Every data frame of a subscription: the stream's start cursor and the 4 events (the stock
    // handler's frames are tRPC's own, not counted).
    expect(stats.events).toBe(testHandler === 'stock' ? 0 : 5);
    expect(stats.eventLoopDelayMs.max).toBeGreaterThanOrEqual(0);
    expect(stats.memory.rssBytes).toBeGreaterThan(stats.memory.heapUsedBytes);
    expect(stats.broker).toEqual({
      kind: 'memory',
      state: 'ready',
      outages: 0,
      publishBuckets: null,
    });
    expect(stats.channels).toEqual([
      expect.objectContaining({ channel: 'figures', subscribers: 1, published: 4 }),
    ]);
  });
});
