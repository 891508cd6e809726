import type { AddressInfo } from 'node:net';
import { createDuplexClient, type DuplexStatus, type WebSocketClass } from '@duplex/client';
import { readyNotification } from '@duplex/protocol';
import { type Broker, createDuplexServer, createMemoryBroker, streamChannel } from '@duplex/server';
import { describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { duplex, startTestServer, testClient, testHandler, tokenAuth } from './fixtures';
import { closeCodeOf, collector, deferred, sleep } from './helpers';

type Event = { id: string; data: { n: number } };

/** A `ws` WebSocket class that records every text frame the client writes (PING/PONG aside). */
function recordingSocket() {
  const sent: string[] = [];
  class RecordingSocket extends WebSocket {
    // The client only ever sends text frames.
    override send(text: string): void {
      if (text !== 'PING' && text !== 'PONG') sent.push(text);
      super.send(text);
    }
  }
  return { sent, WebSocket: RecordingSocket as unknown as WebSocketClass };
}

/** A test server and a client with an open socket to it; disposing closes both. */
async function openClient(opts: Parameters<typeof testClient>[1] = {}) {
  const server = await startTestServer();
  const client = testClient(server.wsUrl, opts);
  const setup = {
    server,
    client,
    async [Symbol.asyncDispose]() {
      await client.$close();
      await server[Symbol.asyncDispose]();
    },
  };
  await vi.waitFor(() => expect(client.$status.get().state).toBe('open'));
  return setup;
}

describe('sending calls', () => {
  it('writes a call’s frame before any macrotask runs', async () => {
    const recorder = recordingSocket();
    await using setup = await openClient({ WebSocket: recorder.WebSocket });
    const { client } = setup;
    const before = recorder.sent.length;
    // Scheduled before the call: a link that waits even one macrotask (stock wsLink sleeps 0 ms
    // after its own setTimeout) would write after this timer has fired.
    const atFirstMacrotask = new Promise<string[]>((resolve) =>
      setTimeout(() => resolve(recorder.sent.slice(before)), 0),
    );
    const answer = client.echo.query({ text: 'now' });
    const written = await atFirstMacrotask;
    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0] as string)).toMatchObject({
      method: 'query',
      params: { path: 'echo', input: { json: { text: 'now' } } },
    });
    expect(await answer).toMatchObject({ text: 'now' });
  });

  it('sends 20 calls made in one tick as frames of at most 8 calls', async () => {
    const recorder = recordingSocket();
    await using setup = await openClient({ WebSocket: recorder.WebSocket });
    const { client } = setup;
    const before = recorder.sent.length;
    const texts = Array.from({ length: 20 }, (_, i) => `call ${i}`);
    const results = await Promise.all(texts.map((text) => client.echo.query({ text })));
    expect(results.map((r) => r.text)).toEqual(texts);
    const frames = recorder.sent.slice(before).map((text) => JSON.parse(text) as unknown);
    expect(frames.map((frame) => (Array.isArray(frame) ? frame.length : 1))).toEqual([8, 8, 4]);
    const sentTexts = (frames as { params: { input: { json: { text: string } } } }[][])
      .flat()
      .map((call) => call.params.input.json.text);
    expect(sentTexts).toEqual(texts);
  });

  it('rejects a query whose signal is aborted before or after it is sent, and keeps working', async () => {
    const recorder = recordingSocket();
    await using setup = await openClient({ WebSocket: recorder.WebSocket });
    const { server, client } = setup;
    const early = await client.echo
      .query({ text: 'never' }, { signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect(early).toMatchObject({ cause: { name: 'AbortError' } });
    expect(recorder.sent.some((text) => text.includes('never'))).toBe(false);

    const controller = new AbortController();
    const late = client.slow.query({ ms: 2_000 }, { signal: controller.signal }).catch((e) => e);
    await vi.waitFor(() => expect(recorder.sent.some((t) => t.includes('"slow"'))).toBe(true));
    controller.abort();
    const error = await late;
    expect(error).toMatchObject({ cause: { name: 'AbortError' } });

    expect(await client.echo.query({ text: 'after' })).toMatchObject({ text: 'after' });
    expect(client.$status.get().state).toBe('open');
    expect(server.server.metrics.connectionsOpened).toBe(1);
  });
});

