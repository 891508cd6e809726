/**
 * Uploads and everyone else (issue 17 item 7): one user uploads 5 MiB images back to back over
 * HTTP while another user makes round trips over the WebSocket (a `ping` that touches nothing,
 * and `chat.history`, which reads the database). Prints the other user's p50/p99 with no upload
 * running and during the uploads, and the uploads stored per second, for each place the bytes
 * can go: PGlite's table (the old way), files beside PGlite (the default of `npm start`), and
 * PostgreSQL's table (when a server is reachable, see `@duplex/sql/testing`). The upload rate
 * limit is lifted, so storage alone is measured; a last row keeps the default limits.
 * Run: npm run bench:uploads  (UPLOAD_BENCH_SECONDS=10 by default; UPLOAD_BENCH_ONLY=files runs
 * the setups whose name contains it)
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import {
  type ChatLimits,
  createChatAttachmentRoute,
  createChatRouter,
  createFileBlobStore,
  createSqlChatStore,
} from '@duplex/chat';
import { createDuplexClient } from '@duplex/client';
import { createDuplexServer, createMemoryBroker, initDuplex } from '@duplex/server';
import { createPgliteDatabase, type SqlDatabase } from '@duplex/sql';
import { dropTestSchema, sqlTestBackends } from '@duplex/sql/testing';

const imageBytes = 5 * 1024 * 1024;
const seconds = Number(process.env.UPLOAD_BENCH_SECONDS ?? 10);
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;

/**
 * The uploader: posts a 5 MiB "PNG" (the signature, then random bytes: incompressible, like a
 * photo) back to back, printing `ready`, then each answer's status; waits out a 429's
 * `Retry-After` (at most 1 s).
 */
const uploaderScript = `
  import { randomBytes } from 'node:crypto';
  const image = randomBytes(${imageBytes});
  image.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  console.log('ready');
  for (;;) {
    const res = await fetch(process.argv[1] + '/chat/attachments', {
      method: 'POST',
      headers: { authorization: 'Bearer uploader', 'content-type': 'image/png' },
      body: image,
    });
    await res.arrayBuffer();
    console.log(res.status);
    if (res.status === 429) {
      const wait = Number(res.headers.get('retry-after') ?? 1) * 1000;
      await new Promise((r) => setTimeout(r, Math.min(wait, 1000)));
    }
  }
`;

const unlimited: Partial<ChatLimits> = {
  uploadsPerMinute: 1e9,
  uploadBurst: 1e9,
  uploadBytesPerMinute: 1e15,
  uploadBurstBytes: 1e15,
  attachmentQuotaBytes: 1e15,
};

interface Setup {
  name: string;
  db: (dataDir: string) => Promise<SqlDatabase>;
  files: boolean;
  limits: Partial<ChatLimits>;
}

