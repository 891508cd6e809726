/**
 * Duplex beside raw `ws`, stock tRPC over ws and Socket.IO, in one run: round trips, fan-out,
 * memory per connection and a reconnect storm. Each contestant gets a fresh server process and
 * fresh load generator processes on 127.0.0.1 (free ports only).
 *
 * Run: npm run bench [-- --quick] [-- --only=ws,duplex] [-- --write-docs] [-- --profile-server]
 *   [-- --calls-only] (the call rows alone: round trips, calls/s, server CPU per call)
 *   [-- --profile-calls] (profiles the server over each 100 B 1 × 64 call run, into
 *   bench/results/profiles/<contestant>-<procedure>.cpuprofile)
 *   [-- --duplex-handler=duplex|stock] (the handler Duplex's server runs; default duplex)
 *   [-- --pin-latency] (the latency rows with the server and their client on one CPU, Linux
 *   `taskset`: on a 2-core machine the p50 otherwise depends on whether the scheduler put the
 *   two processes on one core or two, 53 or ~118 µs for Duplex, 34 or ~85 µs for raw ws)
 *   [-- --fanout-only] (connect and fan-out alone: no call rows, memory or storm)
 *   [-- --fanout-bursts=N] (N fan-out bursts at each subscriber count, each logged; the row
 *   reports the burst with the median server CPU per delivery; default 1)
 * (development: --tiny, --subscribers=100,500, --phase-timeout-ms=30000)
 * See docs/performance.md.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createIpcClient } from './realtime/ipc';
import type { BenchProcedure, LoadgenHandlers } from './realtime/loadgen';
import { describeMachine, renderCallPathTargets, renderReport, writeDocs } from './realtime/report';
import {
  addSubscribers,
  type BenchConfig,
  type ContestantResult,
  type FanoutResult,
  fanout,
  memory,
  type Processes,
  payloads,
  type RoundTripResult,
  roundTrip,
  storm,
} from './realtime/scenarios';
import type { ServerHandlers } from './realtime/server';
import { type Contestant, contestants } from './realtime/servers';

const configs: Record<BenchConfig['mode'], Omit<BenchConfig, 'duplexHandler'>> = {
  full: {
    mode: 'full',
    latencyCalls: 5_000,
    latencyWarmup: 3_000,
    latencyWarmupMs: 1_000,
    throughputWarmupMs: 1_000,
    throughputMs: 4_000,
    throughputWindows: 4,
    fanoutSubscribers: [1_000, 5_000],
    fanoutEvents: 50,
    loadgens: 2,
    connectBatch: 100,
    stormTickMs: 500,
    phaseTimeoutMs: 90_000,
  },
  quick: {
    mode: 'quick',
    latencyCalls: 1_000,
    latencyWarmup: 3_000,
    latencyWarmupMs: 500,
    throughputWarmupMs: 300,
    throughputMs: 1_500,
    throughputWindows: 3,
    fanoutSubscribers: [1_000],
    fanoutEvents: 50,
    loadgens: 2,
    connectBatch: 100,
    stormTickMs: 500,
    phaseTimeoutMs: 30_000,
  },
  tiny: {
    mode: 'tiny',
    latencyCalls: 200,
    latencyWarmup: 50,
    latencyWarmupMs: 0,
    throughputWarmupMs: 100,
    throughputMs: 300,
    throughputWindows: 1,
    fanoutSubscribers: [50, 100],
    fanoutEvents: 10,
    loadgens: 2,
    connectBatch: 50,
    stormTickMs: 200,
    phaseTimeoutMs: 15_000,
  },
};

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string) =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const base = configs[flag('tiny') ? 'tiny' : flag('quick') ? 'quick' : 'full'];
const subscribersOption = option('subscribers')?.split(',').map(Number);
const phaseTimeoutOption = Number(option('phase-timeout-ms'));
const duplexHandler = option('duplex-handler') ?? 'duplex';
if (duplexHandler !== 'duplex' && duplexHandler !== 'stock') {
  throw new Error(`--duplex-handler must be duplex or stock, not ${duplexHandler}`);
}
const config: BenchConfig = {
  ...base,
  duplexHandler,
  ...(subscribersOption && { fanoutSubscribers: subscribersOption }),
  ...(phaseTimeoutOption > 0 && { phaseTimeoutMs: phaseTimeoutOption }),
};
const fanoutBursts = Math.max(1, Number(option('fanout-bursts') ?? 1) || 1);
const only = option('only')?.split(',') as Contestant[] | undefined;
const selected = contestants.filter((c) => !only || only.includes(c));
const resultsDir = new URL('./results/', import.meta.url);

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function spawn(file: string, extraArgv: string[]) {
  const child = fork(new URL(file, import.meta.url), [], {
    execArgv: ['--conditions=@duplex/source', '--import', 'tsx', ...extraArgv],
    env: { ...process.env, DUPLEX_BENCH_HANDLER: config.duplexHandler },
    stdio: 'inherit',
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function runContestant(contestant: Contestant): Promise<ContestantResult> {
  const profile = flag('profile-server')
    ? ['--cpu-prof', `--cpu-prof-dir=${new URL(`profiles/${contestant}/`, resultsDir).pathname}`]
    : [];
  const serverProcess = spawn('./realtime/server.ts', ['--expose-gc', ...profile]);
  const loadgenProcesses = Array.from({ length: config.loadgens }, () =>
    spawn('./realtime/loadgen.ts', []),
  );
  const timeoutMs = config.phaseTimeoutMs * 2;
  const p: Processes = {
    server: createIpcClient<ServerHandlers>(serverProcess, timeoutMs),
    loadgens: loadgenProcesses.map((c) => createIpcClient<LoadgenHandlers>(c, timeoutMs)),
    ...(flag('pin-latency') && {
      pinLatency: (pinned: boolean) =>
        pinCpus([serverProcess, loadgenProcesses[0]!], pinned ? '0' : `0-${os.cpus().length - 1}`),
    }),
  };
  const result: ContestantResult = {
    contestant,
    roundTrip: [],
    connect: [],
    fanout: [],
    memory: null,
    storm: null,
    errors: [],
  };
  const step = async (name: string, run: () => Promise<void>) => {
    const started = performance.now();
    try {
      await run();
    } catch (error) {
      result.errors.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
    log(`  ${name} ${((performance.now() - started) / 1000).toFixed(1)} s`);
  };
  try {
    await Promise.all([p.server.ready, ...p.loadgens.map((l) => l.ready)]);
    const port = await p.server.call('start', { contestant });
    await Promise.all(p.loadgens.map((l) => l.call('init', { contestant, port })));
    const profileFile = (procedure: BenchProcedure, payloadBytes: number) =>
      flag('profile-calls') && payloadBytes === 100
        ? new URL(`profiles/${contestant}-${procedure}.cpuprofile`, resultsDir).pathname
        : undefined;
    for (const payloadBytes of flag('fanout-only') ? [] : payloads) {
      await step(`round trip ${payloadBytes} B`, async () => {
        const row = await roundTrip(p, config, {
          procedure: 'echo',
          payloadBytes,
          profileFile: profileFile('echo', payloadBytes),
        });
        result.roundTrip.push(row);
        log(`    ${describeRoundTrip(row)}`);
      });
    }
    if (contestant !== 'ws' && !flag('fanout-only')) {
      await step('round trip with middleware 100 B', async () => {
        const row = await roundTrip(p, config, {
          procedure: 'echoAuthed',
          payloadBytes: 100,
          profileFile: profileFile('echoAuthed', 100),
        });
        result.roundTrip.push(row);
        log(`    ${describeRoundTrip(row)}`);
      });
    }
    if (flag('calls-only')) return result;
    const baseline = await p.server.call('memory');
    let connected = 0;
    for (const subscribers of config.fanoutSubscribers) {
      await step(`connect ${subscribers} subscribers`, async () => {
        const started = performance.now();
        await addSubscribers(p, config, subscribers - connected);
        const seconds = (performance.now() - started) / 1000;
        result.connect.push({ subscribers, perSecond: (subscribers - connected) / seconds });
        connected = subscribers;
      });
      if (connected !== subscribers) break;
      if (subscribers === config.fanoutSubscribers.at(-1) && !flag('fanout-only')) {
        await step('memory', async () => {
          result.memory = await memory(p, baseline, subscribers);
        });
      }
      await step(`fan-out ${subscribers}`, async () => {
        const bursts: FanoutResult[] = [];
        for (let i = 0; i < fanoutBursts; i++) {
          const burst = await fanout(p, config, subscribers);
          bursts.push(burst);
          if (fanoutBursts > 1) log(`    burst ${i + 1}: ${describeBurst(burst)}`);
        }
        const bySpend = bursts.sort((a, b) => a.serverCpuUsPerDelivery - b.serverCpuUsPerDelivery);
        result.fanout.push(bySpend[Math.floor((bySpend.length - 1) / 2)]!);
      });
    }
    if (connected === config.fanoutSubscribers.at(-1) && !flag('fanout-only')) {
      await step(`reconnect storm ${connected}`, async () => {
        result.storm = await storm(p, config, contestant, connected);
      });
    }
    await Promise.race([
      Promise.all([...p.loadgens.map((l) => l.call('closeAll')), p.server.call('close')]),
      new Promise((resolve) => setTimeout(resolve, 5_000)),
    ]);
  } catch (error) {
    result.errors.push(error instanceof Error ? error.message : String(error));
  } finally {
    for (const child of [serverProcess, ...loadgenProcesses]) {
      // SIGINT lets a profiled server write its profile on the way out.
      child.kill(profile.length > 0 && child === serverProcess ? 'SIGINT' : 'SIGKILL');
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return result;
}

/** Sets the CPUs the processes (all their threads) may run on, with Linux's `taskset`. */
function pinCpus(children: ChildProcess[], cpus: string) {
  for (const child of children) {
    if (child.pid !== undefined)
      execFileSync('taskset', ['-apc', cpus, String(child.pid)], { stdio: 'ignore' });
  }
}

