import { connect } from 'node:net';
import {
  type ChatEvent,
  type ChatStore,
  createMemoryChatStore,
  createSqlChatStore,
} from '@duplex/chat';
import { DuplexClientError } from '@duplex/client';
import { createRedisBroker } from '@duplex/redis';
import { redisAvailable, startTestRedis, type TestRedis } from '@duplex/redis/testing';
import type { Broker } from '@duplex/server';
import { storeTestBackends } from '@duplex/sql/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { announcedInLog, createRecordingBroker, startChatNode } from './chatAnnounceFixtures';

const quiet = { onConnectionChange: () => {} };
/** Short enough for a quick stall, long enough for a busy machine (PGlite runs in-process). */
const stalledTimeoutMs = 500;

/** Sends one command to Redis on a connection of its own and resolves with the raw reply. */
function redisCommand(port: number, ...args: string[]) {
  return new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.setEncoding('utf8');
    socket.once('error', reject);
    socket.once('data', (reply: string) => {
      socket.end();
      resolve(reply);
    });
    socket.write(
      `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`,
    );
  });
}

/**
 * `inner`, except that Redis stalls (`CLIENT PAUSE`) for `stallMs` right before the next
 * publish of `type`: the publish times out on the node while Redis runs it once it resumes.
 */
function stallingBroker(inner: Broker, redis: TestRedis, stallMs: number) {
  let next: ChatEvent['type'] | null = null;
  const broker: Broker = {
    async publish(channel, data, opts) {
      if ((data as ChatEvent).type === next) {
        next = null;
        expect(await redisCommand(redis.port, 'CLIENT', 'PAUSE', String(stallMs), 'ALL')).toBe(
          '+OK\r\n',
        );
      }
      return inner.publish(channel, data, opts);
    },
    subscribe: (channel, opts) => inner.subscribe(channel, opts),
    headEventId: (channel) => inner.headEventId(channel),
    close: () => inner.close(),
  };
  return {
    broker,
    stallNext(type: ChatEvent['type']) {
      next = type;
    },
  };
}

const backends = await storeTestBackends<ChatStore>({
  memory: createMemoryChatStore,
  sql: createSqlChatStore,
});

describe.runIf(redisAvailable('the Redis chat announcement suite'))(
  'chat announcements on Redis',
  () => {
    let redis: TestRedis;
    beforeAll(async () => {
      redis = await startTestRedis({ appendOnly: false });
    });
    afterAll(() => redis[Symbol.asyncDispose]());

    for (const backend of backends) {
      describe.skipIf(!backend.available)(`with the ${backend.name} store`, () => {
        let store: ChatStore;
        let close: () => Promise<void> = async () => {};
        beforeAll(async () => {
          ({ store, close } = await backend.open());
        });
        afterAll(() => close());

        /** Two nodes, each with its own Redis broker, on one store. */
        async function cluster(commandTimeoutMs?: number) {
          const redisOpts = {
            url: redis.url,
            ...quiet,
            ...(commandTimeoutMs && { commandTimeoutMs }),
          };
          const brokerA = await createRedisBroker(redisOpts);
          const brokerB = await createRedisBroker(redisOpts);
          const stalling = stallingBroker(brokerA, redis, (commandTimeoutMs ?? 0) * 4);
          const recorder = createRecordingBroker(stalling.broker);
          const a = await startChatNode(store, recorder.broker);
          const b = await startChatNode(store, brokerB);
          const [annA, annB] = [a.client('ann'), b.client('ann')];
          const room = await annA.chat.createRoom.mutate({ name: 'R', visibility: 'public' });
          return {
            brokerB,
            annA,
            annB,
            roomId: room.id,
            stallNext: stalling.stallNext,
            async [Symbol.asyncDispose]() {
              await a[Symbol.asyncDispose]();
              await b[Symbol.asyncDispose]();
              await Promise.all([brokerA.close(), brokerB.close()]);
            },
          };
        }

        it('broadcasts a send once when Redis stalled past the timeout and then ran it', async () => {
          await using c = await cluster(stalledTimeoutMs);
          const input = { roomId: c.roomId, clientMsgId: 'stalled', text: 'hello' };
          // Not alone in the room's log: the retry must find the event among others.
          await c.annB.chat.send.mutate({ roomId: c.roomId, clientMsgId: 'before', text: 'hi' });
          c.stallNext('message.created');
          const error = await c.annA.chat.send.mutate(input).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(DuplexClientError);
          expect((error as Error).message).toContain('may not have been published');
          const [stored] = await c.annB.chat.history.query({ roomId: c.roomId, limit: 1 });
          // Redis resumed and ran the publish that timed out.
          await vi.waitFor(
            async () =>
              expect(await announcedInLog(c.brokerB, c.roomId, 'message.created', stored!.id)).toBe(
                1,
              ),
            { timeout: stalledTimeoutMs * 10 },
          );
          await c.annB.chat.send.mutate({ roomId: c.roomId, clientMsgId: 'after', text: 'hi' });
          expect(await c.annB.chat.send.mutate(input)).toMatchObject({ id: stored!.id });
          expect(await c.annA.chat.send.mutate(input)).toMatchObject({ id: stored!.id });
          expect(await announcedInLog(c.brokerB, c.roomId, 'message.created', stored!.id)).toBe(1);
        });

        it('broadcasts 20 overlapping sends of one clientMsgId, on two nodes, once', async () => {
          await using c = await cluster();
          const input = { roomId: c.roomId, clientMsgId: 'overlap', text: 'hello' };
          const sent = await Promise.all(
            Array.from({ length: 20 }, (_, i) => (i % 2 ? c.annA : c.annB).chat.send.mutate(input)),
          );
          expect(new Set(sent.map((m) => m.id)).size).toBe(1);
          expect(await announcedInLog(c.brokerB, c.roomId, 'message.created', sent[0]!.id)).toBe(1);
        });
      });
    }
  },
);
