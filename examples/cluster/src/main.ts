/**
 * Starts a local Duplex cluster: a redis-server of its own (AOF on, data in `.data/cluster`)
 * and NODES (default 3) chat nodes on ports BASE_PORT, BASE_PORT+1, … (default 3001), all on one
 * PostgreSQL (DATABASE_URL, schema `duplex_cluster`). Ctrl+C stops everything.
 * REDIS_URL uses an existing Redis instead of starting one.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { redisServerPath, startTestRedis, type TestRedis } from '@duplex/redis/testing';
import { createPostgresDatabase } from '@duplex/sql';
import { type ClusterNode, startClusterNode } from './clusterNode';

const nodeCount = Number(process.env.NODES ?? 3);
const basePort = Number(process.env.BASE_PORT ?? 3001);
const host = process.env.HOST ?? '127.0.0.1';
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const pgSchema = process.env.PG_SCHEMA ?? 'duplex_cluster';
const dataDir = process.env.DUPLEX_DATA_DIR ?? '.data/cluster';

function fail(message: string): never {
  console.error(`\n${message}\n`);
  process.exit(1);
}

if (!process.env.REDIS_URL && spawnSync(redisServerPath, ['--version']).status !== 0) {
  fail(
    [
      `The cluster needs redis-server, and "${redisServerPath}" was not found.`,
      'Install it, then run this again:',
      '  Debian/Ubuntu: sudo apt-get install redis-server',
      '  macOS:         brew install redis',
      'Or point REDIS_URL at a Redis you already run (e.g. REDIS_URL=redis://127.0.0.1:6379).',
    ].join('\n'),
  );
}

try {
  const db = await createPostgresDatabase({ connectionString: databaseUrl, maxConnections: 1 });
  await db.close();
} catch (error) {
  fail(
    [
      `The nodes share their chat storage in PostgreSQL, and ${databaseUrl} is unreachable:`,
      `  ${(error as Error).message}`,
      'Start PostgreSQL, or set DATABASE_URL to one you can reach (nodes use the schema',
      `"${pgSchema}" in it).`,
    ].join('\n'),
  );
}

// One operator token for every node (each node's own env, see node.ts): the dashboard on any
// node shows them all.
const adminToken = process.env.DUPLEX_ADMIN_TOKEN ?? randomBytes(24).toString('base64url');
process.env.DUPLEX_ADMIN_TOKEN = adminToken;

let redis: TestRedis | null = null;
const nodes: ClusterNode[] = [];
let stopping = false;

const shutdown = async (code = 0) => {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping the nodes…');
  await Promise.all(nodes.map((n) => n.stop('SIGTERM')));
  if (redis) await redis.stop('SIGTERM');
  process.exit(code);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());

try {
  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    redis = await startTestRedis({ dataDir: `${dataDir}/redis`, appendOnly: true });
    redisUrl = redis.url;
  }
  const start = (i: number) =>
    startClusterNode({
      name: `node ${i + 1}`,
      redisUrl: redisUrl!,
      databaseUrl,
      pgSchema,
      port: basePort + i,
      host,
      onLog: (line) => console.error(line),
    });
  // The first node migrates the schema and creates the lobby; the others start together after.
  nodes.push(await start(0));
  nodes.push(...(await Promise.all(Array.from({ length: nodeCount - 1 }, (_, i) => start(i + 1)))));
  for (const node of nodes) {
    node.process.once('exit', (code, signal) => {
      if (!stopping) console.error(`${node.name} (${node.url}) exited (${code ?? signal})`);
    });
  }
  console.log(`\nDuplex cluster: ${nodes.length} nodes on Redis ${redisUrl}`);
  console.log(`and PostgreSQL ${databaseUrl} (schema ${pgSchema}).\n`);
  for (const node of nodes) console.log(`  ${node.name}: ${node.url}`);
  console.log(
    `\nOperator dashboard (every node, from any of them): ${nodes[0]!.url}/admin/\n  token: ${adminToken}`,
  );
  console.log(
    `\nOpen two tabs on two nodes and chat; messages cross nodes through Redis.\nCtrl+C stops everything.`,
  );
  process.stdout.write('{"ready":true}\n');
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  await shutdown(1);
}
