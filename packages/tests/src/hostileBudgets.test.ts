import { closeCodes } from '@duplex/protocol';
import { limitsDefaults } from '@duplex/server';
import { describe, expect, it, vi } from 'vitest';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { duplex, startTestServer, testClient } from './fixtures';
import { closeCodeOf, deferred, nextMessages, openAuthedRawSocket } from './helpers';

type Reply = {
  id: number | string | null;
  method?: string;
  result?: { type: string; data?: unknown };
  error?: { json: { message: string; data: { code: string } } };
};

const echo = (id: number, text = 'hi') => ({
  id,
  method: 'query',
  params: { path: 'echo', input: { json: { text } } },
});

/** An authenticated raw socket, past its `duplex.ready` notification. */
async function readySocket(wsUrl: string, token = 'user:raw'): Promise<WebSocket> {
  const socket = await openAuthedRawSocket(wsUrl, token);
  const [ready] = (await nextMessages(socket, 1)) as Reply[];
  expect(ready).toMatchObject({ id: null, method: 'duplex.ready' });
  return socket;
}

/** Every reply the socket gets until it closes, and its close code. */
function recordUntilClosed(socket: WebSocket) {
  const replies: Reply[] = [];
  socket.on('message', (data: Buffer) => replies.push(JSON.parse(data.toString()) as Reply));
  return { replies, closed: closeCodeOf(socket) };
}

/** `[[[…0…]]]`, `depth` arrays deep. */
const nested = (depth: number) => `${'['.repeat(depth)}0${']'.repeat(depth)}`;

for (const handler of ['duplex', 'stock'] as const) {
  describe(`budgets that measure cost (${handler} handler)`, () => {
    it('refuses a frame nested past maxJsonDepth unparsed, and serves others', async () => {
      await using server = await startTestServer({ handler });
      await using bystander = testClient(server.wsUrl, { token: 'user:bystander' });
      await bystander.whoami.query();
      const socket = await readySocket(server.wsUrl);
      // The attack's shape: 100,000 levels in 200 KB, a well-formed call around it.
      const deep = `{"id":1,"method":"query","params":{"path":"echo","input":{"json":${nested(100_000)}}}}`;
      const replies = nextMessages(socket, 1);
      socket.send(deep);
      const [reply] = (await replies) as Reply[];
      expect(reply).toMatchObject({
        id: null,
        error: { json: { data: { code: 'PARSE_ERROR' } } },
      });
      expect(reply?.error?.json.message).toBe(
        `JSON nested deeper than ${limitsDefaults.maxJsonDepth} levels`,
      );
      expect(server.server.metrics.refusedDeepFrames).toBe(1);
      // Within the limit, the call runs (and its input fails validation as usual).
      const shallow = `{"id":2,"method":"query","params":{"path":"echo","input":{"json":${nested(50)}}}}`;
      const next = nextMessages(socket, 1);
      socket.send(shallow);
      expect(await next).toMatchObject([
        { id: 2, error: { json: { data: { code: 'BAD_REQUEST' } } } },
      ]);
      await expect(bystander.whoami.query()).resolves.toMatchObject({ id: 'bystander' });
      socket.close();
    });

    it('closes a connection that sends bytes past its byte budget with 4429, few calls or not', async () => {
      await using server = await startTestServer({
        handler,
        limits: { bytesPerSecond: 4_000, burstBytes: 20_000, maxPayloadBytes: 16_384 },
      });
      await using bystander = testClient(server.wsUrl, { token: 'user:bystander' });
      const socket = await readySocket(server.wsUrl);
      const { replies, closed } = recordUntilClosed(socket);
      // 12 calls of 8 KB: far below the call budget (100), six times the byte burst.
      for (let id = 1; id <= 12 && socket.readyState === socket.OPEN; id++) {
        socket.send(JSON.stringify(echo(id, 'x'.repeat(8_000))));
      }
      expect(await closed).toBe(closeCodes.rateLimited);
      // Two fit the burst (their answers may be cut off by the close); those in line never ran.
      expect(replies.filter((r) => r.result?.type === 'data').length).toBeLessThanOrEqual(2);
      expect(replies.some((r) => r.error?.json.data.code === 'TOO_MANY_REQUESTS')).toBe(true);
      await expect(bystander.whoami.query()).resolves.toMatchObject({ id: 'bystander' });
    });

    it('keeps a user in debt across reconnects: the new socket is closed with 4429', async () => {
      await using server = await startTestServer({
        handler,
        limits: { userCallsPerSecond: 1, userBurstCalls: 10 },
      });
      await using bystander = testClient(server.wsUrl, { token: 'user:bystander' });
      const first = await readySocket(server.wsUrl, 'user:flooder');
      const flood = recordUntilClosed(first);
      for (let id = 1; id <= 100 && first.readyState === first.OPEN; id++) {
        first.send(JSON.stringify(echo(id)));
      }
      expect(await flood.closed).toBe(closeCodes.rateLimited);
      // The per-connection budget (100 calls) was never reached: the user's was.
      expect(flood.replies.filter((r) => r.result?.type === 'data').length).toBeLessThanOrEqual(10);
      // A fresh socket finds the same bucket, still in debt, and never gets a call run.
      const second = await openAuthedRawSocket(server.wsUrl, 'user:flooder');
      const again = recordUntilClosed(second);
      second.send(JSON.stringify(echo(1)));
      expect(await again.closed).toBe(closeCodes.rateLimited);
      expect(again.replies.filter((r) => r.result?.type === 'data')).toHaveLength(0);
      expect(server.server.metrics.closedRateLimited).toBe(2);
      // Other users have budgets of their own.
      await expect(bystander.whoami.query()).resolves.toMatchObject({ id: 'bystander' });
    });

    it('spends one byte budget across all of a user’s connections', async () => {
      await using server = await startTestServer({
        handler,
        limits: { userBytesPerSecond: 4_000, userBurstBytes: 20_000, maxPayloadBytes: 16_384 },
      });
      const sockets = await Promise.all(
        [1, 2, 3].map(() => readySocket(server.wsUrl, 'user:spread')),
      );
      const records = sockets.map(recordUntilClosed);
      // 8 KB from each of three sockets, four times: 96 KB, each socket within its own budget.
      for (let round = 0; round < 4; round++) {
        for (const socket of sockets) {
          if (socket.readyState === socket.OPEN) {
            socket.send(JSON.stringify(echo(round + 1, 'x'.repeat(8_000))));
          }
        }
      }
      expect(await Promise.race(records.map((r) => r.closed))).toBe(closeCodes.rateLimited);
      const answered = records.flatMap((r) => r.replies).filter((r) => r.result?.type === 'data');
      expect(answered.length).toBeLessThanOrEqual(2);
      for (const socket of sockets) socket.close();
    });

    it('refuses a user’s connection past maxConnectionsPerUser with 4409 and frees the slot on close', async () => {
      await using server = await startTestServer({ handler, limits: { maxConnectionsPerUser: 2 } });
      const a = await readySocket(server.wsUrl, 'user:many');
      const b = await readySocket(server.wsUrl, 'user:many');
      const c = await openAuthedRawSocket(server.wsUrl, 'user:many');
      const refused = recordUntilClosed(c);
      expect(await refused.closed).toBe(closeCodes.tooManyConnections);
      expect(refused.replies).toMatchObject([
        { id: null, error: { json: { data: { code: 'TOO_MANY_REQUESTS' } } } },
      ]);
      expect(server.server.metrics.refusedUserConnections).toBe(1);
      // Another account is not affected.
      const other = await readySocket(server.wsUrl, 'user:other');
      other.close();
      a.close();
      // The slot frees once the server has seen the close.
      const d = await vi.waitFor(() => readySocket(server.wsUrl, 'user:many'));
      d.close();
      b.close();
    });

    it('makes a Duplex client refused with 4409 wait the long backoff before it tries again', async () => {
      await using server = await startTestServer({ handler, limits: { maxConnectionsPerUser: 1 } });
      const holder = await readySocket(server.wsUrl, 'user:many');
      const attempts: number[] = [];
      await using client = testClient(server.wsUrl, {
        token: 'user:many',
        reconnect: {
          delayMs: (attempt) => {
            attempts.push(attempt);
            return 60_000;
          },
        },
      });
      // The refused socket was never ready, so the status carries no close code: the backoff
      // it asks for tells. As after 4429, the attempt counter jumps to the penalty, not 1.
      await vi.waitFor(() => expect(attempts.length).toBeGreaterThan(0));
      expect(client.$status.get().state).toBe('reconnecting');
      expect(Math.max(...attempts)).toBeGreaterThanOrEqual(4);
      holder.close();
    });

    it('serves 200 calls a Duplex client queued before its socket opened, without a 4429', async () => {
      await using server = await startTestServer({ handler });
      await using client = testClient(server.wsUrl, { token: 'user:queued' });
      const calls = Array.from({ length: 200 }, (_, n) => client.echo.query({ text: `${n}` }));
      const results = await Promise.allSettled(calls);
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(server.server.metrics.closedRateLimited).toBe(0);
      expect(server.server.metrics.rateLimitedCalls).toBe(0);
      expect(server.server.metrics.connectionsOpened).toBe(1);
    });
  });
}

