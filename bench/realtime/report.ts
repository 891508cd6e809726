import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { type BenchConfig, type ContestantResult, coldCalls } from './scenarios';
import { type Contestant, contestants } from './servers';

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  /** One-minute load average when the run started: other work on the machine skews results. */
  loadAverage: number;
  /** The commit measured, and whether the packages had uncommitted changes (run from source). */
  source: string;
}

export function describeMachine(): Machine {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadAverage: Math.round(os.loadavg()[0]! * 10) / 10,
    source: describeSource(),
  };
}

function describeSource(): string {
  const git = (...args: string[]) =>
    execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const commit = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'packages') !== '';
    return dirty ? `${commit} with uncommitted changes in packages/` : commit;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

const names: Record<Contestant, string> = {
  ws: 'raw ws',
  trpc: 'stock tRPC',
  socketio: 'Socket.IO',
  duplex: 'Duplex',
  wsLinkDuplex: 'stock wsLink → Duplex',
};

type Cell = number | null;

interface Row {
  label: string;
  /** ↓ when lower is better, ↑ when higher is. */
  better: '↓' | '↑';
  values: Partial<Record<Contestant, Cell>>;
  /** Overrides the printed cell (e.g. lost events of contestants without replay). */
  notes?: Partial<Record<Contestant, string>>;
  /** Counts that should be zero have no meaningful ratio. */
  noRatio?: boolean;
  target?: { text: string; met: (v: Partial<Record<Contestant, Cell>>) => boolean | null };
}

