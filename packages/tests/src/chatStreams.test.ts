import type { ChatEvent, Message } from '@duplex/chat';
import { type DuplexClient, DuplexClientError, idempotent, isGap } from '@duplex/client';
import { describe, expect, it, vi } from 'vitest';
import { type ChatApp, startChatServer } from './chatFixtures';
import { deferred, sleep } from './helpers';

type Client = DuplexClient<ChatApp>;

/**
 * A room watcher that rebuilds streamed messages the way an app does: a message as created,
 * then each delta whose `seq` is not in it yet, then the final message.
 */
async function watchStreams(client: Client, roomId: string) {
  const messages = new Map<string, Message>();
  const appliedSeqs = new Map<string, number[]>();
  const events: ChatEvent[] = [];
  const started = deferred();
  const subscription = client.chat.onEvent.subscribe(
    { roomId },
    {
      onStarted: () => started.resolve(),
      onData: ({ data }) => {
        if (isGap(data)) throw new Error('unexpected gap');
        events.push(data);
        if (data.type === 'message.created' || data.type === 'message.streamEnded') {
          messages.set(data.message.id, data.message);
        } else if (data.type === 'message.delta') {
          const message = messages.get(data.messageId);
          if (!message?.stream || data.seq < message.stream.chunks) return;
          expect(data.seq).toBe(message.stream.chunks);
          messages.set(message.id, {
            ...message,
            text: (message.text ?? '') + data.text,
            stream: { ...message.stream, chunks: data.seq + 1 },
          });
          appliedSeqs.set(message.id, [...(appliedSeqs.get(message.id) ?? []), data.seq]);
        }
      },
    },
  );
  await started.promise;
  return { messages, appliedSeqs, events, subscription };
}

async function roomWith(app: Awaited<ReturnType<typeof startChatServer>>, ...users: string[]) {
  const [owner, ...others] = users.map((u) => app.client(u));
  const room = await owner!.chat.createRoom.mutate({ name: 'Ask', visibility: 'public' });
  for (const c of others) await c.chat.joinRoom.mutate({ roomId: room.id });
  return { roomId: room.id, clients: [owner!, ...others] };
}

const ask = (client: Client, roomId: string, text: string) =>
  client.chat.send.mutate({ roomId, clientMsgId: crypto.randomUUID(), text }, idempotent);

const errorOf = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DuplexClientError);
  return { code: (error as DuplexClientError).code, message: (error as Error).message };
};

