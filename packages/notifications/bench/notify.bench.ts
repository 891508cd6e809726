/**
 * Notification numbers for docs/notifications.md: `notifier.notify` to 10,000 users, and feed
 * pages for one user with 10,000 notifications, on memory, PGlite (in memory) and PostgreSQL
 * (a fresh schema, dropped after; skipped when the server is unreachable).
 * Run: npm run bench:notify
 */
import { cpus, loadavg } from 'node:os';
import {
  createMemoryNotificationStore,
  createNotifier,
  createSqlNotificationStore,
  type NotificationStore,
} from '@duplex/notifications';
import { createMemoryBroker } from '@duplex/server';
import type { SqlDatabase } from '@duplex/sql';
import { dropTestSchema, sqlTestBackends } from '@duplex/sql/testing';

const recipients = 10_000;
const notifyRuns = 3;
const feedSize = 10_000;
const feedSamples = 300;
const pageSize = 20;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );

async function measure(backend: string, store: NotificationStore) {
  const broker = createMemoryBroker();
  const notifier = createNotifier({ store, broker });
  const to = Array.from({ length: recipients }, (_, i) => `user-${i}`);
  // A tenth of the users muted the category: their notifications are stored but not pushed.
  for (let i = 0; i < recipients; i += 10) {
    await store.setPreferences(to[i]!, {
      categories: { deploy: false },
      minPriority: 'low',
      quietHours: null,
    });
  }
  const notifyMs: number[] = [];
  for (let run = 0; run < notifyRuns; run++) {
    const started = performance.now();
    const result = await notifier.notify({
      to,
      category: 'deploy',
      priority: 'high',
      title: `Release ${run} is live`,
      body: 'Everything is green.',
      link: '/releases',
    });
    notifyMs.push(performance.now() - started);
    if (result.created !== recipients || result.pushed !== recipients * 0.9) {
      throw new Error(`notify created ${result.created}, pushed ${result.pushed}`);
    }
  }
  // Repeating a dedupe key is a no-op for every recipient: the cost of the check alone.
  await notifier.notify({ to, category: 'deploy', title: 'once', dedupeKey: 'bench' });
  let started = performance.now();
  const repeat = await notifier.notify({
    to,
    category: 'deploy',
    title: 'once',
    dedupeKey: 'bench',
  });
  const dedupedMs = performance.now() - started;
  if (repeat.created !== 0) throw new Error('a repeated dedupe key created notifications');

  const reader = 'reader';
  const content = {
    category: 'chat.mention',
    priority: 'normal' as const,
    title: 'Ada mentioned you',
    body: 'a body of some length, like a chat line',
    data: null,
    link: '/#room=general',
    dedupeKey: null,
  };
  for (let i = 0; i < feedSize; i += 16) {
    await Promise.all(
      Array.from({ length: 16 }, (_, k) =>
        store.insert({ ...content, title: `mention ${i + k}` }, [
          { userId: reader, counted: (i + k) % 3 !== 0 },
        ]),
      ),
    );
  }
  const ids = (await store.feed(reader, { limit: 500, unreadOnly: false })).map((n) => n.id);
  const newest = Number(ids[0]);
  const oldest = newest - feedSize * 2;
  const feedLatencies: number[] = [];
  const unreadLatencies: number[] = [];
  for (let i = 0; i < feedSamples; i++) {
    // Every tenth request is the first page (what opening the bell asks for); the rest go deeper.
    const before =
      i % 10 === 0 ? undefined : String(oldest + Math.floor(Math.random() * feedSize * 2));
    started = performance.now();
    await store.feed(reader, { before, limit: pageSize, unreadOnly: i % 2 === 1 });
    feedLatencies.push(performance.now() - started);
    started = performance.now();
    await store.unreadCounts([reader]);
    unreadLatencies.push(performance.now() - started);
  }
  feedLatencies.sort((a, b) => a - b);
  unreadLatencies.sort((a, b) => a - b);
  await broker.close();
  return {
    backend,
    firstMs: notifyMs[0]!,
    medianMs: median(notifyMs),
    dedupedMs,
    feedP50: percentile(feedLatencies, 0.5),
    feedP99: percentile(feedLatencies, 0.99),
    unreadP50: percentile(unreadLatencies, 0.5),
  };
}

const results: Awaited<ReturnType<typeof measure>>[] = [];
results.push(await measure('memory', createMemoryNotificationStore()));
for (const backend of await sqlTestBackends()) {
  if (!backend.available) {
    console.warn(`skipping ${backend.name}: ${backend.reason}`);
    continue;
  }
  const db: SqlDatabase = await backend.create();
  try {
    results.push(await measure(backend.name, await createSqlNotificationStore(db)));
  } finally {
    await dropTestSchema(db);
    await db.close();
  }
}

const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));
console.log(
  `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim()}, load ${loadavg()[0]!.toFixed(2)}`,
);
console.log(
  `| store | notify ${recipients.toLocaleString('en')} users, first ms | median of ${notifyRuns} ms | µs per recipient | repeat dedupeKey ms | feed page (${pageSize}) p50 ms | p99 ms | unreadCount p50 ms |`,
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.backend} | ${ms(r.firstMs)} | ${ms(r.medianMs)} | ${((r.medianMs * 1_000) / recipients).toFixed(1)} | ${ms(r.dedupedMs)} | ${ms(r.feedP50)} | ${ms(r.feedP99)} | ${ms(r.unreadP50)} |`,
  );
}