function format(value: Cell): string {
  if (value === null || !Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  const digits = abs >= 100 || Number.isInteger(value) ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function ratio(a: Cell | undefined, b: Cell | undefined): string {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${(a / b).toFixed(2)}×`;
}

/** `value` for every contestant from `pick`, `null` where it has no result. */
function across(
  results: ContestantResult[],
  pick: (r: ContestantResult) => number | null | undefined,
): Partial<Record<Contestant, Cell>> {
  return Object.fromEntries(results.map((r) => [r.contestant, pick(r) ?? null]));
}

const check = (a: Cell | undefined, b: Cell | undefined, ok: (a: number, b: number) => boolean) =>
  a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) ? null : ok(a, b);

function rows(results: ContestantResult[], config: BenchConfig): Row[] {
  const out: Row[] = [];
  for (const [i, bytes] of [100, 4096].entries()) {
    const rt = (r: ContestantResult) =>
      r.roundTrip.find((x) => x.procedure === 'echo' && x.payloadBytes === bytes);
    const size = bytes === 100 ? '100 B' : '4 KB';
    const first = i === 0;
    out.push(
      {
        label: `round trip p50, ${size}, 1 in flight (ms)`,
        better: '↓',
        values: across(results, (r) => rt(r)?.p50Ms),
        target: first
          ? {
              text: '≤ 1.5× raw ws',
              met: (v) => check(v.duplex, v.ws, (d, w) => d <= 1.5 * w),
            }
          : undefined,
      },
      {
        label: `round trip p99, ${size}, 1 in flight (ms)`,
        better: '↓',
        values: across(results, (r) => rt(r)?.p99Ms),
      },
      ...(first
        ? [
            {
              label: `round trip p50, ${size}, a new client's first ${coldCalls.toLocaleString('en-US')} calls (ms)`,
              better: '↓' as const,
              values: across(results, (r) => rt(r)?.coldP50Ms),
            },
          ]
        : []),
      {
        label: `calls/s, ${size}, 1 conn × 64 in flight`,
        better: '↑',
        values: across(results, (r) => rt(r)?.callsPerSecond1x64),
        target: first
          ? {
              text: '≥ 2× stock tRPC and ≥ Socket.IO',
              met: (v) =>
                check(v.duplex, v.trpc, (d, t) => d >= 2 * t) &&
                check(v.duplex, v.socketio, (d, s) => d >= s),
            }
          : undefined,
      },
      {
        label: `calls/s, ${size}, 50 conns × 8 in flight`,
        better: '↑',
        values: across(results, (r) => rt(r)?.callsPerSecond50x8),
      },
      {
        label: `server CPU per call, ${size}, 1 conn × 64 in flight (µs)`,
        better: '↓',
        values: across(results, (r) => rt(r)?.serverCpuUsPerCall1x64),
      },
    );
  }
  const mw = (r: ContestantResult) => r.roundTrip.find((x) => x.procedure === 'echoAuthed');
  out.push(
    {
      label: 'with middleware: round trip p50, 100 B (ms)',
      better: '↓',
      values: across(results, (r) => mw(r)?.p50Ms),
    },
    {
      label: 'with middleware: calls/s, 100 B, 1 conn × 64 in flight',
      better: '↑',
      values: across(results, (r) => mw(r)?.callsPerSecond1x64),
    },
    {
      label: 'with middleware: calls/s, 100 B, 50 conns × 8 in flight',
      better: '↑',
      values: across(results, (r) => mw(r)?.callsPerSecond50x8),
    },
    {
      label: 'with middleware: server CPU per call, 1 conn × 64 in flight (µs)',
      better: '↓',
      values: across(results, (r) => mw(r)?.serverCpuUsPerCall1x64),
      target: { text: '≤ Socket.IO', met: (v) => check(v.duplex, v.socketio, (d, s) => d <= s) },
    },
    {
      label: 'with middleware: server CPU per call, 50 conns × 8 in flight (µs)',
      better: '↓',
      values: across(results, (r) => mw(r)?.serverCpuUsPerCall50x8),
    },
  );
  const largest = config.fanoutSubscribers.at(-1);
  for (const n of config.fanoutSubscribers) {
    const fo = (r: ContestantResult) => r.fanout.find((x) => x.subscribers === n);
    const atTarget = n === largest;
    const subs = `${n.toLocaleString('en-US')} subs`;
    out.push(
      {
        label: `fan-out ${subs}: deliveries/s`,
        better: '↑',
        values: across(results, (r) => fo(r)?.deliveriesPerSecond),
        target: atTarget
          ? { text: '≥ 4× stock tRPC', met: (v) => check(v.duplex, v.trpc, (d, t) => d >= 4 * t) }
          : undefined,
      },
      {
        label: `fan-out ${subs}: publish→receive p50 (ms)`,
        better: '↓',
        values: across(results, (r) => fo(r)?.p50Ms),
      },
      {
        label: `fan-out ${subs}: publish→receive p99 (ms)`,
        better: '↓',
        values: across(results, (r) => fo(r)?.p99Ms),
        target: atTarget
          ? { text: '≤ Socket.IO', met: (v) => check(v.duplex, v.socketio, (d, s) => d <= s) }
          : undefined,
      },
      {
        label: `fan-out ${subs}: server CPU per delivery (µs)`,
        better: '↓',
        values: across(results, (r) => fo(r)?.serverCpuUsPerDelivery),
        target: atTarget
          ? {
              text: '≤ 1.2× raw ws and ≤ Socket.IO',
              met: (v) =>
                check(v.duplex, v.ws, (d, w) => d <= 1.2 * w) &&
                check(v.duplex, v.socketio, (d, s) => d <= s),
            }
          : undefined,
      },
      {
        label: `fan-out ${subs}: client CPU per delivery (µs)`,
        better: '↓',
        values: across(results, (r) => fo(r)?.clientCpuUsPerDelivery),
      },
    );
  }
  out.push({
    label: `subscribed connections opened per second, up to ${(largest ?? 0).toLocaleString('en-US')}`,
    better: '↑',
    values: across(results, (r) => {
      const total = r.connect.at(-1);
      if (!total || total.subscribers !== largest) return null;
      const seconds = r.connect.reduce((sum, c, i) => {
        const added = c.subscribers - (r.connect[i - 1]?.subscribers ?? 0);
        return sum + added / c.perSecond;
      }, 0);
      return total.subscribers / seconds;
    }),
  });
  const conns = `${(largest ?? 0).toLocaleString('en-US')} idle subscribed conns`;
  out.push(
    {
      label: `memory at ${conns}: server heap per conn (KB)`,
      better: '↓',
      values: across(results, (r) => (r.memory ? r.memory.heapBytesPerConnection / 1024 : null)),
      target: { text: '≤ Socket.IO', met: (v) => check(v.duplex, v.socketio, (d, s) => d <= s) },
    },
    {
      label: `memory at ${conns}: server RSS per conn (KB)`,
      better: '↓',
      values: across(results, (r) => (r.memory ? r.memory.rssBytesPerConnection / 1024 : null)),
    },
  );
  const stormNotes = (pick: (s: NonNullable<ContestantResult['storm']>) => number) =>
    Object.fromEntries(
      results.map((r) => [
        r.contestant,
        r.storm ? `${format(pick(r.storm))}${r.storm.replays ? '' : ' (no replay)'}` : '–',
      ]),
    );
  const clients = `${(largest ?? 0).toLocaleString('en-US')} clients`;
  out.push(
    {
      label: `reconnect storm, ${clients}: half resubscribed after (s)`,
      better: '↓',
      values: across(results, (r) => (r.storm ? r.storm.resumeP50Ms / 1000 : null)),
    },
    {
      label: `reconnect storm, ${clients}: all resubscribed after (s)`,
      better: '↓',
      values: across(results, (r) =>
        r.storm && r.storm.resumed === r.storm.clients ? r.storm.resumeMs / 1000 : null,
      ),
      notes: Object.fromEntries(
        results
          .filter((r) => r.storm && r.storm.resumed < r.storm.clients)
          .map((r) => [
            r.contestant,
            `not within ${format(config.phaseTimeoutMs / 1000)} s (${format(r.storm!.resumed)} did)`,
          ]),
      ),
    },
    {
      label: `reconnect storm, ${clients}: events lost by resubscribed clients`,
      better: '↓',
      values: across(results, (r) => r.storm?.lost),
      notes: stormNotes((s) => s.lost),
      noRatio: true,
      target: { text: '0', met: (v) => (v.duplex == null ? null : v.duplex === 0) },
    },
    {
      label: `reconnect storm, ${clients}: events duplicated`,
      better: '↓',
      values: across(results, (r) => r.storm?.duplicated),
      notes: stormNotes((s) => s.duplicated),
      noRatio: true,
      target: { text: '0', met: (v) => (v.duplex == null ? null : v.duplex === 0) },
    },
  );
  return out;
}

