import {
  type ChatStore,
  createMemoryChatStore,
  createSqlChatStore,
  type Message,
} from '@duplex/chat';
import { DuplexClientError } from '@duplex/client';
import { createMemoryBroker, type MemoryBrokerOptions } from '@duplex/server';
import { storeTestBackends } from '@duplex/sql/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  announcedInLog,
  createFaultyBroker,
  createRecordingBroker,
  startChatNode,
} from './chatAnnounceFixtures';

const backends = await storeTestBackends<ChatStore>({
  memory: createMemoryChatStore,
  sql: createSqlChatStore,
});

/** Short, so a test that leaves a claim behind (a "dead" node) waits a moment, not seconds. */
const announceLeaseMs = 300;

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(DuplexClientError);
      return error as DuplexClientError;
    },
  );

for (const backend of backends) {
  describe.skipIf(!backend.available)(`chat announcements on ${backend.name}`, () => {
    let store: ChatStore;
    let close: () => Promise<void> = async () => {};
    beforeAll(async () => {
      ({ store, close } = await backend.open());
    });
    afterAll(() => close());

    /**
     * Two nodes on one store and one broker; node A's publishes can be made to fail. Ann is on
     * both, Bob on node B.
     */
    async function cluster(broker: MemoryBrokerOptions = {}) {
      const recorder = createRecordingBroker(createMemoryBroker(broker));
      const faulty = createFaultyBroker(recorder.broker);
      const hooked: string[] = [];
      const opts = {
        announceLeaseMs,
        onMessage: ({ message }: { message: Message }) => void hooked.push(message.id),
      };
      const a = await startChatNode(store, faulty.broker, opts);
      const b = await startChatNode(store, recorder.broker, opts);
      // Users of their own, so clientMsgIds never meet another test's in the shared store.
      const [ann, bobId] = ['ann', 'bob'].map(
        (name) => `${name}_${crypto.randomUUID().slice(0, 8)}`,
      );
      const [annA, annB, bob] = [a.client(ann!), b.client(ann!), b.client(bobId!)];
      const room = await annA.chat.createRoom.mutate({ name: 'R', visibility: 'public' });
      await bob.chat.joinRoom.mutate({ roomId: room.id });
      return {
        ...recorder,
        failNext: faulty.failNext,
        abandonOnA: a.abandon,
        hooked,
        annA,
        annB,
        bob,
        roomId: room.id,
        async [Symbol.asyncDispose]() {
          await a[Symbol.asyncDispose]();
          await b[Symbol.asyncDispose]();
          await recorder.broker.close();
        },
      };
    }

    it('broadcasts 20 overlapping sends of one clientMsgId, on two nodes, once', async () => {
      await using c = await cluster();
      const input = { roomId: c.roomId, clientMsgId: 'overlap', text: 'hello' };
      const sent = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? c.annA : c.annB).chat.send.mutate(input)),
      );
      expect(new Set(sent.map((m) => m.id)).size).toBe(1);
      expect(c.count('message.created', sent[0]!.id)).toBe(1);
      expect(c.hooked).toEqual([sent[0]!.id]);
      expect(await c.annA.chat.history.query({ roomId: c.roomId })).toHaveLength(1);
    });

    it("announces a room's first message on retry after others posted meanwhile", async () => {
      await using c = await cluster();
      const input = { roomId: c.roomId, clientMsgId: 'first', text: 'first' };
      // The room's log was empty (Bob's join is logged, so start a fresh room).
      const room = await c.annA.chat.createRoom.mutate({ name: 'Empty', visibility: 'public' });
      await c.bob.chat.joinRoom.mutate({ roomId: room.id });
      const empty = { ...input, roomId: room.id };
      c.failNext('message.created', 'before');
      await failure(c.annA.chat.send.mutate(empty));
      await c.bob.chat.send.mutate({ roomId: room.id, clientMsgId: 'meanwhile', text: 'hi' });
      const retried = await c.annB.chat.send.mutate(empty);
      expect(c.count('message.created', retried.id)).toBe(1);
    });

    it('gives up rather than risk a repeat when the log no longer shows the first attempt', async () => {
      // The log keeps 2 events: 3 posts after the failed attempt push its stretch out.
      await using c = await cluster({ maxEventsPerChannel: 2 });
      const input = { roomId: c.roomId, clientMsgId: 'lost-track', text: 'hello' };
      c.failNext('message.created', 'before');
      await failure(c.annA.chat.send.mutate(input));
      for (const i of [1, 2, 3]) {
        await c.bob.chat.send.mutate({
          roomId: c.roomId,
          clientMsgId: `pushed-out-${i}`,
          text: 'hi',
        });
      }
      const retried = await c.annB.chat.send.mutate(input);
      expect(c.count('message.created', retried.id)).toBe(0);
      // In history all the same, and settled: no later attempt publishes it either.
      const history = await c.annA.chat.history.query({ roomId: c.roomId });
      expect(history.map((m) => m.id)).toContain(retried.id);
      await c.annA.chat.send.mutate(input);
      expect(c.count('message.created', retried.id)).toBe(0);
    });

    it('broadcasts a send once when its first publish went out but timed out', async () => {
      await using c = await cluster();
      const input = { roomId: c.roomId, clientMsgId: 'timed-out', text: 'hello' };
      c.failNext('message.created', 'after');
      const error = await failure(c.annA.chat.send.mutate(input));
      expect(error.message).toContain('may not have been published');
      const retried = await c.annB.chat.send.mutate(input);
      expect(await c.annA.chat.send.mutate(input)).toEqual(retried);
      expect(c.count('message.created', retried.id)).toBe(1);
    });

    it('broadcasts a send once on retry when its first publish did not go out', async () => {
      await using c = await cluster();
      const input = { roomId: c.roomId, clientMsgId: 'refused', text: 'hello' };
      c.failNext('message.created', 'before');
      await failure(c.annA.chat.send.mutate(input));
      const retried = await c.annA.chat.send.mutate(input);
      await c.annB.chat.send.mutate(input);
      expect(c.count('message.created', retried.id)).toBe(1);
    });

    it('does not broadcast again after a node died between publishing and recording it', async () => {
      await using c = await cluster();
      const input = { roomId: c.roomId, clientMsgId: 'died-after', text: 'hello' };
      const struck = c.failNext('message.created', 'hangAfter');
      c.abandonOnA(c.annA.chat.send.mutate(input));
      // Node A published and hangs before recording it. (Waiting on the count of published
      // events raced: Bob's join counted, so node B could send first and A's call got answered.)
      await struck;
      const [stored] = await c.annB.chat.history.query({ roomId: c.roomId });
      expect(c.count('message.created', stored!.id)).toBe(1);
      // Node B takes over once node A's claim has lapsed, and finds the event in the log.
      const retried = await c.annB.chat.send.mutate(input);
      expect(c.count('message.created', retried.id)).toBe(1);
      expect(await announcedInLog(c.broker, c.roomId, 'message.created', retried.id)).toBe(1);
    });

    it('broadcasts a send once after the node that claimed it died before publishing', async () => {
      await using c = await cluster();
      const input = { roomId: c.roomId, clientMsgId: 'died-before', text: 'hello' };
      const struck = c.failNext('message.created', 'hangBefore');
      c.abandonOnA(c.annA.chat.send.mutate(input));
      // Node A holds the claim and hangs before publishing (not merely stored the message: B
      // could then claim first, and A's call would be answered).
      await struck;
      expect(await c.annB.chat.history.query({ roomId: c.roomId })).toHaveLength(1);
      const retried = await c.annB.chat.send.mutate(input);
      expect(c.count('message.created', retried.id)).toBe(1);
    });

    it('announces 20 overlapping starts of one stream once, and its end once', async () => {
      await using c = await cluster();
      const input = { roomId: c.roomId, clientMsgId: 'reply' };
      const started = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? c.annA : c.annB).chat.startStream.mutate(input),
        ),
      );
      const id = started[0]!.id;
      expect(new Set(started.map((m) => m.id)).size).toBe(1);
      expect(c.count('message.created', id)).toBe(1);
      await c.annA.chat.appendStream.mutate({ messageId: id, seq: 0, text: 'hi' });
      const finished = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? c.annA : c.annB).chat.finishStream.mutate({ messageId: id }),
        ),
      );
      expect(finished.map((m) => m.stream?.state)).toEqual(Array(20).fill('done'));
      expect(c.count('message.streamEnded', id)).toBe(1);
    });

    it("announces a stream's end on retry when its first publish did not go out, once", async () => {
      await using c = await cluster();
      const stream = await c.annA.chat.startStream.mutate({ roomId: c.roomId, clientMsgId: 's' });
      c.failNext('message.streamEnded', 'before');
      await failure(c.annA.chat.finishStream.mutate({ messageId: stream.id }));
      await c.annA.chat.finishStream.mutate({ messageId: stream.id });
      await c.annB.chat.cancelStream.mutate({ messageId: stream.id });
      expect(c.count('message.streamEnded', stream.id)).toBe(1);
    });

    it('announces 20 overlapping deletes of a message once', async () => {
      await using c = await cluster();
      const message = await c.annA.chat.send.mutate({
        roomId: c.roomId,
        clientMsgId: 'd1',
        text: 'x',
      });
      const deleted = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? c.annA : c.annB).chat.delete.mutate({ messageId: message.id }),
        ),
      );
      expect(deleted.every((m: Message) => m.deletedAt !== null)).toBe(true);
      expect(c.count('message.deleted', message.id)).toBe(1);
    });

    it('announces a delete on retry when its first publish did not go out, once', async () => {
      await using c = await cluster();
      const message = await c.annA.chat.send.mutate({
        roomId: c.roomId,
        clientMsgId: 'd2',
        text: 'x',
      });
      c.failNext('message.deleted', 'before');
      await failure(c.annA.chat.delete.mutate({ messageId: message.id }));
      await c.annA.chat.delete.mutate({ messageId: message.id });
      await c.annB.chat.delete.mutate({ messageId: message.id });
      expect(c.count('message.deleted', message.id)).toBe(1);
    });
  });
}
