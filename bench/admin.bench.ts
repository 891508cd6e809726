/**
 * `npm run bench:admin`: what the operations dashboard costs a server with 5,000 connected
 * clients, each holding a subscription that receives `--events` events per second.
 *
 * Server CPU (one process, measured with `process.cpuUsage`) in three states, interleaved
 * `--rounds` times: the dashboard not attached (no reporting), attached with no one watching
 * (the node reports every 2 s), and open (one operator subscribed to the overview and the
 * connection list, as the page is). Also the CPU of one report (`stats()` + `connections()`).
 *
 * Options: --clients=5000 --events=1 --seconds=10 --rounds=2
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createDuplexClient } from '@duplex/client';
import type { AdminBenchRouter, AdminBenchServerHandlers } from './admin/server';
import { adminToken } from './admin/server';
import { createIpcClient } from './realtime/ipc';
import type { LoadgenHandlers } from './realtime/loadgen';

const option = (name: string) =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1];
const clients = Number(option('clients') ?? 5_000);
const eventsPerSecond = Number(option('events') ?? 1);
const seconds = Number(option('seconds') ?? 10);
const rounds = Number(option('rounds') ?? 2);
const loadgenCount = 2;
const timeoutMs = 300_000;

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function spawn(file: string, extraArgv: string[] = []) {
  const child = fork(new URL(file, import.meta.url), [], {
    execArgv: ['--conditions=@duplex/source', '--import', 'tsx', ...extraArgv],
    stdio: 'inherit',
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

const server = createIpcClient<AdminBenchServerHandlers>(spawn('./admin/server.ts'), timeoutMs);
const loadgens = Array.from({ length: loadgenCount }, () =>
  createIpcClient<LoadgenHandlers>(spawn('./realtime/loadgen.ts'), timeoutMs),
);
await Promise.all([server.ready, ...loadgens.map((l) => l.ready)]);
const port = await server.call('start');
await Promise.all(loadgens.map((l) => l.call('init', { contestant: 'duplex', port })));
const perLoadgen = Math.ceil(clients / loadgenCount);
await Promise.all(loadgens.map((l) => l.call('addSubscribers', { count: perLoadgen, batch: 250 })));
console.log(`${perLoadgen * loadgenCount} subscribed clients on port ${port}`);
await server.call('pulse', { perSecond: eventsPerSecond });

type State = 'not attached' | 'attached, closed' | 'open';
const samples: Record<State, number[]> = {
  'not attached': [],
  'attached, closed': [],
  open: [],
};

/** The page's two subscriptions, from an operator's Duplex client in this process. */
function openDashboard() {
  const operator = createDuplexClient<AdminBenchRouter>({
    url: `ws://127.0.0.1:${port}/trpc`,
    token: adminToken,
  });
  let frames = 0;
  const overview = operator.admin.overview.subscribe(undefined, { onData: () => frames++ });
  const list = operator.admin.connections.subscribe({ limit: 200 }, { onData: () => frames++ });
  return {
    frames: () => frames,
    async close() {
      overview.unsubscribe();
      list.unsubscribe();
      await operator.$close();
    },
  };
}

async function measure(state: State) {
  await server.call('attach', { on: state !== 'not attached' });
  const dashboard = state === 'open' ? openDashboard() : null;
  // A settling period: the first report, the operator's connect and first frames.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const { cpuMs, wallMs } = await server.call('cpu', { ms: seconds * 1000 });
  const percent = (cpuMs / wallMs) * 100;
  samples[state].push(percent);
  const frames = dashboard ? ` (${dashboard.frames()} frames to the operator)` : '';
  console.log(`${state}: ${percent.toFixed(2)}% of a core${frames}`);
  await dashboard?.close();
}

for (let round = 0; round < rounds; round++) {
  for (const state of Object.keys(samples) as State[]) await measure(state);
}
const cost = await server.call('reportCost', { times: 20, limit: 200 });

const range = (values: number[]) =>
  values.length === 0
    ? '-'
    : `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}%`;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
console.log(
  `\n${clients} clients, ${eventsPerSecond} event/s each, ${seconds} s per sample, ${rounds} rounds\n`,
);
console.log('| dashboard | server CPU (% of a core) |');
console.log('|---|---|');
for (const state of Object.keys(samples) as State[]) {
  console.log(`| ${state} | ${range(samples[state])} |`);
}
const closed = median(samples['attached, closed']);
console.log(
  `\nopen − closed (medians): ${(median(samples.open) - closed).toFixed(2)} points; closed − not attached: ${(closed - median(samples['not attached'])).toFixed(2)} points`,
);
console.log(
  `one report (stats + 200 listed of ${cost.connections} connections): ${cost.msPerReport.toFixed(2)} ms CPU`,
);

await server.call('close');
await Promise.all(loadgens.map((l) => l.call('closeAll')));
process.exit(0);
