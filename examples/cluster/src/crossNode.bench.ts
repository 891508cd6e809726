/**
 * Cross-node fan-out on the Redis broker: NODES (default 3) Duplex processes on one
 * redis-server, SUBSCRIBERS (default 1000) clients spread evenly over them, one publisher on
 * the first node. Reports publish-to-receive latency (p50/p99, split by same-node and
 * cross-node subscribers) at a steady RATE, then deliveries per second in a burst.
 *
 *   npm run bench --workspace=@duplex/example-cluster
 *
 * Everything runs on this machine: the nodes, Redis and the clients (one process) share its
 * cores, so the numbers are a floor for a real deployment, not a ceiling.
 */
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createDuplexClient, type DuplexClient } from '@duplex/client';
import { startTestRedis } from '@duplex/redis/testing';
import type { BenchRouter } from './benchNode';

const nodeCount = Number(process.env.NODES ?? 3);
const subscribers = Number(process.env.SUBSCRIBERS ?? 1000);
const rate = Number(process.env.RATE ?? 5);
const latencyEvents = Number(process.env.EVENTS ?? 50);
const burstEvents = Number(process.env.BURST ?? 100);
const burstInFlight = Number(process.env.IN_FLIGHT ?? 10);
const channel = 'bench';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const ms = (value: number) => `${value.toFixed(2)} ms`;

async function startNode(redisUrl: string) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@duplex/source',
      fileURLToPath(new URL('./benchNode.ts', import.meta.url)),
    ],
    { env: { ...process.env, REDIS_URL: redisUrl }, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`bench node exited (${code})`)));
  });
  return { child, wsUrl: `${url.replace(/^http/, 'ws').replace(/\/$/, '')}/trpc` };
}

const redis = await startTestRedis({
  appendOnly: process.env.AOF !== '0',
  appendFsync: 'everysec',
});
const nodes = await Promise.all(Array.from({ length: nodeCount }, () => startNode(redis.url)));
const clients: DuplexClient<BenchRouter>[] = [];
const connect = (wsUrl: string, token: string) => {
  const client = createDuplexClient<BenchRouter>({ url: wsUrl, token, keepAlive: false });
  clients.push(client);
  return client;
};

/** Per subscriber: the node it is on, and when it received each event. */
const received: { node: number; at: Map<number, number> }[] = [];
const sentAt = new Map<number, number>();
let duplicates = 0;
for (let i = 0; i < subscribers; i++) {
  const node = i % nodeCount;
  const at = new Map<number, number>();
  received.push({ node, at });
  connect(nodes[node]!.wsUrl, `sub${i}`).onEvent.subscribe(
    { channel },
    {
      onData: ({ data }) => {
        const n = (data as { n: number }).n;
        if (at.has(n)) duplicates++;
        at.set(n, performance.now());
      },
    },
  );
}
const publisher = connect(nodes[0]!.wsUrl, 'publisher');

// Warm-up: publish until every subscriber is live.
const live = () => received.every((r) => [...r.at.keys()].some((n) => n < 0));
for (let n = -1; !live(); n--) {
  if (n < -150) throw new Error('subscribers did not all go live in 30 s');
  await publisher.publish.mutate({ channel, n });
  await sleep(200);
}
console.log(`${subscribers} subscribers live on ${nodeCount} nodes (${cpus().length} cores)`);

// Latency at a steady rate.
for (let n = 0; n < latencyEvents; n++) {
  sentAt.set(n, performance.now());
  await publisher.publish.mutate({ channel, n });
  await sleep(1000 / rate);
}
const allReceived = (from: number, to: number) =>
  received.every((r) => {
    for (let n = from; n < to; n++) if (!r.at.has(n)) return false;
    return true;
  });
for (let waited = 0; waited < 10_000 && !allReceived(0, latencyEvents); waited += 50)
  await sleep(50);
const latencies = { same: [] as number[], cross: [] as number[] };
let missing = 0;
for (const r of received) {
  for (let n = 0; n < latencyEvents; n++) {
    const at = r.at.get(n);
    if (at === undefined) missing++;
    else (r.node === 0 ? latencies.same : latencies.cross).push(at - sentAt.get(n)!);
  }
}
const all = [...latencies.same, ...latencies.cross].sort((a, b) => a - b);
latencies.same.sort((a, b) => a - b);
latencies.cross.sort((a, b) => a - b);

// Throughput: a burst, IN_FLIGHT publishes at a time. Past what the machine can fan out,
// publishes queue behind deliveries and start failing their Redis command timeout: counted.
const base = 1_000_000;
const burstStart = performance.now();
let next = 0;
let failedPublishes = 0;
await Promise.all(
  Array.from({ length: burstInFlight }, async () => {
    while (next < burstEvents) {
      await publisher.publish.mutate({ channel, n: base + next++ }).catch(() => {
        failedPublishes++;
      });
    }
  }),
);
for (let waited = 0; waited < 20_000 && !allReceived(base, base + burstEvents); waited += 20)
  await sleep(20);
let lastDelivery = burstStart;
let burstDeliveries = 0;
for (const r of received) {
  for (const [n, at] of r.at) {
    if (n < base) continue;
    burstDeliveries++;
    if (at > lastDelivery) lastDelivery = at;
  }
}
const burstSeconds = (lastDelivery - burstStart) / 1000;

console.log(`\nPublish-to-receive at ${rate} events/s, ${latencyEvents} events:`);
console.log(
  `  cross-node (${latencies.cross.length} deliveries): p50 ${ms(percentile(latencies.cross, 50))}, p99 ${ms(percentile(latencies.cross, 99))}`,
);
console.log(
  `  same node  (${latencies.same.length} deliveries): p50 ${ms(percentile(latencies.same, 50))}, p99 ${ms(percentile(latencies.same, 99))}`,
);
console.log(
  `  all: p50 ${ms(percentile(all, 50))}, p90 ${ms(percentile(all, 90))}, p99 ${ms(percentile(all, 99))}, max ${ms(all.at(-1) ?? Number.NaN)}`,
);
console.log(
  `\nBurst of ${burstEvents} events (${burstInFlight} in flight) to ${subscribers} subscribers:`,
);
console.log(
  `  ${burstDeliveries} deliveries in ${burstSeconds.toFixed(2)} s = ${Math.round(burstDeliveries / burstSeconds)} deliveries/s`,
);
console.log(
  `\nLost: ${missing + ((burstEvents - failedPublishes) * subscribers - burstDeliveries)}, duplicates: ${duplicates}, failed publishes: ${failedPublishes}`,
);

await Promise.all(clients.map((c) => c.$close()));
await Promise.all(
  nodes.map(({ child }) => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    return exited;
  }),
);
await redis[Symbol.asyncDispose]();
process.exit(0);
