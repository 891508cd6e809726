import { closeCodes } from '@duplex/server';
import { describe, expect, it, vi } from 'vitest';
import type { WebSocket } from 'ws';
import { startTestServer, testClient } from './fixtures';
import { closeCodeOf, deferred, nextMessages, openAuthedRawSocket, sleep } from './helpers';

/** Sends `frame` and resolves with the next reply. */
function nextMessagesAfter(socket: WebSocket, frame: unknown) {
  const next = nextMessages(socket, 1);
  socket.send(JSON.stringify(frame));
  return next;
}

const query = (id: number, path = 'whoami') => ({
  id,
  method: 'query',
  params: { path, input: { json: null } },
});

describe('limits', () => {
  it('closes a socket that sends a frame over maxPayloadBytes with 1009, others carry on', async () => {
    await using server = await startTestServer({ limits: { maxPayloadBytes: 1_024 } });
    await using bystander = testClient(server.wsUrl);
    await bystander.whoami.query();
    const socket = await openAuthedRawSocket(server.wsUrl);
    socket.send('x'.repeat(2_048));
    expect(await closeCodeOf(socket)).toBe(closeCodes.payloadTooLarge);
    await expect(bystander.echo.query({ text: 'ok' })).resolves.toMatchObject({ length: 2 });
  });

  it('holds calls past the burst until the bucket refills, and refuses past a second burst', async () => {
    await using server = await startTestServer({ limits: { callsPerSecond: 20, burstCalls: 10 } });
    const socket = await openAuthedRawSocket(server.wsUrl);
    await nextMessages(socket, 1);
    const replies = nextMessages(socket, 25);
    // 10 run at once, 10 wait for the refill (one burst), the last 5 are refused.
    for (let id = 1; id <= 25; id++) socket.send(JSON.stringify(query(id)));
    const codes = new Map(
      ((await replies) as { id: number; error?: { json: { data: { code: string } } } }[]).map(
        (m) => [m.id, m.error?.json.data.code ?? 'ok'],
      ),
    );
    expect(Array.from({ length: 25 }, (_, i) => codes.get(i + 1))).toEqual([
      ...Array(20).fill('ok'),
      ...Array(5).fill('TOO_MANY_REQUESTS'),
    ]);
    expect(server.server.metrics.rateLimitedCalls).toBe(5);
    expect(server.server.metrics.closedRateLimited).toBe(0);
    await expect(nextMessagesAfter(socket, query(26))).resolves.toMatchObject([{ id: 26 }]);
    socket.close();
  });

  it('disconnects a raw-frame flood with 4429, and garbage frames count', async () => {
    await using server = await startTestServer({ limits: { callsPerSecond: 10, burstCalls: 20 } });
    await using bystander = testClient(server.wsUrl);
    await bystander.whoami.query();
    const socket = await openAuthedRawSocket(server.wsUrl);
    const closed = closeCodeOf(socket);
    for (let i = 0; i < 200 && socket.readyState === socket.OPEN; i++) socket.send(`garbage ${i}`);
    expect(await closed).toBe(closeCodes.rateLimited);
    expect(server.server.metrics.closedRateLimited).toBe(1);
    await expect(bystander.whoami.query()).resolves.toMatchObject({ id: 'alice' });
  });

  for (const transport of ['websocket', 'http'] as const) {
    it(`caps subscriptions per connection (${transport}) and frees a slot when one stops`, async () => {
      await using server = await startTestServer({ limits: { maxSubscriptionsPerConnection: 2 } });
      // Over HTTP, a user's event streams share one count, as if on one socket.
      await using client = testClient(server.wsUrl, { transport });
      const open = (channel: string) => {
        const started = deferred();
        const failed = deferred<unknown>();
        const sub = client.onEvent.subscribe(
          { channel },
          { onStarted: () => started.resolve(), onError: (e) => failed.resolve(e) },
        );
        return { sub, started: started.promise, failed: failed.promise };
      };
      const a = open('a');
      const b = open('b');
      await Promise.all([a.started, b.started]);
      // An event stream opens (`started`) before its procedure's error arrives on it.
      expect(await open('c').failed).toMatchObject({ code: 'RATE_LIMITED' });
      expect(server.server.metrics.subscriptions).toBe(2);
      a.sub.unsubscribe();
      await vi.waitFor(() => expect(server.server.metrics.subscriptions).toBe(1));
      await open('d').started;
      await vi.waitFor(() => expect(server.server.metrics.subscriptions).toBe(2));
    });
  }

  it('cuts off a slow consumer with 4507 so its buffer stops growing', async () => {
    await using server = await startTestServer({ limits: { maxBufferedBytes: 256 * 1024 } });
    await using bystander = testClient(server.wsUrl);
    await bystander.whoami.query();
    const socket = await openAuthedRawSocket(server.wsUrl);
    socket.send(
      JSON.stringify({
        id: 1,
        method: 'subscription',
        params: { path: 'onEvent', input: { json: { channel: 'big' } } },
      }),
    );
    await nextMessages(socket, 1);
    // Stop reading: the kernel buffers fill up, then the server's send buffer does.
    (socket as WebSocket & { _socket: { pause(): void } })._socket.pause();
    const payload = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 4_000 && server.server.metrics.closedSlowConsumer === 0; i++) {
      await server.broker.publish('big', { n: i, payload });
      if (i % 100 === 0) await sleep(1);
    }
    expect(server.server.metrics.closedSlowConsumer).toBe(1);
    await vi.waitFor(() => expect(server.server.connections).toBe(1), { timeout: 5_000 });
    await expect(bystander.whoami.query()).resolves.toMatchObject({ id: 'alice' });
  });

  it('keeps a reading client that gets more than maxBufferedBytes in one event-loop turn', async () => {
    await using server = await startTestServer({ limits: { maxBufferedBytes: 256 * 1024 } });
    // Asks for the stream's cursor event, which tells that the stream is live.
    const socket = await openAuthedRawSocket(server.wsUrl, 'user:raw', { duplex: 'cursor' });
    const received: unknown[] = [];
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { result?: { type?: string } };
      if (message.result?.type === 'data') received.push(message);
    });
    socket.send(
      JSON.stringify({
        id: 1,
        method: 'subscription',
        params: { path: 'onEvent', input: { json: { channel: 'burst' } } },
      }),
    );
    // The stream's cursor event: it is live.
    await vi.waitFor(() => expect(received).toHaveLength(1));
    const payload = 'x'.repeat(16 * 1024);
    // 20 × 16 KiB in one turn: what the server holds back to write at once must not count as
    // a backlog the client failed to read.
    await Promise.all(
      Array.from({ length: 20 }, (_, n) => server.broker.publish('burst', { n, payload })),
    );
    await vi.waitFor(() => expect(received).toHaveLength(21), { timeout: 5_000 });
    expect(server.server.metrics.closedSlowConsumer).toBe(0);
    expect(socket.readyState).toBe(socket.OPEN);
  });

  it('refuses upgrades beyond maxConnections with 503', async () => {
    await using server = await startTestServer({ limits: { maxConnections: 1 } });
    const first = await openAuthedRawSocket(server.wsUrl);
    const status = await new Promise<number>((resolve) => {
      void import('ws').then(({ WebSocket }) => {
        const socket = new WebSocket(server.wsUrl);
        socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.on('open', () => resolve(101));
        socket.on('error', () => {});
      });
    });
    expect(status).toBe(503);
    expect(server.server.metrics.refusedCapacity).toBe(1);
    first.close();
  });

  it('rejects a batch larger than maxBatchSize', async () => {
    await using server = await startTestServer({ limits: { maxBatchSize: 3 } });
    const socket = await openAuthedRawSocket(server.wsUrl);
    const replies = nextMessages(socket, 4);
    socket.send(JSON.stringify([query(1), query(2), query(3), query(4)]));
    // Errors travel through the transformer too: superjson wraps them in `json`.
    const messages = (await replies) as {
      id: number;
      error?: { json: { data: { code: string } } };
    }[];
    expect(messages.map((m) => [m.id, m.error?.json.data.code])).toEqual(
      [1, 2, 3, 4].map((id) => [id, 'BAD_REQUEST']),
    );
    socket.close();
  });

  it('limits plain HTTP calls per user, counting each call of a batch', async () => {
    await using server = await startTestServer({ limits: { callsPerSecond: 1, burstCalls: 3 } });
    const call = (user: string, path = 'whoami') =>
      fetch(`${server.httpUrl}/trpc/${path}`, {
        headers: { authorization: `Bearer user:${user}` },
      });
    for (let i = 0; i < 3; i++) expect((await call('bob')).status).toBe(200);
    const refused = await call('bob');
    expect(refused.status).toBe(429);
    expect(JSON.stringify(await refused.json())).toContain('Too many calls: at most 1 per second');
    // Another user has a budget of their own.
    expect((await call('carol')).status).toBe(200);
    // A batch of three spends three.
    const batch = await call('dave', 'whoami,whoami,whoami?batch=1&input={}');
    expect(batch.status).toBe(200);
    expect((await call('dave')).status).toBe(429);
  });
});
