/**
 * Measures streamed replies end to end on this machine: the chat app (PGlite in memory) and the
 * bot in this process, a user on the typed client asking questions in turn. Reports the time
 * from the question's send to the first chunk on the asker's stream, and chunks per second, for
 * a brain that pauses like a model (20 ms per chunk) and for one that never pauses (the
 * framework's own ceiling, with the chunk and per-connection call rate limits raised).
 *
 * Run: npm run bench:assistant
 */
import { fileURLToPath } from 'node:url';
import type { ChatEvent } from '@duplex/chat';
import { createDuplexClient, idempotent, isGap } from '@duplex/client';
import { createChatApp } from '@duplex/example-chat/app';
import type { AppRouter } from '@duplex/example-chat/router';
import { startAssistantBot } from './bot';
import { createDocsBrain } from './brain';

const docsDir = fileURLToPath(new URL('../../../docs', import.meta.url));
const questions = [
  'how does reconnection work?',
  'what are the limits and their defaults?',
  'how do I mount the chat module?',
  'what is a gap?',
  'how do notifications preferences work?',
  'how do tokens refresh?',
];
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

async function run(label: string, chunkDelayMs: number, rounds: number) {
  const app = await createChatApp({
    dataDir: null,
    staticDir: null,
    // The bot's connection makes one call per chunk: raise the 50 calls/s default.
    limits: { callsPerSecond: 100_000, burstCalls: 100_000 },
    chatLimits: {
      chunksPerSecond: 100_000,
      chunkBurst: 100_000,
      sendsPerSecond: 1_000,
      sendBurst: 1_000,
    },
  });
  const { port } = await app.server.listen(0, '127.0.0.1');
  const url = `ws://127.0.0.1:${port}/trpc`;
  const bot = await startAssistantBot({
    url,
    brain: createDocsBrain({ docsDir, chunkDelayMs, wordsPerChunk: 1 }),
  });
  const user = createDuplexClient<AppRouter>({ url, token: 'Ada' });
  await user.chat.joinRoom.mutate({ roomId: 'general' });

  const firstChunk: number[] = [];
  const rates: number[] = [];
  let current: { questionId: string; sentAt: number; replyId?: string; first?: number } | null =
    null;
  let done: (() => void) | null = null;
  let chunks = 0;
  user.chat.onEvent.subscribe(
    { roomId: 'general' },
    {
      onData: ({ data }) => {
        if (isGap(data) || !current) return;
        const event = data as ChatEvent;
        if (event.type === 'message.created' && event.message.replyTo === current.questionId)
          current.replyId = event.message.id;
        if (event.type === 'message.delta' && event.messageId === current.replyId) {
          chunks++;
          current.first ??= performance.now();
        }
        if (event.type === 'message.streamEnded' && event.message.id === current.replyId) {
          const now = performance.now();
          firstChunk.push(current.first! - current.sentAt);
          rates.push((chunks - 1) / ((now - current.first!) / 1000));
          done?.();
        }
      },
    },
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (let i = 0; i < rounds; i++) {
    chunks = 0;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const sentAt = performance.now();
    const question = await user.chat.send.mutate(
      {
        roomId: 'general',
        clientMsgId: crypto.randomUUID(),
        text: `@bot ${questions[i % questions.length]}`,
      },
      idempotent,
    );
    current = { questionId: question.id, sentAt };
    await finished;
  }
  console.log(
    `| ${label} | ${rounds} | ${percentile(firstChunk, 50).toFixed(1)} | ${percentile(firstChunk, 99).toFixed(1)} | ${percentile(rates, 50).toFixed(0)} |`,
  );
  await user.$close();
  await bot.close();
  await app.close();
}

console.log('| brain | replies | first chunk p50 (ms) | first chunk p99 (ms) | chunks/s p50 |');
console.log('| --- | --- | --- | --- | --- |');
await run('pauses 20 ms per chunk (like a model)', 20, 12);
await run('never pauses (framework ceiling)', 0, 24);