/** The markdown report: one table with every contestant, Duplex's ratios and the targets. */
export function renderReport(opts: {
  config: BenchConfig;
  machine: Machine;
  results: ContestantResult[];
}): string {
  const { config, machine, results } = opts;
  const present = contestants.filter((c) => results.some((r) => r.contestant === c));
  const header = [
    'metric',
    '',
    ...present.map((c) => names[c]),
    'Duplex ÷ raw ws',
    'Duplex ÷ stock tRPC',
    'Duplex ÷ Socket.IO',
    'target (Duplex)',
  ];
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
  ];
  // A partial run (`--calls-only`) leaves whole rows empty: leave them out.
  const measured = rows(results, config).filter((row) =>
    Object.values(row.values).some((v) => v != null),
  );
  for (const row of measured) {
    const met = row.target?.met(row.values);
    const target = row.target ? `${row.target.text} ${met == null ? '–' : met ? '✅' : '❌'}` : '';
    const cells = [
      row.label,
      row.better,
      ...present.map((c) => row.notes?.[c] ?? format(row.values[c] ?? null)),
      ...(row.noRatio
        ? ['', '', '']
        : [
            ratio(row.values.duplex, row.values.ws),
            ratio(row.values.duplex, row.values.trpc),
            ratio(row.values.duplex, row.values.socketio),
          ]),
      target,
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const largest = config.fanoutSubscribers.at(-1) ?? 0;
  const notes = [
    `Mode: ${config.mode}. Machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.platform}; server and load generators share these cores; load average ${machine.loadAverage} at the start. Source: ${machine.source}. Duplex handler: \`${config.duplexHandler}\`.`,
    `Fan-out: bursts of ${config.fanoutEvents} events of ~200 B at ${config.fanoutSubscribers
      .map((n) => n.toLocaleString('en-US'))
      .join(
        ' and ',
      )} subscribers; memory and the reconnect storm at ${largest.toLocaleString('en-US')} connections.`,
  ];
  if (config.mode !== 'full') {
    notes.push(
      `${config.mode} mode uses fewer connections and shorter runs than the full run (1,000 and 5,000 subscribers, 5,000 calls for latency, 4 s per throughput run): compare its numbers with each other, not with a full run.`,
    );
  }
  for (const r of results) {
    for (const f of r.fanout) {
      if (f.delivered < f.expected) {
        notes.push(
          `${names[r.contestant]} fan-out at ${f.subscribers}: only ${f.delivered} of ${f.expected} deliveries arrived before the phase timed out.`,
        );
      }
      if (f.gaps > 0)
        notes.push(`${names[r.contestant]} fan-out at ${f.subscribers}: ${f.gaps} gaps.`);
    }
    if (r.storm && r.storm.resumed < r.storm.clients) {
      notes.push(
        `${names[r.contestant]} storm: ${r.storm.clients - r.storm.resumed} of ${r.storm.clients} clients had not resubscribed when the phase ended; they missed ${r.storm.lostByNotResumed} events, not counted as lost above.`,
      );
    }
    if (r.storm && r.storm.reconnectAttempts > 0) {
      const opened = r.storm.serverCounters?.connectionsOpened;
      notes.push(
        `${names[r.contestant]} storm: its clients started ${r.storm.reconnectAttempts} reconnect attempts${opened === undefined ? '' : `; the restarted server accepted ${opened} sockets`}.`,
      );
    }
    if (r.storm && r.storm.gaps > 0) {
      notes.push(`${names[r.contestant]} storm: ${r.storm.gaps} gaps reported to clients.`);
    }
    for (const error of r.errors) notes.push(`${names[r.contestant]} error: ${error}`);
  }
  return `${lines.join('\n')}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`;
}

const startMarker = '<!-- bench:start -->';
const endMarker = '<!-- bench:end -->';

/** Replaces the generated part of docs/performance.md (between the bench markers). */
export function writeDocs(file: URL, report: string) {
  const doc = readFileSync(file, 'utf8');
  const start = doc.indexOf(startMarker);
  const end = doc.indexOf(endMarker);
  if (start < 0 || end < start) throw new Error(`${file.pathname} has no bench markers`);
  const generated = `${startMarker}\n${report}${endMarker}`;
  writeFileSync(file, doc.slice(0, start) + generated + doc.slice(end + endMarker.length));
  // Lint formats markdown too: align the new table the way Biome would.
  execFileSync('npx', ['biome', 'format', '--write', file.pathname], { stdio: 'ignore' });
}

/** `a` against `b` for a target "a ≤ b" (`lower`) or "a ≥ b": the ratio and the margin. */
function verdict(a: Cell | undefined, b: Cell | undefined, lower: boolean): string {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  const r = a / b;
  const met = lower ? r <= 1 : r >= 1;
  const off = Math.abs(r - 1) * 100;
  const how = lower ? (met ? 'under' : 'over') : met ? 'above' : 'short';
  return `${met ? '✅ met' : '❌ missed'}, ${off.toFixed(0)}% ${how}`;
}

/** The call path's targets (issue 16), each met or missed and by how much, from one run. */
export function renderCallPathTargets(results: ContestantResult[]): string {
  const by = (c: Contestant) => results.find((r) => r.contestant === c);
  const rt = (c: Contestant, procedure: 'echo' | 'echoAuthed') =>
    by(c)?.roundTrip.find((x) => x.procedure === procedure && x.payloadBytes === 100);
  const lines: string[][] = [];
  const add = (
    target: string,
    duplex: Cell | undefined,
    other: Cell | undefined,
    against: string,
    lower: boolean,
    scale = 1,
  ) => {
    const bound = other == null ? null : other * scale;
    lines.push([
      target,
      format(duplex ?? null),
      `${format(other ?? null)} (${against})`,
      ratio(duplex, other),
      verdict(duplex, bound, lower),
    ]);
  };
  add(
    'server CPU per call, with middleware, 1 × 64 (µs) ≤ Socket.IO',
    rt('duplex', 'echoAuthed')?.serverCpuUsPerCall1x64,
    rt('socketio', 'echoAuthed')?.serverCpuUsPerCall1x64,
    'Socket.IO with the same checks',
    true,
  );
  add(
    'server CPU per call, plain echo, 1 × 64 (µs) ≤ Socket.IO',
    rt('duplex', 'echo')?.serverCpuUsPerCall1x64,
    rt('socketio', 'echo')?.serverCpuUsPerCall1x64,
    'Socket.IO ack',
    true,
  );
  add(
    'calls/s, 1 conn × 64 in flight ≥ Socket.IO',
    rt('duplex', 'echo')?.callsPerSecond1x64,
    rt('socketio', 'echo')?.callsPerSecond1x64,
    'Socket.IO ack',
    false,
  );
  add(
    'calls/s with middleware, 1 × 64 ≥ Socket.IO',
    rt('duplex', 'echoAuthed')?.callsPerSecond1x64,
    rt('socketio', 'echoAuthed')?.callsPerSecond1x64,
    'Socket.IO with the same checks',
    false,
  );
  add(
    'round trip p50, 100 B (ms) ≤ 1.5× raw ws',
    rt('duplex', 'echo')?.p50Ms,
    rt('ws', 'echo')?.p50Ms,
    'raw ws',
    true,
    1.5,
  );
  add(
    'stock wsLink → Duplex calls/s, 1 × 64 ≥ stock wsLink → tRPC handler',
    rt('wsLinkDuplex', 'echo')?.callsPerSecond1x64,
    rt('trpc', 'echo')?.callsPerSecond1x64,
    'stock tRPC',
    false,
  );
  add(
    'stock wsLink → Duplex calls/s, 50 × 8 ≥ stock wsLink → tRPC handler',
    rt('wsLinkDuplex', 'echo')?.callsPerSecond50x8,
    rt('trpc', 'echo')?.callsPerSecond50x8,
    'stock tRPC',
    false,
  );
  const header = ['target', 'Duplex', 'against', 'ratio', 'verdict'];
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...lines.map((cells) => `| ${cells.join(' | ')} |`),
  ].join('\n');
}
