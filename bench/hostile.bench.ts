/**
 * Hostile clients, for docs/performance.md (issue 17): the attacks of
 * packages/tests/src/hostileProcess.test.ts, run longer, each on a fresh server in its own
 * process with an attacker in another. For each, a well-behaved client's `ping` round trip p50
 * and p99 with no attack running and during the attack, how late the server's timers ran during
 * it (its event loop blocked) and the CPU it used (100% = one core), the server's RSS idle (after a GC) and
 * at its peak (sampled every 20 ms), and the RSS 5 s after the attack (after a GC).
 * Run: npm run bench:hostile  (HOSTILE_BENCH_SECONDS=10 by default; HOSTILE_BENCH_ONLY=slow runs
 * one attack)
 */
import { loadavg } from 'node:os';
import {
  type Attack,
  attackSetups,
  goodClient,
  MiB,
  peakRssDuring,
  roundTripsUntil,
  runAttacker,
  startHostileServer,
} from '../packages/tests/src/hostileHarness';

const seconds = Number(process.env.HOSTILE_BENCH_SECONDS ?? 10);
const only = process.env.HOSTILE_BENCH_ONLY;
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ms = (values: number[], p: number) => percentile(values, p).toFixed(1);
const mib = (bytes: number) => Math.round(bytes / MiB);

const titles: Record<Attack, string> = {
  http: 'HTTP: 24 sockets pipelining unread 1 MiB GETs, 1,100 idle sockets, odd requests',
  frames: 'frames: 500 KB ids, 100k-deep JSON, 100k-wide arrays, batches, flooded',
  budgets: 'budgets: 100 sockets as one user, 300 users from one address, reconnect loops',
  slow: 'slow readers: paused subscribers, 32 KB events at 1,000/s',
  uploads: 'uploads: 4 loops of 5 MiB images as one user, ignoring 429',
};

async function measure(attack: Attack) {
  const { publish, ...setup } = attackSetups[attack];
  await using server = await startHostileServer(setup);
  await using client = goodClient(server);
  await client.ping.query();
  const before = await roundTripsUntil(client, sleep(seconds * 500));
  const idle = (await server.memory(true)).rss;
  server.resetPeak();
  if (publish) server.publish(...publish);
  const attackStart = performance.now();
  const attacker = runAttacker(attack, server.port, seconds * 1000);
  const [during, peak] = await Promise.all([
    roundTripsUntil(client, attacker),
    peakRssDuring(server, attacker),
  ]);
  if (publish) server.stopPublish();
  const { loopDelayP99Ms, loopDelayMaxMs, cpuMs } = await server.memory();
  const cpuShare = cpuMs / (performance.now() - attackStart);
  await sleep(5_000);
  const after = (await server.memory(true)).rss;
  return (
    `| ${titles[attack]} | ${ms(before, 50)} / ${ms(before, 99)} | ${ms(during, 50)} / ` +
    `${ms(during, 99)} | ${loopDelayP99Ms.toFixed(0)} / ${loopDelayMaxMs.toFixed(0)} | ` +
    `${Math.round(cpuShare * 100)}% | ` +
    `${during.length} | ${mib(idle)} | ${mib(peak)} | ${mib(after)} |`
  );
}

const rows: string[] = [];
const loadBefore = loadavg()[0]!.toFixed(1);
for (const attack of Object.keys(attackSetups) as Attack[]) {
  if (only && attack !== only) continue;
  rows.push(await measure(attack));
  console.error(rows.at(-1));
}
console.log(
  `${seconds} s per attack; 1-minute load average ${loadBefore} before, ${loadavg()[0]!.toFixed(1)} after\n`,
);
console.log(
  '| attack | round trip before p50 / p99 (ms) | during p50 / p99 (ms) | server loop delay during p99 / max (ms) | server CPU during | round trips during | RSS idle (MiB) | peak (MiB) | after (MiB) |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const row of rows) console.log(row);
process.exit(0);
