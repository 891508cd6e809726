/**
 * Server counters in Prometheus text format. Hand-written rather than `prom-client`: a dozen
 * counters need no registry, and the hot path is a plain integer increment.
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

/** Renders the counters, plus the live connection gauge, as Prometheus text (version 0.0.4). */
export function renderMetrics(metrics: DuplexMetrics, connections: number): string {
  const lines = [
    '# HELP duplex_connections Open WebSocket connections',
    '# TYPE duplex_connections gauge',
    `duplex_connections ${connections}`,
  ];
  for (const [key, type, name, help] of series) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${metrics[key]}`);
  }
  return `${lines.join('\n')}\n`;
}