async function run(setup: Setup) {
  const dataDir = await mkdtemp(join(tmpdir(), 'duplex-uploads-bench-'));
  const db = await setup.db(dataDir);
  const store = await createSqlChatStore(
    db,
    setup.files ? { blobs: createFileBlobStore({ dir: join(dataDir, 'blobs') }) } : {},
  );
  const duplex = initDuplex<{ id: string; name: string }>();
  const broker = createMemoryBroker();
  const router = duplex.router({
    chat: createChatRouter(duplex, {
      store,
      broker,
      limits: { sendsPerSecond: 1e6, sendBurst: 1e6 },
    }),
    ping: duplex.procedure.query(() => 'pong'),
  });
  const server = createDuplexServer({
    router,
    broker,
    authenticate: ({ connectionParams, req }) => {
      const id = connectionParams?.token ?? req.headers.authorization?.replace(/^Bearer /, '');
      return id ? { user: { id, name: id } } : null;
    },
    routes: [createChatAttachmentRoute({ store, limits: setup.limits })],
    limits: { callsPerSecond: 1e6, burstCalls: 1e6 },
  });
  const { port } = await server.listen(0);
  const other = createDuplexClient<typeof router>({
    url: `ws://127.0.0.1:${port}/trpc`,
    token: 'other',
  });
  const room = await other.chat.createRoom.mutate({ name: 'bench', visibility: 'public' });
  for (let i = 0; i < 50; i++) {
    await other.chat.send.mutate({ roomId: room.id, clientMsgId: `m${i}`, text: `hello ${i}` });
  }

  /** Two independent loops, so a slow `history` never hides a slow `ping` (or the reverse). */
  const roundTrips = async (ms: number) => {
    const until = performance.now() + ms;
    const loop = async (call: () => Promise<unknown>) => {
      const times: number[] = [];
      while (performance.now() < until) {
        const t = performance.now();
        await call();
        times.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 5));
      }
      return times.sort((a, b) => a - b);
    };
    const [ping, history] = await Promise.all([
      loop(() => other.ping.query()),
      loop(() => other.chat.history.query({ roomId: room.id, limit: 20 })),
    ]);
    return { ping, history };
  };

  const idleLoop = monitorEventLoopDelay({ resolution: 5 });
  idleLoop.enable();
  const idle = await roundTrips(3_000);
  idleLoop.disable();
  // The uploader is another process, as an attacker would be: its own fetch and buffers must
  // not count against the server's event loop.
  const uploader = spawn(
    process.execPath,
    ['--input-type=module', '-e', uploaderScript, `http://127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  uploader.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const exited = new Promise<void>((resolve, reject) => {
    uploader.on('error', reject);
    uploader.on('exit', () => resolve());
  });
  await new Promise<void>((resolve) => {
    uploader.stdout.once('data', () => resolve());
  });
  const started = performance.now();
  const busyLoop = monitorEventLoopDelay({ resolution: 5 });
  busyLoop.enable();
  const busy = await roundTrips(seconds * 1000);
  busyLoop.disable();
  const elapsed = (performance.now() - started) / 1000;
  uploader.kill('SIGTERM');
  await exited;
  const statuses = new Map<string, number>();
  for (const line of output.split('\n').slice(1)) {
    if (line) statuses.set(line, (statuses.get(line) ?? 0) + 1);
  }
  const uploads = statuses.get('201') ?? 0;
  await other.$close();
  await server.close({ drainTimeoutMs: 0 });
  if (db.kind === 'postgres') await dropTestSchema(db);
  await db.close();
  await rm(dataDir, { recursive: true, force: true });

  const fmt = (xs: number[]) =>
    `${percentile(xs, 0.5).toFixed(1)} / ${percentile(xs, 0.99).toFixed(1)}`;
  const stall = (h: IntervalHistogram) => (h.max / 1e6).toFixed(0);
  return `| ${setup.name} | ${fmt(idle.ping)} | ${fmt(busy.ping)} | ${fmt(idle.history)} | ${fmt(busy.history)} | ${stall(idleLoop)} / ${stall(busyLoop)} | ${(uploads / elapsed).toFixed(2)} | ${JSON.stringify(Object.fromEntries(statuses))} |`;
}

const pglite = (dataDir: string) => createPgliteDatabase({ dataDir: join(dataDir, 'db') });
const setups: Setup[] = [
  { name: 'PGlite, bytes in the table', db: pglite, files: false, limits: unlimited },
  { name: 'PGlite, files (npm start)', db: pglite, files: true, limits: unlimited },
];
const postgres = (await sqlTestBackends()).find((b) => b.name === 'postgres');
if (postgres?.available) {
  setups.push({
    name: 'PostgreSQL, bytes in the table',
    db: () => postgres.create(),
    files: false,
    limits: unlimited,
  });
}
setups.push({ name: 'PGlite, files, default limits', db: pglite, files: true, limits: {} });

console.log(
  `Uploads: one user posts 5 MiB images back to back for ${seconds} s; another user's round trips`,
);
console.log(
  '| storage | ping p50 / p99 ms, idle | during uploads | chat.history p50 / p99 ms, idle | during uploads | longest event-loop stall ms, idle / during | uploads/s | answers |',
);
console.log('|---|---|---|---|---|---|---|---|');
const only = process.env.UPLOAD_BENCH_ONLY;
for (const setup of setups) {
  if (!only || setup.name.includes(only)) console.log(await run(setup));
}
