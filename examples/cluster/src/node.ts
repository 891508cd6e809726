/**
 * One Duplex node of the cluster: the web chat (`examples/chat`) on a shared Redis and a shared
 * PostgreSQL. Run by `main.ts` and by the tests, one process per node. Prints one JSON line,
 * `{"ready":true,"url":…}`, once it listens.
 *
 * Env: REDIS_URL, DATABASE_URL, PG_SCHEMA, PORT (0: any free port), HOST, NODE_NAME,
 * DUPLEX_ADMIN_TOKEN (the operator's token, the same on every node: the dashboard at `/admin/`
 * shows every node, whichever serves it), and EXIT_WITH_PARENT=1 to stop when stdin closes.
 */
import { createChatApp } from '@duplex/example-chat/app';
import { createRedisBroker, createRedisPresence } from '@duplex/redis';
import { createPostgresDatabase } from '@duplex/sql';

const name = process.env.NODE_NAME ?? `node-${process.pid}`;
const log = (message: string) => console.error(`[${name}] ${message}`);

const broker = await createRedisBroker({
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  onConnectionChange: ({ state, error }) =>
    log(state === 'lost' ? `Redis connection lost (${error?.message ?? 'closed'})` : 'Redis back'),
});
const db = await createPostgresDatabase({
  connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  schema: process.env.PG_SCHEMA ?? 'duplex_cluster',
});
// Who is online, across every node: a node that dies without saying goodbye drops out after
// its heartbeats expire.
const presence = await createRedisPresence({
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
});
const app = await createChatApp({
  db,
  broker,
  presence,
  ...(process.env.DUPLEX_ADMIN_TOKEN ? { adminToken: process.env.DUPLEX_ADMIN_TOKEN } : {}),
});
const { url, port } = await app.server.listen(
  Number(process.env.PORT ?? 0),
  process.env.HOST ?? '127.0.0.1',
);
process.stdout.write(`${JSON.stringify({ ready: true, name, url, port })}\n`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await app.close();
  await presence.close();
  await broker.close();
  await db.close();
  process.exit(0);
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
// Started by a launcher (main.ts, a test) with a pipe on stdin: when the launcher dies, so do we.
if (process.env.EXIT_WITH_PARENT === '1') {
  process.stdin.on('end', shutdown).on('close', shutdown).resume();
}