function describeRoundTrip(r: RoundTripResult) {
  const us = (n: number) => n.toFixed(1);
  return `p50 ${r.p50Ms.toFixed(3)} ms (CPU per call at 1 in flight: server ${us(r.serverCpuUsPerCall1x1)} µs, client ${us(r.clientCpuUsPerCall1x1)} µs), 1×64 ${Math.round(r.callsPerSecond1x64)}/s at ${us(r.serverCpuUsPerCall1x64)} µs server CPU, 50×8 ${Math.round(r.callsPerSecond50x8)}/s at ${us(r.serverCpuUsPerCall50x8)} µs, load ${os.loadavg()[0]!.toFixed(1)}`;
}

function describeBurst(f: FanoutResult) {
  return `${f.serverCpuUsPerDelivery.toFixed(2)} µs server CPU/delivery, ${Math.round(f.deliveriesPerSecond)} deliveries/s, p50 ${f.p50Ms.toFixed(1)} ms, client ${f.clientCpuUsPerDelivery.toFixed(2)} µs, load ${os.loadavg()[0]!.toFixed(1)}`;
}

function log(line: string) {
  process.stderr.write(`${line}\n`);
}

const startedAt = new Date();
const machine = describeMachine();
log(
  `bench (${config.mode}, Duplex handler ${config.duplexHandler}): ${selected.join(', ')} on ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}`,
);
const results: ContestantResult[] = [];
for (const contestant of selected) {
  log(`${contestant}:`);
  const started = performance.now();
  const loadBefore = os.loadavg()[0]!;
  results.push(await runContestant(contestant));
  log(
    `  total ${((performance.now() - started) / 1000).toFixed(1)} s, load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0]!.toFixed(1)} after`,
  );
}
const report = renderReport({ config, machine, results });
console.log(report);
console.log(`Call path (issue 16 targets):\n\n${renderCallPathTargets(results)}\n`);
mkdirSync(resultsDir, { recursive: true });
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
const json = `${JSON.stringify({ startedAt, config, machine, results }, null, 2)}\n`;
const file = new URL(`${stamp}.json`, resultsDir);
writeFileSync(file, json);
log(`results: ${file.pathname}`);
if (flag('write-docs')) {
  writeDocs(new URL('../docs/performance.md', import.meta.url), report);
  writeFileSync(new URL('latest.json', resultsDir), json);
  log('docs/performance.md and bench/results/latest.json updated');
}
