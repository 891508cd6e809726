/**
 * What one publish costs on the Redis broker as a channel's resume log grows: channels holding
 * 1k, 50k and 200k retained events, each published into by `createRedisBroker`, in two regimes:
 * a log still growing (`maxEventsPerChannel` above its length: the age check runs, nothing is
 * trimmed) and a log at its cap (every publish trims one event). Reports publishes/s and the
 * Redis time per publish (median and mean of the script calls, from `SLOWLOG` set to log every
 * command), and the ratio max/min of each across log lengths. The median Redis time and
 * publishes/s must stay within 1.5× (exit code 1 otherwise): the Redis time is what a publish
 * holds single-threaded Redis for, every other channel and presence waiting. The mean is
 * printed but not held to it: on a shared machine it moves with whenever redis-server was
 * preempted. Rounds take the channels in turn for the same reason.
 *
 *   npm run bench:redis
 *
 * PUBLISHES (default 3000) per round, ROUNDS (default 3; the best publishes/s is reported),
 * IN_FLIGHT (default 8) publishes at once.
 */
import { createRedisBroker, type RedisBroker } from '@duplex/redis';
import { startTestRedis } from '@duplex/redis/testing';
import Redis from 'ioredis';

const sizes = [1_000, 50_000, 200_000];
const publishes = Number(process.env.PUBLISHES ?? 3_000);
const rounds = Number(process.env.ROUNDS ?? 3);
const inFlight = Number(process.env.IN_FLIGHT ?? 8);
const maxRatio = 1.5;
const event = { text: 'x'.repeat(200), at: 0 };
const quiet = { onConnectionChange: () => {} };

/** Fills a channel's log the way the broker writes it, pipelined: seconds for 200k events. */
async function prefill(admin: Redis, stream: string, count: number) {
  const payload = JSON.stringify({ json: event });
  for (let done = 0; done < count; done += 10_000) {
    const batch = admin.pipeline();
    for (let i = done; i < Math.min(count, done + 10_000); i++)
      batch.xadd(stream, '*', 'd', payload);
    await batch.exec();
  }
}

/** The Redis time of each script call in the slow log (which logs every command here). */
async function scriptUsecs(admin: Redis): Promise<number[]> {
  const log = (await admin.slowlog('GET', publishes + 100)) as [number, number, number, string[]][];
  return log.filter(([, , , args]) => args[0]?.toLowerCase() === 'evalsha').map(([, , us]) => us);
}

/** A channel being measured: its broker, the best publishes/s of its rounds, their Redis times. */
interface Measured {
  retained: number;
  broker: RedisBroker;
  perSecond: number;
  usecs: number[];
}

/** One round of `publishes` into `channel`'s log, `inFlight` at a time. */
async function round(admin: Redis, channel: Measured) {
  await admin.slowlog('RESET');
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < publishes) {
        next++;
        await channel.broker.publish('room', { ...event, at: next });
      }
    }),
  );
  const perSecond = publishes / ((performance.now() - started) / 1000);
  channel.perSecond = Math.max(channel.perSecond, perSecond);
  channel.usecs.push(...(await scriptUsecs(admin)));
}

const redis = await startTestRedis({ appendOnly: false });
const admin = new Redis(redis.url);
await admin.config('SET', 'slowlog-log-slower-than', '0', 'slowlog-max-len', publishes + 100);
const rows: {
  regime: string;
  retained: number;
  perSecond: number;
  median: number;
  mean: number;
}[] = [];
let failed = false;
const open = (keyPrefix: string, maxEventsPerChannel: number) =>
  createRedisBroker({ url: redis.url, keyPrefix, maxEventsPerChannel, ...quiet });
try {
  // Warms up the JIT of this process, so the first channel measured isn't the slowest.
  const warm = await open('bench:warm:', 1_000);
  await round(admin, { retained: 0, broker: warm, perSecond: 0, usecs: [] });
  await warm.close();
  const regimes = [
    { regime: 'growing', cap: (_size: number) => Math.max(...sizes) + rounds * publishes + 1 },
    { regime: 'at cap', cap: (size: number) => size },
  ];
  for (const { regime, cap } of regimes) {
    await admin.flushall();
    const channels: Measured[] = [];
    try {
      for (const size of sizes) {
        await prefill(admin, `bench:${size}:log:room`, size);
        const broker = await open(`bench:${size}:`, cap(size));
        channels.push({ retained: size, broker, perSecond: 0, usecs: [] });
        // Loads the script and opens the connections outside the measurement.
        await broker.publish('warmup', event);
      }
      // Rounds take the channels in turn, so that a busy moment of a shared machine falls on
      // all of them alike.
      for (let r = 0; r < rounds; r++) for (const channel of channels) await round(admin, channel);
    } finally {
      await Promise.all(channels.map((c) => c.broker.close()));
    }
    for (const { retained, perSecond, usecs } of channels) {
      usecs.sort((a, b) => a - b);
      const median = usecs[Math.floor(usecs.length / 2)] ?? Number.NaN;
      const mean = usecs.reduce((sum, us) => sum + us, 0) / usecs.length;
      rows.push({ regime, retained, perSecond, median, mean });
    }
  }
} finally {
  admin.disconnect();
  await redis[Symbol.asyncDispose]();
}

console.log(
  `${rounds} × ${publishes} publishes per channel, ${inFlight} in flight, on redis-server (no AOF)`,
);
console.log('regime   retained   publishes/s   Redis µs/publish: median   mean');
for (const row of rows) {
  console.log(
    [
      row.regime.padEnd(8),
      String(row.retained).padStart(8),
      row.perSecond.toFixed(0).padStart(13),
      String(row.median).padStart(26),
      row.mean.toFixed(1).padStart(6),
    ].join(' '),
  );
}
for (const regime of new Set(rows.map((r) => r.regime))) {
  const of = rows.filter((r) => r.regime === regime);
  const ratio = (values: number[]) => Math.max(...values) / Math.min(...values);
  const [median, rate, mean] = [
    ratio(of.map((r) => r.median)),
    ratio(of.map((r) => r.perSecond)),
    ratio(of.map((r) => r.mean)),
  ];
  const ok = median <= maxRatio && rate <= maxRatio;
  if (!ok) failed = true;
  console.log(
    `${regime}: max/min Redis time per publish ${median.toFixed(2)}× (mean ${mean.toFixed(2)}×), publishes/s ${rate.toFixed(2)}×: ${ok ? 'ok' : 'FAIL'} (limit ${maxRatio}×)`,
  );
}
if (failed) process.exitCode = 1;
