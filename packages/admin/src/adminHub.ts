import type { DuplexConnectionInfo, DuplexNodeStats } from '@duplex/server';
import { adminReportsChannel, type ResolvedAdminOptions } from './adminOptions';
import type { ConnectionsFrame, NodeReport, OverviewFrame } from './adminTypes';
import { delay, FailureGate } from './backgroundTask';

/** A node's latest report and when this process received it. */
interface HeardNode {
  report: NodeReport;
  /** Epoch ms on this process's clock (not the node's: clocks of machines differ). */
  heardAt: number;
}

type HistoryEntry = OverviewFrame['history'][number];

/** Options of {@link AdminHub.connections}. */
export interface ConnectionsQuery {
  userId?: string | undefined;
  limit: number;
}

/**
 * The cluster as this process hears it: every node's latest {@link NodeReport} from the
 * broker, a bounded history of their stats, and the staleness rule (a node not heard from for
 * three report intervals is dropped). One per `createDuplexAdmin`; it listens while retained
 * (by `attach` and by each admin subscription) and stops after the last release.
 */
export class AdminHub {
  /** Live nodes by id. */
  private readonly nodes = new Map<string, HeardNode>();
  /** One entry per report interval, oldest first, at most `historyEntries`. */
  private readonly history: HistoryEntry[] = [];
  /** Bumped on every change a subscriber would see (a report, a dropped node). */
  private version = 0;
  private readonly waiters = new Set<() => void>();
  /** Holders of {@link retain}. */
  private holders = 0;
  /** Aborts the broker subscription and the tick; `null` while stopped. */
  private running: AbortController | null = null;
  private tick: ReturnType<typeof setInterval> | null = null;
  private readonly readFailure: FailureGate;
  /** Resolves once the broker subscription is registered (reports published after it arrive). */
  ready: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ResolvedAdminOptions) {
    this.readFailure = new FailureGate('admin.reports', opts.onError);
  }

  /** Keeps the hub listening until the returned function is called (idempotent). */
  retain(): () => void {
    this.holders++;
    if (this.holders === 1) this.start();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holders--;
      if (this.holders === 0) this.stop();
    };
  }

  /** The current change version; pass it to {@link changedSince}. */
  get currentVersion(): number {
    return this.version;
  }

  /** Resolves once something changed after `version`, or when `signal` aborts. */
  changedSince(version: number, signal: AbortSignal): Promise<void> {
    if (this.version > version || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Every live node's latest stats, with the history when asked. */
  overview(withHistory: boolean): OverviewFrame {
    return {
      at: Date.now(),
      nodes: this.liveNodes().map((node) => node.report.stats),
      history: withHistory ? [...this.history] : [],
      reportIntervalMs: this.opts.reportIntervalMs,
      presence: this.liveNodes().flatMap(({ report }) =>
        report.presence ? [report.presence] : [],
      ),
    };
  }

  /** The listed connections of every live node matching `query`. */
  connections(query: ConnectionsQuery): ConnectionsFrame {
    let total = 0;
    const matching: DuplexConnectionInfo[] = [];
    const nodes: ConnectionsFrame['nodes'][number][] = [];
    for (const { report } of this.liveNodes()) {
      total += report.connectionCount;
      nodes.push({ nodeId: report.stats.nodeId, at: report.stats.at });
      for (const connection of report.connections) {
        if (query.userId === undefined || connection.userId === query.userId) {
          matching.push(connection);
        }
      }
    }
    matching.sort((a, b) => b.bufferedBytes - a.bufferedBytes || b.openedAt - a.openedAt);
    return { at: Date.now(), total, connections: matching.slice(0, query.limit), nodes };
  }

  /** Takes in a report, as the broker delivers it. */
  receive(report: NodeReport): void {
    this.nodes.set(report.stats.nodeId, { report, heardAt: Date.now() });
    this.changed();
  }

  private liveNodes(): HeardNode[] {
    return [...this.nodes.values()].sort((a, b) =>
      a.report.stats.nodeId < b.report.stats.nodeId ? -1 : 1,
    );
  }

  private changed(): void {
    this.version++;
    for (const wake of [...this.waiters]) wake();
  }

  private start(): void {
    const running = new AbortController();
    this.running = running;
    const { reportIntervalMs } = this.opts;
    this.tick = setInterval(() => this.onTick(), reportIntervalMs);
    this.tick.unref?.();
    let registered!: () => void;
    this.ready = new Promise((resolve) => {
      registered = resolve;
    });
    void this.listen(running.signal, registered);
  }

  private stop(): void {
    this.running?.abort();
    this.running = null;
    if (this.tick) clearInterval(this.tick);
    this.tick = null;
    this.nodes.clear();
    this.history.length = 0;
    this.changed();
  }

  /** Drops silent nodes and records the interval's history entry. */
  private onTick(): void {
    const now = Date.now();
    const staleBefore = now - 3 * this.opts.reportIntervalMs;
    let dropped = false;
    for (const [nodeId, node] of this.nodes) {
      if (node.heardAt < staleBefore) {
        this.nodes.delete(nodeId);
        dropped = true;
      }
    }
    if (this.opts.historyEntries > 0 && this.nodes.size > 0) {
      this.history.push({
        at: now,
        // Per-procedure and per-channel rows would make the first frame hundreds of KiB.
        nodes: this.liveNodes().map(({ report }) => ({
          ...report.stats,
          procedures: [],
          channels: [],
        })),
      });
      if (this.history.length > this.opts.historyEntries) this.history.shift();
    }
    if (dropped) this.changed();
  }

  /**
   * Follows the reports channel until stopped. A failed subscription is retried every report
   * interval (reported once until it works again); a stream that ends means the broker closed.
   */
  private async listen(signal: AbortSignal, registered: () => void): Promise<void> {
    while (!signal.aborted) {
      try {
        const stream = this.opts.broker.subscribe<NodeReport>(adminReportsChannel, { signal });
        // A failed registration fails the stream too, which reports it below.
        void Promise.resolve(stream.ready).then(registered, registered);
        for await (const item of stream) {
          if (item.type !== 'event') continue;
          this.readFailure.succeed();
          if (isNodeReport(item.data)) this.receive(item.data);
        }
        registered();
        return;
      } catch (error) {
        if (signal.aborted) return;
        this.readFailure.fail(error);
        // The node reports all the same: other nodes may hear it while this one cannot listen.
        registered();
        await delay(this.opts.reportIntervalMs, signal);
      }
    }
    registered();
  }
}

/** Enough of a report's shape to file it; anything else on the channel is ignored. */
function isNodeReport(data: unknown): data is NodeReport {
  const report = data as Partial<NodeReport> | null;
  const stats = report?.stats as Partial<DuplexNodeStats> | undefined;
  return (
    typeof stats?.nodeId === 'string' &&
    Array.isArray(report?.connections) &&
    typeof report?.connectionCount === 'number'
  );
}
