import { collectDefaultMetrics, type Metric, Registry } from 'prom-client';
import type { ConnectionRegistry } from './connectionRegistry';
import { procedureBucketsSeconds } from './inspection';
import type { ServerFigures } from './serverFigures';

/**
 * The server's live counters, plain integers the hot path increments; `GET /metrics` reads them
 * at scrape time (see {@link registerDuplexMetrics}).
 */
export interface DuplexMetrics {
  connectionsOpened: number;
  subscriptions: number;
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  refusedUnauthorized: number;
  refusedOrigin: number;
  refusedCapacity: number;
  rateLimitedCalls: number;
  closedRateLimited: number;
  closedSlowConsumer: number;
  reapedDeadPeers: number;
  /** Sockets destroyed as accepted, at `maxHttpConnections` or `maxConnectionsPerIp`. */
  refusedSockets: number;
  /** Sockets destroyed for pipelining past `maxPipelinedRequests`. */
  closedPipelining: number;
  /** WebSocket connections closed with 4409 at `maxConnectionsPerUser`. */
  refusedUserConnections: number;
  /** Frames refused unparsed for nesting past `maxJsonDepth`. */
  refusedDeepFrames: number;
}

export function createMetrics(): DuplexMetrics {
  return {
    connectionsOpened: 0,
    subscriptions: 0,
    framesIn: 0,
    bytesIn: 0,
    framesOut: 0,
    bytesOut: 0,
    refusedUnauthorized: 0,
    refusedOrigin: 0,
    refusedCapacity: 0,
    rateLimitedCalls: 0,
    closedRateLimited: 0,
    closedSlowConsumer: 0,
    reapedDeadPeers: 0,
    refusedSockets: 0,
    closedPipelining: 0,
    refusedUserConnections: 0,
    refusedDeepFrames: 0,
  };
}

const series: [keyof DuplexMetrics, 'counter' | 'gauge', string, string][] = [
  [
    'connectionsOpened',
    'counter',
    'duplex_connections_opened_total',
    'WebSocket connections accepted',
  ],
  ['subscriptions', 'gauge', 'duplex_subscriptions', 'Open subscriptions'],
  ['framesIn', 'counter', 'duplex_frames_in_total', 'WebSocket frames received'],
  ['bytesIn', 'counter', 'duplex_bytes_in_total', 'WebSocket payload bytes received'],
  ['framesOut', 'counter', 'duplex_frames_out_total', 'WebSocket frames sent'],
  ['bytesOut', 'counter', 'duplex_bytes_out_total', 'WebSocket payload bytes sent'],
  [
    'refusedUnauthorized',
    'counter',
    'duplex_refused_unauthorized_total',
    'Connections refused by authenticate',
  ],
  ['refusedOrigin', 'counter', 'duplex_refused_origin_total', 'Upgrades refused for their Origin'],
  [
    'refusedCapacity',
    'counter',
    'duplex_refused_capacity_total',
    'Upgrades refused at maxConnections or during shutdown',
  ],
  [
    'rateLimitedCalls',
    'counter',
    'duplex_rate_limited_calls_total',
    'Calls refused by the rate limit',
  ],
  [
    'closedRateLimited',
    'counter',
    'duplex_closed_rate_limited_total',
    'Connections closed for flooding (4429)',
  ],
  [
    'closedSlowConsumer',
    'counter',
    'duplex_closed_slow_consumer_total',
    'Connections closed as slow consumers (4507)',
  ],
  [
    'reapedDeadPeers',
    'counter',
    'duplex_reaped_dead_peers_total',
    'Silent peers terminated by keepalive',
  ],
  [
    'refusedSockets',
    'counter',
    'duplex_refused_sockets_total',
    'Sockets destroyed on accept at maxHttpConnections or maxConnectionsPerIp',
  ],
  [
    'closedPipelining',
    'counter',
    'duplex_closed_pipelining_total',
    'Sockets destroyed for pipelining past maxPipelinedRequests',
  ],
  [
    'refusedUserConnections',
    'counter',
    'duplex_refused_user_connections_total',
    'WebSocket connections closed with 4409 at maxConnectionsPerUser',
  ],
  [
    'refusedDeepFrames',
    'counter',
    'duplex_refused_deep_frames_total',
    'Frames refused unparsed for nesting past maxJsonDepth',
  ],
];

/** What `registerDuplexMetrics` reads at each scrape. */
export interface MetricsSource {
  metrics: DuplexMetrics;
  connections: ConnectionRegistry;
  figures: ServerFigures;
  /** Open WebSocket connections (`ws`'s own count, sockets still authenticating included). */
  webSockets: () => number;
}

type Labels = Record<string, string>;
interface Sample {
  value: number;
  labels: Labels;
  metricName?: string;
}

/**
 * A family whose samples are read from the server's counters when scraped, registered as a
 * custom metric object (prom-client's `Metric` shape: `name`, `help`, `type`, `aggregator`,
 * `get()`): its classes keep their own values, which would mean a second increment per call on
 * the hot path, and its `Histogram` cannot be handed buckets counted elsewhere.
 */
function readAtScrape(
  name: string,
  type: 'counter' | 'gauge' | 'histogram',
  help: string,
  read: () => Sample[],
): ScrapedMetric {
  const metric: ScrapedMetric = {
    name,
    help,
    type,
    aggregator: 'sum',
    async get() {
      // `this.name`: an OpenMetrics registry renames counters (without `_total`) in place.
      return { name: metric.name, help, type, aggregator: 'sum', values: read() };
    },
    collect() {},
    reset() {},
  };
  return metric;
}

