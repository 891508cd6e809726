/**
 * Prints where a `.cpuprofile` spends its time: the top functions by self time, as a share of
 * the busy time (idle and the profiler's own "(program)" left out), and the same grouped by file.
 *
 * Run: npx tsx bench/realtime/profileSummary.ts <file.cpuprofile> [top=15]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function and per file, in µs, busy time only. */
export function summarizeProfile(profile: CpuProfile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const functions = new Map<string, number>();
  const files = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = (byId.get(id) as ProfileNode).callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    busyUs += us;
    const file = url.replace(/^.*node_modules\//, '').replace(/^.*\/packages\//, 'packages/');
    const key = `${functionName || '(anonymous)'} ${file ? `${file.split('/').at(-1)}:${lineNumber + 1}` : ''}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
    const fileKey = file || functionName;
    files.set(fileKey, (files.get(fileKey) ?? 0) + us);
  }
  const top = (map: Map<string, number>) =>
    [...map].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, share: us / busyUs }));
  return { busyUs, functions: top(functions), files: top(files) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: profileSummary.ts <file.cpuprofile> [top]');
  const count = Number(topArg ?? 15);
  const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const pct = (share: number) => `${(share * 100).toFixed(1).padStart(5)}%`;
  console.log(`${file}: busy ${(summary.busyUs / 1000).toFixed(0)} ms`);
  for (const { name, share } of summary.functions.slice(0, count)) {
    console.log(`  ${pct(share)}  ${name}`);
  }
  console.log('  by file:');
  for (const { name, share } of summary.files.slice(0, 10)) console.log(`  ${pct(share)}  ${name}`);
}
