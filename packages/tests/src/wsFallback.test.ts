import { afterAll, describe, expect, it, vi } from 'vitest';

// Before any server module loads: the check of `ws`'s internals runs once, at load.
const previous = vi.hoisted(() => {
  const value = process.env.DUPLEX_WS_INTERNALS;
  process.env.DUPLEX_WS_INTERNALS = 'off';
  return value;
});
afterAll(() => {
  if (previous === undefined) delete process.env.DUPLEX_WS_INTERNALS;
  else process.env.DUPLEX_WS_INTERNALS = previous;
});

const { wsInternalsCheck } = await import('@duplex/server/internal');
const { startTestServer, testClient } = await import('./fixtures');
const { nextMessages, openAuthedRawSocket, sleep } = await import('./helpers');

describe('the server on the public ws API alone (DUPLEX_WS_INTERNALS=off)', () => {
  it('has the fast path off', () => {
    expect(wsInternalsCheck).toMatchObject({ ok: false, reason: 'DUPLEX_WS_INTERNALS=off' });
  });

  it('answers calls and delivers subscription events in order', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.echo.query({ text: 'x'.repeat(i * 50) })),
    );
    expect(replies.map((r) => r.length)).toEqual(Array.from({ length: 50 }, (_, i) => i * 50));
    const received: number[] = [];
    const subscription = client.onEvent.subscribe(
      { channel: 'c' },
      { onData: (event) => received.push((event.data as { n: number }).n) },
    );
    await vi.waitFor(async () => {
      await server.broker.publish('c', { n: -1 });
      expect(received.length).toBeGreaterThan(0);
    });
    // Fan-out frames (encoded once, shared) go through `socket.send` here.
    for (let n = 0; n < 100; n++) await server.broker.publish('c', { n });
    await vi.waitFor(() => expect(received.at(-1)).toBe(99));
    expect(received.filter((n) => n >= 0)).toEqual(Array.from({ length: 100 }, (_, n) => n));
    subscription.unsubscribe();
  });

  it('counts buffered bytes and cuts off a slow consumer with 4507', async () => {
    await using server = await startTestServer({ limits: { maxBufferedBytes: 256 * 1024 } });
    const socket = await openAuthedRawSocket(server.wsUrl);
    socket.send(
      JSON.stringify({
        id: 1,
        method: 'subscription',
        params: { path: 'onEvent', input: { json: { channel: 'big' } } },
      }),
    );
    await nextMessages(socket, 1);
    // Stops reading: the kernel buffers fill up, then the server's send buffer does.
    socket.pause();
    const payload = 'x'.repeat(16 * 1024);
    const { metrics } = server.server;
    const bytesBefore = metrics.bytesOut;
    for (let i = 0; i < 4_000 && metrics.closedSlowConsumer === 0; i++) {
      await server.broker.publish('big', { n: i, payload });
      if (i % 100 === 0) await sleep(1);
    }
    expect(metrics.closedSlowConsumer).toBe(1);
    expect(metrics.bytesOut - bytesBefore).toBeGreaterThan(256 * 1024);
  });
});

describe('the fallback at startup', () => {
  it('is reported to onError once per server, as background work', async () => {
    const reports: unknown[] = [];
    await using server = await startTestServer({
      handler: 'duplex',
      onError: (report) => reports.push(report),
    });
    await using client = testClient(server.wsUrl);
    await client.echo.query({ text: 'x' });
    expect(reports).toMatchObject([{ source: 'background', task: 'server.wsInternals' }]);
  });
});
