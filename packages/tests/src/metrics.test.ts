import { procedureBucketsSeconds } from '@duplex/server';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { startTestServer, testClient } from './fixtures';
import { closeCodeOf, nextMessages, openAuthedRawSocket } from './helpers';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the Prometheus text format (0.0.4) strictly: every line is a `# HELP`, a `# TYPE`, a
 * sample of a family declared before it, or blank; anything else fails the test.
 */
function parseExposition(text: string) {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  // prom-client writes NaN as `Nan` (a fresh event-loop histogram); Prometheus reads floats
  // with Go's ParseFloat, which takes any case.
  const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|Nan|[+-]Inf)$/;
  const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    const type =
      /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      expect(types.has(type[1] as string), `${type[1]} declared twice`).toBe(false);
      types.set(type[1] as string, type[2] as string);
      continue;
    }
    const match = sampleLine.exec(line);
    expect(match, `not an exposition line: ${line}`).not.toBeNull();
    const [, name, rawLabels = '', value] = match as RegExpExecArray;
    const family = (name as string).replace(/_(bucket|sum|count)$/, '');
    expect(types.has(name as string) || types.has(family), `${name} has no # TYPE`).toBe(true);
    const labels: Record<string, string> = {};
    labelPair.lastIndex = 0;
    let consumed = 0;
    for (let pair = labelPair.exec(rawLabels); pair; pair = labelPair.exec(rawLabels)) {
      labels[pair[1] as string] = pair[2] as string;
      consumed = labelPair.lastIndex;
    }
    expect(consumed, `bad labels: ${line}`).toBe(rawLabels.length);
    samples.push({ name: name as string, labels, value: Number(value) });
  }
  const value = (name: string, labels: Record<string, string> = {}) =>
    samples.find(
      (s) =>
        s.name === name &&
        Object.keys(labels).length === Object.keys(s.labels).length &&
        Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    )?.value;
  return { types, samples, value };
}

async function scrape(httpUrl: string) {
  const res = await fetch(`${httpUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(await res.text());
}

describe('GET /metrics', () => {
  it('serves per-procedure histograms, errors, closes and connections by transport', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    for (let n = 0; n < 3; n++) await client.echo.query({ text: 'hi' });
    await expect(client.forbidden.query()).rejects.toThrow('Not yours');
    const refused = await openAuthedRawSocket(server.wsUrl, 'bad token');
    expect(await closeCodeOf(refused)).toBe(4401);
    // A path the router lacks gets NOT_FOUND, and no series of its own.
    const raw = await openAuthedRawSocket(server.wsUrl, 'user:raw');
    await nextMessages(raw, 1);
    raw.send(
      JSON.stringify({
        id: 1,
        method: 'query',
        params: { path: 'no.such.path', input: { json: 1 } },
      }),
    );
    expect(await nextMessages(raw, 1)).toMatchObject([
      { id: 1, error: { json: { data: { code: 'NOT_FOUND' } } } },
    ]);
    raw.close();

    const { types, samples, value } = await scrape(server.httpUrl);
    expect(types.get('duplex_procedure_duration_seconds')).toBe('histogram');
    expect(types.get('duplex_procedure_errors_total')).toBe('counter');
    expect(types.get('duplex_closes_total')).toBe('counter');
    expect(types.get('duplex_connections')).toBe('gauge');
    const echo = { path: 'echo', type: 'query' };
    const buckets = samples.filter(
      (s) => s.name === 'duplex_procedure_duration_seconds_bucket' && s.labels.path === 'echo',
    );
    expect(buckets.map((s) => s.labels.le)).toEqual([
      ...procedureBucketsSeconds.map(String),
      '+Inf',
    ]);
    // Cumulative: never decreasing, ending at the count.
    for (let i = 1; i < buckets.length; i++) {
      expect(buckets[i]?.value).toBeGreaterThanOrEqual(buckets[i - 1]?.value as number);
    }
    expect(buckets.at(-1)?.value).toBe(3);
    expect(value('duplex_procedure_duration_seconds_count', echo)).toBe(3);
    expect(value('duplex_procedure_duration_seconds_sum', echo)).toBeGreaterThan(0);
    expect(
      value('duplex_procedure_errors_total', {
        path: 'forbidden',
        type: 'query',
        code: 'FORBIDDEN',
      }),
    ).toBe(1);
    expect(value('duplex_errors_total', { code: 'FORBIDDEN' })).toBe(1);
    expect(value('duplex_errors_total', { code: 'NOT_FOUND' })).toBe(1);
    expect(samples.some((s) => s.labels.path === 'no.such.path')).toBe(false);
    expect(value('duplex_closes_total', { code: '4401' })).toBe(1);
    expect(value('duplex_connections', { transport: 'websocket' })).toBe(1);
    expect(value('duplex_connections', { transport: 'http' })).toBe(0);
    // The existing series keep their names and meanings.
    expect(value('duplex_refused_unauthorized_total')).toBe(1);
    expect(value('duplex_frames_in_total')).toBeGreaterThan(0);
    // prom-client's default process metrics.
    expect(types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(types.has('nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it("serves the app's own metrics from the registry it passed, and no process metrics when told", async () => {
    const registry = new Registry();
    const messages = new Counter({
      name: 'app_messages_total',
      help: 'Messages sent',
      registers: [registry],
    });
    messages.inc(7);
    await using server = await startTestServer({ registry, processMetrics: false });
    expect(server.server.registry).toBe(registry);
    const { types, value } = await scrape(server.httpUrl);
    expect(value('app_messages_total')).toBe(7);
    expect(types.get('duplex_frames_in_total')).toBe('counter');
    expect(types.has('process_cpu_user_seconds_total')).toBe(false);
    // The registry outlives the server: a restart registers Duplex's families again.
    await server.restart();
    const after = await scrape(server.httpUrl);
    expect(after.value('app_messages_total')).toBe(7);
    expect(after.value('duplex_connections', { transport: 'websocket' })).toBe(0);
  });

  it('refuses a registry another open server already uses', async () => {
    const registry = new Registry();
    await using server = await startTestServer({ registry });
    await expect(startTestServer({ registry })).rejects.toThrow(/already has duplex_connections/);
    expect(server.server.registry).toBe(registry);
  });
});
