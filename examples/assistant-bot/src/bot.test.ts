import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChatEvent, Message } from '@duplex/chat';
import { createDuplexClient, DuplexClientError, idempotent, isGap } from '@duplex/client';
import { createChatApp } from '@duplex/example-chat/app';
import type { AppRouter } from '@duplex/example-chat/router';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startAssistantBot } from './bot';
import { type Brain, chunksOf, createDocsBrain } from './brain';
import { layoutReply } from './replyParts';

const docsDir = fileURLToPath(new URL('../../../docs', import.meta.url));
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The chat app on a PGlite directory that survives `restart()` on the same port. */
async function startServer() {
  const dataDir = await mkdtemp(join(tmpdir(), 'duplex-bot-'));
  let app = await createChatApp({ dataDir, staticDir: null });
  const { port } = await app.server.listen(0, '127.0.0.1');
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  cleanups.push(() => app.close());
  return {
    url: `ws://127.0.0.1:${port}/trpc`,
    dataDir,
    async restart() {
      await app.close();
      app = await createChatApp({ dataDir, staticDir: null });
      await app.server.listen(port, '127.0.0.1');
    },
  };
}

/** A brain that records whether its signal was aborted. */
function recording(brain: Brain) {
  const signals: AbortSignal[] = [];
  const wrapped: Brain = (question, signal) => {
    signals.push(signal);
    return brain(question, signal);
  };
  return { brain: wrapped, aborted: () => signals.some((s) => s.aborted) };
}

/** What the docs brain answers, read from the docs as they are when the test starts. */
function answerKey() {
  const brain = createDocsBrain({ docsDir, chunkDelayMs: 0 });
  return async (question: string) => {
    let text = '';
    for await (const chunk of brain(question, new AbortController().signal)) text += chunk;
    return text;
  };
}

/** A user in General who rebuilds streamed replies from events, as the web app does. */
async function startUser(url: string, name: string) {
  const client = createDuplexClient<AppRouter>({
    url,
    token: name,
    reconnect: { delayMs: () => 20 },
  });
  cleanups.push(() => client.$close());
  await client.chat.joinRoom.mutate({ roomId: 'general' });
  const messages = new Map<string, Message>();
  const seqs = new Map<string, number[]>();
  const deltaTimes: number[] = [];
  const apply = (event: ChatEvent) => {
    if (event.type === 'message.created' || event.type === 'message.streamEnded')
      messages.set(event.message.id, event.message);
    if (event.type !== 'message.delta') return;
    const m = messages.get(event.messageId);
    if (!m?.stream || event.seq !== m.stream.chunks) return;
    deltaTimes.push(performance.now());
    messages.set(m.id, {
      ...m,
      text: (m.text ?? '') + event.text,
      stream: { ...m.stream, chunks: event.seq + 1 },
    });
    seqs.set(m.id, [...(seqs.get(m.id) ?? []), event.seq]);
  };
  let started = false;
  client.chat.onEvent.subscribe(
    { roomId: 'general' },
    {
      onStarted: () => {
        started = true;
      },
      onData: ({ data }) => {
        if (!isGap(data)) return apply(data);
        // After a gap (the server restarted with an empty broker): the page again, merged.
        void client.chat.history
          .query({ roomId: 'general', limit: 50 })
          .then((page) => {
            for (const m of page) {
              const known = messages.get(m.id);
              if (!known?.stream || (m.stream?.chunks ?? 0) >= known.stream.chunks)
                messages.set(m.id, m);
            }
          })
          .catch((error: unknown) => {
            // The test ended (its client closed) with the page still on its way: nothing to
            // merge into. Anything else stays an unhandled rejection, which fails the run.
            if (error instanceof DuplexClientError && error.code === 'CLOSED') return;
            throw error;
          });
      },
    },
  );
  await vi.waitFor(() => expect(started).toBe(true));
  const ask = (text: string) =>
    client.chat.send.mutate(
      { roomId: 'general', clientMsgId: crypto.randomUUID(), text },
      idempotent,
    );
  const replyTo = (questionId: string) =>
    [...messages.values()].filter((m) => m.replyTo === questionId);
  return { client, messages, seqs, deltaTimes, ask, replyTo };
}