/** The shape prom-client's registry reads of a metric, which its `Metric` type does not spell. */
interface ScrapedMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: Sample[] }>;
  collect(): void;
  reset(): void;
}

const leOf = procedureBucketsSeconds.map(String).concat('+Inf');

/** A tally by one label, as samples. */
function byLabel(map: ReadonlyMap<string, number>, label: string): Sample[] {
  return [...map].map(([key, value]) => ({ value, labels: { [label]: key } }));
}

/**
 * Puts the server's families in `registry`: the counters of {@link DuplexMetrics} (names as
 * before: `duplex_frames_in_total`, ...), `duplex_connections{transport}`, per-procedure
 * latency histograms and errors, closes by code, errors by code and events sent. Every value is
 * read when scraped.
 * @returns removes them again (the server's `close()`), so that a registry the app owns can
 * take a new server's
 */
export function registerDuplexMetrics(registry: Registry, source: MetricsSource): () => void {
  const { metrics, connections, figures } = source;
  const families: ScrapedMetric[] = [
    readAtScrape(
      'duplex_connections',
      'gauge',
      'Open connections by transport (http: event streams)',
      () => [
        { value: source.webSockets(), labels: { transport: 'websocket' } },
        { value: connections.eventStreams, labels: { transport: 'http' } },
      ],
    ),
    ...series.map(([key, type, name, help]) =>
      readAtScrape(name, type, help, () => [{ value: metrics[key], labels: {} }]),
    ),
    readAtScrape(
      'duplex_procedure_duration_seconds',
      'histogram',
      'Procedure call latency in seconds (a subscription: the time to its start)',
      () => {
        const samples: Sample[] = [];
        for (const procedure of figures.procedures.values()) {
          if (procedure.calls === 0) continue;
          const labels = { path: procedure.path, type: procedure.type };
          let cumulative = 0;
          for (let index = 0; index < procedure.buckets.length; index++) {
            cumulative += procedure.buckets[index] as number;
            samples.push({
              value: cumulative,
              labels: { ...labels, le: leOf[index] as string },
              metricName: 'duplex_procedure_duration_seconds_bucket',
            });
          }
          samples.push(
            {
              value: procedure.sumSeconds,
              labels,
              metricName: 'duplex_procedure_duration_seconds_sum',
            },
            {
              value: procedure.calls,
              labels,
              metricName: 'duplex_procedure_duration_seconds_count',
            },
          );
        }
        return samples;
      },
    ),
    readAtScrape(
      'duplex_procedure_errors_total',
      'counter',
      'Procedure calls that ended in an error, by tRPC code',
      () => {
        const samples: Sample[] = [];
        for (const procedure of figures.procedures.values()) {
          if (!procedure.errors) continue;
          for (const [code, value] of procedure.errors) {
            samples.push({ value, labels: { path: procedure.path, type: procedure.type, code } });
          }
        }
        return samples;
      },
    ),
    readAtScrape(
      'duplex_errors_total',
      'counter',
      'Calls answered with an error, by tRPC code (refusals before any procedure included)',
      () => byLabel(figures.errors, 'code'),
    ),
    readAtScrape(
      'duplex_closes_total',
      'counter',
      'Connections the server closed (WebSocket close code) or refused at the upgrade (HTTP status)',
      () => {
        const closes = new Map(figures.closes);
        if (metrics.refusedOrigin > 0) closes.set('403', metrics.refusedOrigin);
        if (metrics.refusedCapacity > 0) closes.set('503', metrics.refusedCapacity);
        return byLabel(closes, 'code');
      },
    ),
    readAtScrape(
      'duplex_events_total',
      'counter',
      'Subscription data frames sent by the Duplex handler (one per subscriber reached)',
      () => {
        let events = connections.closedEvents;
        for (const live of connections.live) events += live.events;
        return [{ value: events, labels: {} }];
      },
    ),
  ];
  for (const family of families) {
    if (registry.getSingleMetric(family.name)) {
      throw new Error(
        `createDuplexServer: the registry already has ${family.name}; give each server its own registry (or close the one before)`,
      );
    }
  }
  for (const family of families) registry.registerMetric(family as unknown as Metric);
  return () => {
    for (const family of families) registry.removeSingleMetric(family.name);
  };
}

let processRegistry: Registry | null = null;

/**
 * prom-client's default metrics (process CPU, memory, handles, event-loop lag, GC), collected
 * once per process into a registry of their own, made on first use: they measure the process,
 * not a server, and collecting them starts an event-loop monitor and a GC observer that nothing
 * stops, which must not happen again for each server a process creates (tests make hundreds).
 */
export function processMetricsRegistry(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * The text of `GET /metrics`: the server's registry (Duplex's families and the app's own), then
 * the process's default metrics when `withProcess` and the registry holds none of its own (an
 * app that collects them itself) and speaks the Prometheus text format (an OpenMetrics registry
 * ends with `# EOF`, after which nothing may follow).
 */
export async function renderMetrics(registry: Registry, withProcess: boolean): Promise<string> {
  const own = await registry.metrics();
  if (
    !withProcess ||
    registry.contentType !== Registry.PROMETHEUS_CONTENT_TYPE ||
    registry.getSingleMetric('process_cpu_user_seconds_total')
  ) {
    return own;
  }
  return `${own}\n${await processMetricsRegistry().metrics()}`;
}
