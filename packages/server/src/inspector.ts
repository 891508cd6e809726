import { hostname } from 'node:os';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { Broker, BrokerStats } from './broker';
import type { ConnectionRegistry, LiveConnection } from './connectionRegistry';
import type {
  DuplexConnectionInfo,
  DuplexConnectionQuery,
  DuplexInspector,
  DuplexNodeStats,
} from './inspection';
import type { DuplexLogger } from './logger';
import type { DuplexMetrics } from './metrics';
import type { ServerFigures } from './serverFigures';

/** What {@link createInspector} reads. */
export interface InspectorOptions {
  nodeId: string;
  registry: ConnectionRegistry;
  figures: ServerFigures;
  metrics: DuplexMetrics;
  broker: Broker;
  logger: DuplexLogger;
}

/** `<hostname>:<pid>:<random6>`, the default `nodeId`. */
export function defaultNodeId(): string {
  return `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8).padEnd(6, '0')}`;
}

const otherBroker: BrokerStats = {
  kind: 'other',
  state: 'ready',
  outages: 0,
  publishBuckets: null,
  channels: [],
};

/** How often the event-loop monitor samples; its readings are this much above the lateness. */
const loopDelayResolutionMs = 20;

/** The default and the cap of {@link DuplexConnectionQuery.limit}. */
const defaultConnectionLimit = 200;
const maxConnectionLimit = 10_000;

/** Most buffered bytes first, then newest. */
function byBufferedThenNewest(a: DuplexConnectionInfo, b: DuplexConnectionInfo): number {
  return b.bufferedBytes - a.bufferedBytes || b.openedAt - a.openedAt;
}

/** A server's inspector; `stop()` releases the event-loop monitor when the server closes. */
export interface ServerInspector extends DuplexInspector {
  stop(): void;
}

/**
 * The server's view of itself ({@link DuplexInspector}). The event-loop monitor starts with the
 * first `stats()`, so a server nobody inspects runs no extra timer.
 */
export function createInspector(opts: InspectorOptions): ServerInspector {
  const { nodeId, registry, figures, metrics, broker, logger } = opts;
  const startedAt = Date.now();
  let loopDelay: IntervalHistogram | null = null;

  const disconnectOne = (live: LiveConnection, by: string | undefined, reason: string) => {
    logger.warn(
      {
        event: 'duplex.operatorDisconnect',
        nodeId,
        connectionId: live.id,
        userId: live.userId,
        transport: live.transport,
        remoteAddress: live.remoteAddress,
        by: by ?? null,
        reason,
      },
      `${by ?? 'an operator'} disconnected ${live.transport} connection ${live.id} (user ${live.userId ?? 'none'})`,
    );
    live.disconnect();
  };

  return {
    nodeId,
    stats(): DuplexNodeStats {
      if (!loopDelay) {
        loopDelay = monitorEventLoopDelay({ resolution: loopDelayResolutionMs });
        loopDelay.enable();
      }
      const connections = { websocket: 0, http: 0 };
      const users = new Set<string>();
      let subscriptions = 0;
      let events = registry.closedEvents;
      for (const live of registry.live) {
        connections[live.transport]++;
        if (live.userId !== null) users.add(live.userId);
        subscriptions += live.subscriptions;
        events += live.events;
      }
      const procedures = [];
      let calls = 0;
      for (const procedure of figures.procedures.values()) {
        calls += procedure.calls;
        if (procedure.calls > 0) procedures.push(procedure.stats());
      }
      const closesByCode = Object.fromEntries(figures.closes);
      if (metrics.refusedOrigin > 0) closesByCode['403'] = metrics.refusedOrigin;
      if (metrics.refusedCapacity > 0) closesByCode['503'] = metrics.refusedCapacity;
      // The histogram reads nanoseconds between samples, the sampling interval included (an idle
      // loop reads 20 ms), and a fresh one (no sample yet) reads NaN and huge values.
      const lateMs = (ns: number) => Math.max(0, ns / 1e6 - loopDelayResolutionMs);
      const delay =
        loopDelay.count > 0
          ? {
              p50: lateMs(loopDelay.percentile(50)),
              p99: lateMs(loopDelay.percentile(99)),
              max: lateMs(loopDelay.max),
            }
          : { p50: 0, p99: 0, max: 0 };
      loopDelay.reset();
      const { heapUsed, rss } = process.memoryUsage();
      const cpu = process.cpuUsage();
      const { channels, ...brokerStats } = broker.stats?.() ?? otherBroker;
      return {
        nodeId,
        at: Date.now(),
        startedAt,
        connections,
        usersOnline: users.size,
        subscriptions,
        calls,
        events,
        closesByCode,
        errorsByCode: Object.fromEntries(figures.errors),
        eventLoopDelayMs: delay,
        memory: { heapUsedBytes: heapUsed, rssBytes: rss },
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        procedures,
        channels: channels.slice(0, 100),
        broker: brokerStats,
      };
    },
    connections(query: DuplexConnectionQuery = {}): DuplexConnectionInfo[] {
      const limit = Math.max(
        0,
        Math.min(query.limit ?? defaultConnectionLimit, maxConnectionLimit),
      );
      const list: DuplexConnectionInfo[] = [];
      for (const live of registry.live) {
        if (query.userId === undefined || live.userId === query.userId)
          list.push(live.info(nodeId));
      }
      return list.sort(byBufferedThenNewest).slice(0, limit);
    },
    disconnect(connectionId, disconnectOpts) {
      for (const live of registry.live) {
        if (live.id !== connectionId) continue;
        disconnectOne(live, disconnectOpts?.by, 'connection');
        return true;
      }
      return false;
    },
    disconnectUser(userId, disconnectOpts) {
      const matching = [...registry.live].filter((live) => live.userId === userId);
      for (const live of matching) disconnectOne(live, disconnectOpts?.by, 'user');
      return matching.length;
    },
    stop() {
      loopDelay?.disable();
    },
  };
}
