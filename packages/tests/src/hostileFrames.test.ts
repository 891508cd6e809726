import { closeCodes } from '@duplex/protocol';
import { limitsDefaults } from '@duplex/server';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { startTestServer } from './fixtures';
import { closeCodeOf, nextMessages, openAuthedRawSocket, openRawSocket } from './helpers';

type Reply = {
  id: number | string | null;
  result?: { type: string; data?: unknown };
  error?: { json: { message: string; data: { code: string } } };
};

const maxId = limitsDefaults.maxRequestIdLength;
const query = (id: unknown, input: unknown = { json: { text: 'hi' } }) => ({
  id,
  method: 'query',
  params: { path: 'echo', input },
});

/** An authenticated raw socket, past its `duplex.ready` notification. */
async function readySocket(wsUrl: string): Promise<WebSocket> {
  const socket = await openAuthedRawSocket(wsUrl);
  await nextMessages(socket, 1);
  return socket;
}

async function exchange(socket: WebSocket, frame: unknown, replies = 1): Promise<Reply[]> {
  const next = nextMessages(socket, replies);
  socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  return (await next) as Reply[];
}

for (const handler of ['duplex', 'stock'] as const) {
  describe(`hostile frames (${handler} handler)`, () => {
    it('refuses a request id over maxRequestIdLength with an id: null BAD_REQUEST', async () => {
      await using server = await startTestServer({ handler });
      const socket = await readySocket(server.wsUrl);
      const [reply] = await exchange(socket, query('x'.repeat(maxId + 1)));
      expect(reply).toMatchObject({
        id: null,
        error: {
          json: {
            message: `Request id longer than ${maxId} characters`,
            data: { code: 'BAD_REQUEST' },
          },
        },
      });
      const [answer] = await exchange(socket, query('y'.repeat(maxId)));
      expect(answer?.id).toBe('y'.repeat(maxId));
      expect(answer?.result?.data).toMatchObject({ json: { text: 'hi' } });
      socket.close();
    });

    it('answers the other calls of a batch holding a long id under their own ids', async () => {
      await using server = await startTestServer({ handler });
      const socket = await readySocket(server.wsUrl);
      const long = 'z'.repeat(100_000);
      const replies = await exchange(socket, [query(1), query(long)], 2);
      expect(replies.map((r) => [r.id, r.error?.json.data.code])).toEqual([
        [1, 'PARSE_ERROR'],
        [null, 'BAD_REQUEST'],
      ]);
      // Nothing echoes the long id back.
      expect(JSON.stringify(replies).length).toBeLessThan(2_000);
      socket.close();
    });

    it('runs a subscription whose id has the maximum length', async () => {
      await using server = await startTestServer({ handler });
      const socket = await readySocket(server.wsUrl);
      const id = 's'.repeat(maxId);
      const subscribe = {
        id,
        method: 'subscription',
        params: { path: 'onEvent', input: { json: { channel: 'long-ids' } } },
      };
      const [started] = await exchange(socket, subscribe);
      expect(started).toMatchObject({ id, result: { type: 'started' } });
      const event = nextMessages(socket, 1);
      await server.broker.publish('long-ids', { n: 7 });
      const [data] = (await event) as Reply[];
      expect(data?.id).toBe(id);
      expect(JSON.stringify(data?.result?.data)).toContain('"n":7');
      const [stopped] = await exchange(socket, { id, method: 'subscription.stop' });
      expect(stopped).toMatchObject({ id, result: { type: 'stopped' } });
      socket.close();
    });

    it('answers an unknown method and undeserializable input under the call id', async () => {
      await using server = await startTestServer({ handler });
      const socket = await readySocket(server.wsUrl);
      const [unknown] = await exchange(socket, { id: 4, method: 'nope', params: {} });
      expect(unknown).toMatchObject({ id: 4, error: { json: { data: { code: 'PARSE_ERROR' } } } });
      const badMeta = { json: { a: {} }, meta: { values: { a: [['class', 'Foo']] } } };
      const [bad] = await exchange(socket, query(5, badMeta));
      expect(bad).toMatchObject({
        id: 5,
        error: {
          json: {
            message: 'The call input could not be deserialized',
            data: { code: 'PARSE_ERROR' },
          },
        },
      });
      expect(JSON.stringify(bad)).not.toMatch(/https?:|superjson/);
      socket.close();
    });

    it('names binary frames for what they are', async () => {
      await using server = await startTestServer({ handler });
      const socket = await readySocket(server.wsUrl);
      const next = nextMessages(socket, 1);
      socket.send(Buffer.from('{}'), { binary: true });
      const [reply] = (await next) as Reply[];
      expect(reply?.error?.json.message).toBe(
        'Binary frames are not supported: send JSON in text frames',
      );
      socket.close();
    });

    it('closes a socket with malformed connectionParams with 4400 after a PARSE_ERROR', async () => {
      await using server = await startTestServer({ handler });
      const socket = await openRawSocket(`${server.wsUrl}?connectionParams=1`);
      const closed = closeCodeOf(socket);
      const next = nextMessages(socket, 1);
      socket.send(JSON.stringify({ method: 'connectionParams', data: { token: 5 } }));
      const [reply] = (await next) as Reply[];
      expect(reply).toMatchObject({ id: null, error: { json: { data: { code: 'PARSE_ERROR' } } } });
      expect(await closed).toBe(closeCodes.badConnectionParams);
    });
  });
}