describe('streamed messages', () => {
  it('delivers deltas in order; history and late joiners see the text so far', async () => {
    await using app = await startChatServer();
    const {
      roomId,
      clients: [ann, bot, late],
    } = await roomWith(app, 'ann', 'bot', 'late');
    const watcher = await watchStreams(ann!, roomId);
    const question = await ask(ann!, roomId, 'What is Duplex?');
    const reply = await bot!.chat.startStream.mutate({
      roomId,
      clientMsgId: `reply:${question.id}`,
      replyTo: question.id,
    });
    expect(reply).toMatchObject({ text: '', stream: { state: 'streaming', chunks: 0 } });
    const chunks = ['Duplex ', 'is a ', 'typed ', 'realtime ', 'framework.'];
    for (const [seq, text] of chunks.slice(0, 3).entries())
      await bot!.chat.appendStream.mutate({ messageId: reply.id, seq, text }, idempotent);

    const [partial] = await late!.chat.history.query({ roomId, limit: 1 });
    expect(partial).toMatchObject({
      text: 'Duplex is a typed ',
      stream: { state: 'streaming', chunks: 3 },
    });
    for (const [seq, text] of chunks.entries())
      expect(
        await bot!.chat.appendStream.mutate({ messageId: reply.id, seq, text }, idempotent),
      ).toEqual({ chunks: Math.max(seq + 1, 3) });
    const done = await bot!.chat.finishStream.mutate({ messageId: reply.id });
    expect(done).toMatchObject({
      text: chunks.join(''),
      stream: { state: 'done', chunks: 5 },
    });
    await vi.waitFor(() => expect(watcher.messages.get(reply.id)?.stream?.state).toBe('done'));
    expect(watcher.messages.get(reply.id)?.text).toBe(chunks.join(''));
    expect(watcher.appliedSeqs.get(reply.id)).toEqual([0, 1, 2, 3, 4]);
    // Retried chunks were answered, not broadcast again.
    expect(watcher.events.filter((e) => e.type === 'message.delta')).toHaveLength(5);
    // The final state is final.
    expect(
      (await errorOf(bot!.chat.appendStream.mutate({ messageId: reply.id, seq: 5, text: 'x' })))
        .message,
    ).toBe('The stream has ended: done');
  });

  it('rebuilds the exact text across a server restart mid-stream', async () => {
    await using app = await startChatServer({
      limits: { chunksPerSecond: 1_000, chunkBurst: 1_000 },
    });
    const {
      roomId,
      clients: [ann, bot],
    } = await roomWith(app, 'ann', 'bot');
    const watcher = await watchStreams(ann!, roomId);
    const reply = await bot!.chat.startStream.mutate({ roomId, clientMsgId: 'r1' });
    const expected: string[] = [];
    for (let seq = 0; seq < 120; seq++) {
      if (seq === 40) void app.restart();
      const text = `w${seq} `;
      expected.push(text);
      await bot!.chat.appendStream.mutate({ messageId: reply.id, seq, text }, idempotent);
    }
    await bot!.chat.finishStream.mutate({ messageId: reply.id }, idempotent);
    await vi.waitFor(() => expect(watcher.messages.get(reply.id)?.stream?.state).toBe('done'), {
      timeout: 10_000,
    });
    expect(watcher.messages.get(reply.id)?.text).toBe(expected.join(''));
    expect(watcher.appliedSeqs.get(reply.id)).toEqual(expected.map((_, i) => i));
  });

  it('lets the asker cancel; the producer learns it from the room and from its next chunk', async () => {
    await using app = await startChatServer();
    const {
      roomId,
      clients: [ann, bot, eve],
    } = await roomWith(app, 'ann', 'bot', 'eve');
    const question = await ask(ann!, roomId, 'Tell me everything');
    const reply = await bot!.chat.startStream.mutate({
      roomId,
      clientMsgId: 'r1',
      replyTo: question.id,
    });
    // The producer's abort signal, fed by the room's stream.
    const producer = new AbortController();
    const botView = await watchStreams(bot!, roomId);
    const stopWatching = setInterval(() => {
      if (botView.messages.get(reply.id)?.stream?.state === 'cancelled') producer.abort();
    }, 10);
    await bot!.chat.appendStream.mutate({ messageId: reply.id, seq: 0, text: 'Once upon' });

    expect((await errorOf(eve!.chat.cancelStream.mutate({ messageId: reply.id }))).code).toBe(
      'FORBIDDEN',
    );
    const cancelled = await ann!.chat.cancelStream.mutate({ messageId: reply.id });
    expect(cancelled).toMatchObject({ text: 'Once upon', stream: { state: 'cancelled' } });
    await vi.waitFor(() => expect(producer.signal.aborted).toBe(true));
    clearInterval(stopWatching);
    expect(botView.events.find((e) => e.type === 'message.streamEnded')).toMatchObject({
      endedBy: 'ann',
    });
    expect(
      await errorOf(
        bot!.chat.appendStream.mutate({ messageId: reply.id, seq: 1, text: ' a time' }),
      ),
    ).toEqual({ code: 'CONFLICT', message: 'The stream has ended: cancelled' });
    // Cancelling again changes nothing.
    expect(await ann!.chat.cancelStream.mutate({ messageId: reply.id })).toMatchObject({
      stream: { state: 'cancelled' },
    });
  });

  it('ends a stream whose producer went silent as interrupted', async () => {
    await using app = await startChatServer({ limits: { streamIdleTimeoutMs: 300 } });
    const {
      roomId,
      clients: [ann, bot],
    } = await roomWith(app, 'ann', 'bot');
    const watcher = await watchStreams(ann!, roomId);
    const reply = await bot!.chat.startStream.mutate({ roomId, clientMsgId: 'r1' });
    await bot!.chat.appendStream.mutate({ messageId: reply.id, seq: 0, text: 'Thinking' });
    await bot!.$close();
    await vi.waitFor(() =>
      expect(watcher.messages.get(reply.id)?.stream?.state).toBe('interrupted'),
    );
    expect(watcher.messages.get(reply.id)?.text).toBe('Thinking');
    const ended = watcher.events.find((e) => e.type === 'message.streamEnded');
    expect(ended).toMatchObject({ endedBy: null });
  });

  it('answers each limit and misuse with a clear error', async () => {
    await using app = await startChatServer({
      // Refused attempts spend tokens too: the burst covers the two refusals and a, b, c.
      limits: {
        maxStreamTextLength: 10,
        chunksPerSecond: 2,
        chunkBurst: 5,
        maxStreamDurationMs: 400,
      },
    });
    const {
      roomId,
      clients: [ann, bot],
    } = await roomWith(app, 'ann', 'bot');
    const reply = await bot!.chat.startStream.mutate({ roomId, clientMsgId: 'r1' });
    const append = (seq: number, text: string, client = bot!) =>
      client.chat.appendStream.mutate({ messageId: reply.id, seq, text });

    expect(await errorOf(append(0, 'hi', ann))).toEqual({
      code: 'FORBIDDEN',
      message: 'Only the producer can append',
    });
    expect(await errorOf(append(1, 'hi'))).toEqual({
      code: 'CONFLICT',
      message: 'Chunk 0 comes first',
    });
    expect(await errorOf(append(0, 'x'.repeat(11)))).toEqual({
      code: 'BAD_REQUEST',
      message: 'Message too long: at most 10 characters',
    });
    await append(0, 'a');
    await append(1, 'b');
    await append(2, 'c');
    expect(await errorOf(append(3, 'd'))).toEqual({
      code: 'RATE_LIMITED',
      message: 'Too many chunks: at most 2 per second per stream',
    });
    // The refused chunk went into debt: wait until the bucket holds a token again.
    await sleep(1_200);
    expect(await errorOf(append(3, 'd'))).toEqual({
      code: 'CONFLICT',
      message: 'The stream has ended: interrupted',
    });
    const message = (await ann!.chat.history.query({ roomId, limit: 1 }))[0];
    expect(message).toMatchObject({ text: 'abc', stream: { state: 'interrupted' } });

    const plain = await ask(ann!, roomId, 'not a stream');
    expect(
      await errorOf(ann!.chat.appendStream.mutate({ messageId: plain.id, seq: 0, text: 'x' })),
    ).toEqual({ code: 'BAD_REQUEST', message: 'Not a streamed message' });
    expect(
      (await errorOf(ann!.chat.edit.mutate({ messageId: reply.id, text: 'rewrite' }))).code,
    ).toBe('FORBIDDEN');
  });
});
