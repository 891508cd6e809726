import type { DuplexInspector } from '@duplex/server';
import {
  adminCommandsChannel,
  adminReportsChannel,
  type ResolvedAdminOptions,
} from './adminOptions';
import { adminCommandSchema } from './adminSchemas';
import type { AdminCommand, NodeReport } from './adminTypes';
import { delay, FailureGate } from './backgroundTask';
import { PresenceReader } from './presenceReader';

/**
 * One attached node's side of the dashboard: it publishes the node's {@link NodeReport} every
 * report interval (ephemeral: never logged, never replayed) and closes connections when an
 * operator's {@link AdminCommand} arrives from another node.
 */
export class NodeReporter {
  /** Aborts the command stream; also tells a publish in flight that it is the last. */
  private readonly running = new AbortController();
  private timer: ReturnType<typeof setInterval> | null = null;
  /** A publish still in flight: the next tick is skipped rather than piling them up. */
  private publishing = false;
  private readonly publishFailure: FailureGate;
  private readonly commandFailure: FailureGate;
  /** Reads the app's presence between reports, when the admin has one. */
  private readonly presence: PresenceReader | null;

  constructor(
    readonly inspector: DuplexInspector,
    private readonly opts: ResolvedAdminOptions,
    /** The admin instance's id: commands it sent were applied here already. */
    private readonly adminId: string,
  ) {
    this.publishFailure = new FailureGate('admin.report', opts.onError);
    this.commandFailure = new FailureGate('admin.commands', opts.onError);
    this.presence = opts.presence
      ? new PresenceReader(opts.presence, inspector.nodeId, opts.onError)
      : null;
  }

  /** Starts listening for commands, and reporting once `hubReady` resolves, then every interval. */
  start(hubReady: Promise<void>): void {
    void this.listen(this.running.signal);
    void hubReady.then(() => {
      if (this.running.signal.aborted) return;
      void this.report();
      this.timer = setInterval(() => void this.report(), this.opts.reportIntervalMs);
      this.timer.unref?.();
    });
  }

  stop(): void {
    this.running.abort();
    this.presence?.stop();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Applies a command to this node: how many connections it closed. */
  apply(command: AdminCommand): number {
    // The server logs each connection it closes (at `warn`, through its `logger`) with `by`.
    const by = { by: command.by };
    if (command.type === 'disconnect') {
      return this.inspector.disconnect(command.connectionId, by) ? 1 : 0;
    }
    return this.inspector.disconnectUser(command.userId, by);
  }

  /** The report this node publishes now (it starts the presence read for the next one). */
  snapshot(): NodeReport {
    const stats = this.inspector.stats();
    const connections = this.inspector.connections({ limit: this.opts.maxConnectionsListed });
    return {
      stats,
      connections,
      connectionCount: stats.connections.websocket + stats.connections.http,
      presence: this.presence?.next(stats) ?? null,
    };
  }

  private async report(): Promise<void> {
    if (this.publishing || this.running.signal.aborted) return;
    this.publishing = true;
    try {
      await this.opts.broker.publish(adminReportsChannel, this.snapshot(), { ephemeral: true });
      this.publishFailure.succeed();
    } catch (error) {
      // A broker closed under a stopping node is not a failure worth reporting.
      if (!this.running.signal.aborted) this.publishFailure.fail(error);
    } finally {
      this.publishing = false;
    }
  }

  /** Follows the commands channel until stopped; retried every interval after a failure. */
  private async listen(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        for await (const item of this.opts.broker.subscribe<unknown>(adminCommandsChannel, {
          signal,
        })) {
          if (item.type !== 'event') continue;
          this.commandFailure.succeed();
          this.onCommand(item.data);
        }
        return;
      } catch (error) {
        if (signal.aborted) return;
        this.commandFailure.fail(error);
        await delay(this.opts.reportIntervalMs, signal);
      }
    }
  }

  private onCommand(data: unknown): void {
    const parsed = adminCommandSchema.safeParse(data);
    if (!parsed.success) {
      this.commandFailure.fail(new Error(`Malformed admin command: ${parsed.error.message}`));
      return;
    }
    const command = parsed.data;
    if (command.from === this.adminId) return;
    let closed: number;
    try {
      closed = this.apply(command);
    } catch (error) {
      this.commandFailure.fail(error);
      return;
    }
    if (closed > 0) {
      this.opts.audit({
        command,
        nodeId: this.inspector.nodeId,
        closed,
        phase: 'applied',
        at: Date.now(),
      });
    }
  }
}