describe.each(['duplex', 'stock'] as const)('calls in flight per user (%s handler)', (handler) => {
  it('runs at most maxCallsInFlightPerUser at once; more wait in line, past it TOO_MANY_REQUESTS', async () => {
    const release = deferred();
    let running = 0;
    let mostRunning = 0;
    const router = duplex.router({
      hold: duplex.procedure.input(z.object({ n: z.number() })).query(async ({ input }) => {
        running++;
        mostRunning = Math.max(mostRunning, running);
        await release.promise;
        running--;
        return input.n;
      }),
    });
    await using server = await startTestServer({
      handler,
      router,
      limits: { maxCallsInFlightPerUser: 1, userBurstCalls: 3, userCallsPerSecond: 1_000 },
    });
    // Two sockets of one account: the cap is the account's, not the socket's.
    const a = await readySocket(server.wsUrl, 'user:slow');
    const b = await readySocket(server.wsUrl, 'user:slow');
    const hold = (id: number) => ({
      id,
      method: 'query',
      params: { path: 'hold', input: { json: { n: id } } },
    });
    const fromB = nextMessages(b, 1);
    b.send(JSON.stringify(hold(1)));
    await vi.waitFor(() => expect(running).toBe(1));
    // Three wait in line (it holds userBurstCalls); the fourth is refused at once.
    const fromA = nextMessages(a, 4);
    const first = nextMessages(a, 1);
    for (const id of [2, 3, 4, 5]) a.send(JSON.stringify(hold(id)));
    const [refused] = (await first) as Reply[];
    expect(refused).toMatchObject({
      id: 5,
      error: { json: { data: { code: 'TOO_MANY_REQUESTS' } } },
    });
    expect(refused?.error?.json.message).toBe('Too many calls in flight: at most 1 per user');
    release.resolve();
    const all = [...((await fromA) as Reply[]), ...((await fromB) as Reply[])];
    expect(
      all
        .filter((r) => r.result)
        .map((r) => r.id)
        .sort(),
    ).toEqual([1, 2, 3, 4]);
    expect(mostRunning).toBe(1);
    a.close();
    b.close();
  });
});