/** A brain that streams `text` in the docs brain's chunks, pausing `delayMs` before each. */
function scripted(text: string, delayMs: number): Brain {
  return async function* (_question, signal) {
    for (const chunk of chunksOf(text, 3)) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      signal.throwIfAborted();
      yield chunk;
    }
  };
}

/** Eight paragraphs of about 120 characters, and a code block. */
const longReply = [
  ...Array.from({ length: 4 }, (_, p) =>
    Array.from({ length: 20 }, (_, w) => `para${p}word${w}`).join(' '),
  ),
  '```ts\nconst a = 1;\n\nconst b = 2;\n```',
  ...Array.from({ length: 4 }, (_, p) =>
    Array.from({ length: 20 }, (_, w) => `more${p}word${w}`).join(' '),
  ),
].join('\n\n');

describe('assistant bot', () => {
  it('answers a question addressed to it, streamed in order, once', async () => {
    const server = await startServer();
    const expectedReply = answerKey();
    const bot = await startAssistantBot({
      url: server.url,
      brain: createDocsBrain({ docsDir, chunkDelayMs: 10 }),
    });
    cleanups.push(() => bot.close());
    const ada = await startUser(server.url, 'Ada');
    await ada.ask('just chatting, not for the bot');
    const question = 'how does reconnection work?';
    const sentAt = performance.now();
    const asked = await ada.ask(`@bot ${question}`);
    await vi.waitFor(() => expect(ada.replyTo(asked.id)[0]?.stream?.state).toBe('done'), {
      timeout: 15_000,
    });
    const [reply] = ada.replyTo(asked.id);
    expect(reply!.authorName).toBe('Duplex Bot');
    expect(reply!.text).toBe(await expectedReply(question));
    expect(reply!.text).toContain('reconnection.md');
    const chunks = ada.seqs.get(reply!.id)!;
    expect(chunks).toEqual(chunks.map((_, i) => i));
    const first = ada.deltaTimes[0]! - sentAt;
    const rate = (chunks.length - 1) / ((ada.deltaTimes.at(-1)! - ada.deltaTimes[0]!) / 1000);
    console.log(
      `[measure] assistant reply: ${chunks.length} chunks, first chunk after ${first.toFixed(0)} ms, ${rate.toFixed(0)} chunks/s (brain pauses 10 ms per chunk)`,
    );
    // Only the addressed message got a reply.
    expect([...ada.messages.values()].filter((m) => m.stream)).toHaveLength(1);
  });

  it('finishes a reply across a server restart with the exact text, answering once', async () => {
    const server = await startServer();
    const expectedReply = answerKey();
    const bot = await startAssistantBot({
      url: server.url,
      brain: createDocsBrain({ docsDir, chunkDelayMs: 25 }),
      reconnectDelayMs: () => 20,
    });
    cleanups.push(() => bot.close());
    const ada = await startUser(server.url, 'Ada');
    const question = 'what are the limits and their defaults?';
    const asked = await ada.ask(`@Duplex_Bot ${question}`);
    await vi.waitFor(() => expect(ada.deltaTimes.length).toBeGreaterThanOrEqual(3));
    await server.restart();
    await vi.waitFor(() => expect(ada.replyTo(asked.id)[0]?.stream?.state).toBe('done'), {
      timeout: 20_000,
    });
    const expected = await expectedReply(question);
    expect(ada.replyTo(asked.id)[0]!.text).toBe(expected);
    const stored = await ada.client.chat.history.query({ roomId: 'general', limit: 10 });
    expect(stored.filter((m) => m.replyTo === asked.id).map((m) => m.text)).toEqual([expected]);

    const again = await ada.ask('@bot how do I mount the chat module?');
    await vi.waitFor(() => expect(ada.replyTo(again.id)[0]?.stream?.state).toBe('done'), {
      timeout: 15_000,
    });
    expect(bot.answered).toBe(2);
  });

  it('stops producing when the asker cancels', async () => {
    const server = await startServer();
    const { brain, aborted } = recording(createDocsBrain({ docsDir, chunkDelayMs: 60 }));
    const bot = await startAssistantBot({ url: server.url, brain });
    cleanups.push(() => bot.close());
    const ada = await startUser(server.url, 'Ada');
    const asked = await ada.ask('@bot explain the delivery contract');
    await vi.waitFor(() => expect(ada.deltaTimes.length).toBeGreaterThanOrEqual(2));
    const reply = ada.replyTo(asked.id)[0]!;
    await ada.client.chat.cancelStream.mutate({ messageId: reply.id });
    await vi.waitFor(() => expect(aborted()).toBe(true));
    await vi.waitFor(() => expect(ada.replyTo(asked.id)[0]?.stream?.state).toBe('cancelled'));
    const chunksAtCancel = ada.replyTo(asked.id)[0]!.stream!.chunks;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ada.replyTo(asked.id)[0]!.stream!.chunks).toBe(chunksAtCancel);
  });

  it('after its own restart answers what it missed, and nothing twice', async () => {
    const server = await startServer();
    const stateFile = join(server.dataDir, 'bot-state.json');
    const options = {
      url: server.url,
      brain: createDocsBrain({ docsDir, chunkDelayMs: 0 }),
      stateFile,
    };
    const first = await startAssistantBot(options);
    const ada = await startUser(server.url, 'Ada');
    const q1 = await ada.ask('@bot what is a gap?');
    // A reply of a few hundred chunks takes seconds: the server's chunk rate is 50/s per stream.
    const replyTime = { timeout: 15_000 };
    await vi.waitFor(() => expect(ada.replyTo(q1.id)[0]?.stream?.state).toBe('done'), replyTime);
    await first.close();

    const q2 = await ada.ask('@bot how do tokens refresh?');
    const second = await startAssistantBot(options);
    cleanups.push(() => second.close());
    await vi.waitFor(() => expect(ada.replyTo(q2.id)[0]?.stream?.state).toBe('done'), replyTime);
    expect(second.answered).toBe(1);
    expect(ada.replyTo(q1.id)).toHaveLength(1);
  });

  it('goes on in further messages past the message limit, between paragraphs, cutting nothing', async () => {
    const server = await startServer();
    const maxMessageChars = 400;
    const expected = layoutReply(chunksOf(longReply, 3), maxMessageChars).map((m) => m.join(''));
    expect(expected.length).toBeGreaterThanOrEqual(3);
    const bot = await startAssistantBot({
      url: server.url,
      brain: scripted(longReply, 0),
      maxMessageChars,
    });
    cleanups.push(() => bot.close());
    const ada = await startUser(server.url, 'Ada');
    const asked = await ada.ask('@bot tell me everything');
    await vi.waitFor(
      () => {
        const replies = ada.replyTo(asked.id);
        expect(replies.map((m) => m.stream?.state)).toEqual(expected.map(() => 'done'));
      },
      { timeout: 15_000 },
    );
    const texts = ada.replyTo(asked.id).map((m) => m.text);
    expect(texts).toEqual(expected);
    expect(texts.join('')).toBe(longReply);
    // Every message but the last ends a paragraph: none stops inside a word or a code block.
    for (const text of texts.slice(0, -1)) expect(text).toMatch(/\n\n$/);
    expect(bot.answered).toBe(1);
  });

  it('finishes a reply of several messages across a server restart, each message once', async () => {
    const server = await startServer();
    const maxMessageChars = 400;
    const expected = layoutReply(chunksOf(longReply, 3), maxMessageChars).map((m) => m.join(''));
    const bot = await startAssistantBot({
      url: server.url,
      brain: scripted(longReply, 15),
      maxMessageChars,
      reconnectDelayMs: () => 20,
    });
    cleanups.push(() => bot.close());
    const ada = await startUser(server.url, 'Ada');
    const asked = await ada.ask('@bot tell me everything');
    // Restart while the second message streams.
    await vi.waitFor(() => expect(ada.replyTo(asked.id).length).toBeGreaterThanOrEqual(2), {
      timeout: 15_000,
    });
    await server.restart();
    await vi.waitFor(
      async () => {
        const stored = await ada.client.chat.history.query({ roomId: 'general', limit: 20 });
        const replies = stored.filter((m) => m.replyTo === asked.id).reverse();
        expect(replies.map((m) => m.stream?.state)).toEqual(expected.map(() => 'done'));
        expect(replies.map((m) => m.text)).toEqual(expected);
      },
      { timeout: 20_000, interval: 100 },
    );
  });
});