/**
 * A bare `ws` server on port 0: it accepts any credentials (the ready notification) and hands
 * every other frame to `onFrame`; it answers no `PING` of its own accord.
 */
async function startBareServer(onFrame: (socket: WebSocket, text: string) => void = () => {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  const sockets: WebSocket[] = [];
  const received: string[] = [];
  wss.on('connection', (socket) => {
    sockets.push(socket);
    socket.on('message', (data) => {
      const text = String(data);
      received.push(text);
      if (text.includes('"connectionParams"')) socket.send(readyNotification);
      else onFrame(socket, text);
    });
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/trpc`,
    sockets,
    received,
    async [Symbol.asyncDispose]() {
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

describe('client keepalive', () => {
  const timeout = { timeout: 3_000 };

  it('counts a socket whose server never answers PING as lost (1006) and opens another', async () => {
    await using server = await startBareServer();
    await using client = testClient(server.url, {
      keepAlive: { intervalMs: 50, pongTimeoutMs: 50 },
    });
    const statuses: DuplexStatus[] = [];
    client.$status.subscribe((status) => statuses.push(status));
    await vi.waitFor(() => expect(server.sockets.length).toBeGreaterThanOrEqual(1), timeout);
    const firstClosed = closeCodeOf(server.sockets[0] as WebSocket);
    await vi.waitFor(
      () =>
        expect(statuses).toContainEqual(
          expect.objectContaining({ state: 'reconnecting', closeCode: 1006 }),
        ),
      timeout,
    );
    await vi.waitFor(() => expect(server.sockets.length).toBeGreaterThanOrEqual(2), timeout);
    expect(statuses[0]).toEqual({ state: 'open', transport: 'websocket' });
    expect(server.received).toContain('PING');
    // Terminated, not closed with a handshake the silent peer would never answer.
    expect(await firstClosed).toBe(1006);
  });

  it('keeps a socket whose server answers every PING within pongTimeoutMs, however late', async () => {
    let pongs = 0;
    // Each PING gets another frame at once and its PONG 120 ms later, after 50 ms of silence has
    // passed again: a second PING must not go out and leave the first one's deadline running.
    await using server = await startBareServer((socket, text) => {
      if (text !== 'PING') return;
      socket.send('{"id":null,"method":"noop"}');
      setTimeout(() => {
        if (socket.readyState !== socket.OPEN) return;
        socket.send('PONG');
        pongs++;
      }, 120);
    });
    await using client = testClient(server.url, {
      keepAlive: { intervalMs: 50, pongTimeoutMs: 200 },
    });
    await vi.waitFor(() => expect(pongs).toBe(1), timeout);
    await sleep(400);
    expect(server.sockets).toHaveLength(1);
    expect(client.$status.get()).toEqual({ state: 'open', transport: 'websocket' });
    // Still pinging after a late PONG.
    expect(server.received.filter((text) => text === 'PING').length).toBeGreaterThanOrEqual(2);
  });
});

/** `held` answers with `hooks.held()`; `onMove` streams channel `move` after `beforeStart()`. */
function moveRouter(hooks: { held(): Promise<string>; beforeStart(): Promise<void> }) {
  return duplex.router({
    held: duplex.procedure.query(() => hooks.held()),
    onMove: duplex.procedure
      .input(z.object({ lastEventId: z.string().nullish() }))
      .subscription(async ({ ctx, input, signal }) => {
        await hooks.beforeStart();
        return streamChannel<{ n: number }>(ctx.broker, 'move', {
          lastEventId: input.lastEventId,
          signal,
        });
      }),
  });
}

/** One node of a deployment on a shared broker, as two processes on one Redis would be. */
async function startNode(router: ReturnType<typeof moveRouter>, broker: Broker) {
  const server = createDuplexServer({
    router,
    broker,
    authenticate: tokenAuth,
    handler: testHandler,
    onError: () => {},
  });
  const { port } = await server.listen(0);
  return Object.assign(server, { wsUrl: `ws://127.0.0.1:${port}/trpc` });
}

describe('the reconnect notification', () => {
  it('moves a subscription to a new socket without loss, repeat or second start, and answers the call in flight on the old one', async () => {
    const broker = createMemoryBroker();
    const gate = deferred<string>();
    const arrived = deferred();
    let heldCalls = 0;
    const held = () => {
      heldCalls++;
      arrived.resolve();
      return gate.promise;
    };
    const resent = deferred();
    const confirm = deferred();
    await using a = await startNode(moveRouter({ held, beforeStart: async () => {} }), broker);
    // On the new node the subscription is confirmed (`started`) only when the test says so.
    const routerB = moveRouter({
      held,
      beforeStart: () => {
        resent.resolve();
        return confirm.promise;
      },
    });
    await using b = await startNode(routerB, broker);
    await using client = createDuplexClient<typeof routerB>({
      url: [a.wsUrl, b.wsUrl],
      token: 'user:alice',
      reconnect: { delayMs: () => 10 },
    });
    const statuses: DuplexStatus['state'][] = [];
    client.$status.subscribe((status) => statuses.push(status.state));
    const seen = collector<Event>();
    const errors: unknown[] = [];
    let starts = 0;
    const started = deferred();
    client.onMove.subscribe(
      {},
      {
        onStarted: () => {
          starts++;
          started.resolve();
        },
        onData: (event) => seen.push(event as Event),
        onError: (e) => errors.push(e),
      },
    );
    await started.promise;
    const numbers = () => seen.items.map((e) => e.data.n);
    const publish = async (...ns: number[]) => {
      for (const n of ns) await broker.publish('move', { n });
    };

    await publish(1, 2);
    await vi.waitFor(() => expect(numbers()).toEqual([1, 2]));
    const answer = client.held.query();
    await arrived.promise;
    // A graceful close sends the reconnect notification, then waits for clients to leave.
    const closing = a.close({ drainTimeoutMs: 10_000 });
    await resent.promise;
    // Moving: the new socket has the subscription but has not confirmed it; the old delivers.
    await publish(3, 4);
    await vi.waitFor(() => expect(numbers()).toEqual([1, 2, 3, 4]));
    confirm.resolve();
    await publish(5, 6);
    await vi.waitFor(() => expect(numbers()).toEqual([1, 2, 3, 4, 5, 6]));
    // The call in flight keeps the old socket open, and is answered there, not re-sent.
    expect([a.connections, b.connections]).toEqual([1, 1]);
    gate.resolve('answered');
    expect(await answer).toBe('answered');
    expect(heldCalls).toBe(1);
    // The client closes the drained socket, long before the server's drain timeout would.
    await vi.waitFor(() => expect(a.connections).toBe(0), { timeout: 3_000 });
    await closing;
    await publish(7);
    await vi.waitFor(() => expect(numbers()).toEqual([1, 2, 3, 4, 5, 6, 7]));
    expect(new Set(seen.items.map((e) => e.id)).size).toBe(7);
    expect(starts).toBe(1);
    expect(errors).toEqual([]);
    expect(statuses).not.toContain('reconnecting');
  });
});

describe('connection state of a subscription', () => {
  it('reports pending, then connecting with an error across a restart, then pending again', async () => {
    await using setup = await openClient();
    const { server, client } = setup;
    const states: { state: string; error: unknown }[] = [];
    const seen = collector<Event>();
    const started = deferred();
    client.onEvent.subscribe(
      { channel: 'states' },
      {
        onStarted: () => started.resolve(),
        onData: (event) => seen.push(event as Event),
        onConnectionStateChange: ({ state, error }) => states.push({ state, error }),
      },
    );
    await started.promise;
    expect(states).toEqual([{ state: 'pending', error: null }]);
    await server.restart();
    // `restart()` may resolve before the client has seen its socket close.
    await vi.waitFor(() => {
      expect(states.length).toBeGreaterThan(2);
      expect(states.at(-1)?.state).toBe('pending');
    });
    // The socket that was open closed with the server's restart code.
    expect(states[1]).toMatchObject({ state: 'connecting', error: { cause: { code: 1012 } } });
    expect(states.slice(1, -1).every((s) => s.state === 'connecting')).toBe(true);
    await server.broker.publish('states', { n: 1 });
    await vi.waitFor(() => expect(seen.items.map((e) => e.data.n)).toEqual([1]));
  });
});
