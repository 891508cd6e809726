/**
 * Chat numbers for docs/chat.md: store sends/s and history page latency on memory, PGlite and
 * PostgreSQL, and end-to-end sends (typed client → server → store → broker → subscriber).
 * Run: npm run bench:chat
 */
import { randomUUID } from 'node:crypto';
import {
  type ChatStore,
  createChatRouter,
  createMemoryChatStore,
  createSqlChatStore,
} from '@duplex/chat';
import { createDuplexClient, idempotent } from '@duplex/client';
import { createDuplexServer, createMemoryBroker, initDuplex } from '@duplex/server';
import { createPgliteDatabase, type SqlDatabase } from '@duplex/sql';
import { dropTestSchema, sqlTestBackends } from '@duplex/sql/testing';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;

async function measureStore(name: string, store: ChatStore) {
  const room = await store.createRoom({
    id: randomUUID(),
    name: 'bench',
    visibility: 'public',
    ownerId: 'u',
    ownerName: 'U',
  });
  const sends = 2_000;
  const one = (i: number) =>
    store.appendMessage({
      roomId: room.id,
      authorId: `u${i % 8}`,
      authorName: 'U',
      clientMsgId: randomUUID(),
      text: `message ${i}`,
      attachmentIds: [],
      replyTo: null,
    });
  let started = performance.now();
  for (let i = 0; i < sends; i++) await one(i);
  const sequential = sends / ((performance.now() - started) / 1000);
  started = performance.now();
  for (let i = 0; i < sends; i += 8)
    await Promise.all(Array.from({ length: 8 }, (_, k) => one(i + k)));
  const concurrent = sends / ((performance.now() - started) / 1000);
  const latencies: number[] = [];
  const newest = await store.history(room.id, { limit: 1 });
  for (let i = 0; i < 200; i++) {
    const before = String(Number(newest[0]!.id) - Math.floor(Math.random() * 3_000));
    const t = performance.now();
    await store.history(room.id, { before, limit: 50 });
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  return {
    backend: name,
    sequential,
    concurrent,
    historyP50: percentile(latencies, 0.5),
    historyP99: percentile(latencies, 0.99),
  };
}

async function measureEndToEnd(store: ChatStore) {
  const duplex = initDuplex<{ id: string; name: string }>();
  const broker = createMemoryBroker();
  const router = duplex.router({
    chat: createChatRouter(duplex, {
      store,
      broker,
      limits: { sendsPerSecond: 1e6, sendBurst: 1e6 },
    }),
  });
  const server = createDuplexServer({
    router,
    broker,
    authenticate: ({ connectionParams }) =>
      connectionParams?.token
        ? { user: { id: connectionParams.token, name: connectionParams.token } }
        : null,
    limits: { callsPerSecond: 1e6, burstCalls: 1e6 },
  });
  const { port } = await server.listen(0);
  const url = `ws://127.0.0.1:${port}/trpc`;
  const sender = createDuplexClient<typeof router>({ url, token: 'sender' });
  const reader = createDuplexClient<typeof router>({ url, token: 'reader' });
  const room = await sender.chat.createRoom.mutate({ name: 'e2e', visibility: 'public' });
  await reader.chat.joinRoom.mutate({ roomId: room.id });
  const total = 1_000;
  let received = 0;
  const done = new Promise<void>((resolve) => {
    reader.chat.onEvent.subscribe(
      { roomId: room.id },
      {
        onData: ({ data }) => {
          if ('type' in data && data.type === 'message.created' && ++received === total) resolve();
        },
      },
    );
  });
  await new Promise((r) => setTimeout(r, 200));
  const started = performance.now();
  for (let i = 0; i < total; i += 16) {
    await Promise.all(
      Array.from({ length: 16 }, (_, k) =>
        sender.chat.send.mutate(
          { roomId: room.id, clientMsgId: randomUUID(), text: `m${i + k}` },
          idempotent,
        ),
      ),
    );
  }
  await done;
  const perSecond = total / ((performance.now() - started) / 1000);
  await sender.$close();
  await reader.$close();
  await server.close({ drainTimeoutMs: 0 });
  return perSecond;
}

const rows: string[] = [];
const dbs: SqlDatabase[] = [];
rows.push(formatRow(await measureStore('memory', createMemoryChatStore())));
for (const backend of await sqlTestBackends()) {
  if (!backend.available) continue;
  const db = await backend.create();
  dbs.push(db);
  rows.push(formatRow(await measureStore(backend.name, await createSqlChatStore(db))));
}
const e2eDb = await createPgliteDatabase();
const e2e = await measureEndToEnd(await createSqlChatStore(e2eDb));
await e2eDb.close();
for (const db of dbs) {
  await dropTestSchema(db);
  await db.close();
}

function formatRow(r: Awaited<ReturnType<typeof measureStore>>) {
  return `| ${r.backend} | ${r.sequential.toFixed(0)} | ${r.concurrent.toFixed(0)} | ${r.historyP50.toFixed(2)} | ${r.historyP99.toFixed(2)} |`;
}
console.log(
  '| store | sends/s, one at a time | sends/s, 8 at a time | history page (50) p50 ms | p99 ms |',
);
console.log('|---|---|---|---|---|');
for (const row of rows) console.log(row);
console.log(
  `\nEnd to end on PGlite (client → server → store → broker → subscriber, 16 in flight): ${e2e.toFixed(0)} sends/s delivered`,
);
