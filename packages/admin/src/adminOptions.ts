import type { Broker, DuplexErrorHandler, Presence } from '@duplex/server';
import type { AdminCommand } from './adminTypes';

/** Options of {@link createDuplexAdmin}. */
export interface DuplexAdminOptions<TUser> {
  /**
   * Who may use the dashboard. Checked by every admin procedure; anyone else gets `FORBIDDEN`
   * (`Not an operator`). A subscription checks once, when it starts.
   */
  authorize: (user: TUser) => boolean | Promise<boolean>;
  /**
   * Where nodes publish their reports and operators' commands travel: the broker you give
   * `createDuplexServer`. On `@duplex/redis` every node of the cluster shows up.
   */
  broker: Broker;
  /**
   * How often each node publishes its figures. A node not heard from for three intervals is
   * dropped from the dashboard. At least 50.
   * @default 2_000
   */
  reportIntervalMs?: number;
  /**
   * How far back the first `overview` frame's history reaches, one entry per report interval.
   * At most one hour, and at most 1,800 entries: with a short `reportIntervalMs` the history
   * covers 1,800 intervals.
   * @default 300_000 (five minutes)
   */
  historyMs?: number;
  /**
   * The most connections each node lists in its report (most buffered bytes first, then
   * newest): what `admin.connections` can show of that node. 1 to 10,000.
   * @default 200
   */
  maxConnectionsListed?: number;
  /**
   * The app's presence (the one its modules `join`, e.g. the chat module's `presence`): the
   * Channels view then shows who is present on each channel. Each report reads it for the
   * node's 20 most subscribed channels (one `members()` call each), between reports so that a
   * slow presence never holds one up; a read that takes longer than `reportIntervalMs` is
   * reported (`task: 'admin.presence'`) and shown as unknown.
   * @default none: the Channels view shows no presence
   */
  presence?: Presence;
  /**
   * Receives failures of the admin's background work as `source: 'background'` reports:
   * publishing this node's report (`task: 'admin.report'`), reading reports
   * (`'admin.reports'`), reading or applying commands (`'admin.commands'`), reading presence
   * (`'admin.presence'`). A failure that
   * repeats is reported once until the work succeeds again. Pass the server's `onError`.
   * @default logs with console.error
   */
  onError?: DuplexErrorHandler<never>;
  /**
   * Records each operator action: once where it was issued (`phase: 'issued'`, with what that
   * node closed) and once on every other node that closed something because of it
   * (`'applied'`). Besides, each server logs every connection it closes at `warn` through its
   * own `logger`, naming the operator (`event: 'duplex.operatorDisconnect'`).
   * @default logs the `issued` entries, one `[duplex] admin …` line each on console.warn
   */
  audit?: (entry: AdminAuditEntry) => void;
}

/** One operator action, as {@link DuplexAdminOptions.audit} receives it. */
export interface AdminAuditEntry {
  readonly command: AdminCommand;
  /** The node that applied it, or `null` where no server is attached. */
  readonly nodeId: string | null;
  /** Connections that node closed. */
  readonly closed: number;
  /** `issued` on the node the operator's call came to; `applied` on the others. */
  readonly phase: 'issued' | 'applied';
  /** Epoch ms. */
  readonly at: number;
}

/** Defaults of {@link DuplexAdminOptions}. */
export const duplexAdminDefaults = {
  reportIntervalMs: 2_000,
  historyMs: 300_000,
  maxConnectionsListed: 200,
} as const;

/** The broker channel every node publishes its {@link NodeReport} on (ephemeral events). */
export const adminReportsChannel = 'duplex.admin.reports';
/** The broker channel operators' {@link AdminCommand}s travel on (ephemeral events). */
export const adminCommandsChannel = 'duplex.admin.commands';

/** The most entries the overview's history may hold. */
const maxHistoryEntries = 1_800;

/** The options with defaults applied, checked. */
export interface ResolvedAdminOptions {
  broker: Broker;
  reportIntervalMs: number;
  historyEntries: number;
  maxConnectionsListed: number;
  presence: Presence | null;
  onError: DuplexErrorHandler<never>;
  audit: (entry: AdminAuditEntry) => void;
}

const defaultOnError: DuplexErrorHandler<never> = (report) =>
  console.error(`[duplex] background ${report.task ?? report.path}:`, report.error);

/**
 * The default `audit`: an `issued` entry as `[duplex] admin disconnect connection ab-3 by
 * "root": closed 1 on node h:12:x (issued)`; `applied` entries are left to the server's log.
 */
export function logAuditEntry(entry: AdminAuditEntry): void {
  const { command } = entry;
  if (entry.phase !== 'issued') return;
  const target =
    command.type === 'disconnect'
      ? `connection ${command.connectionId}`
      : `user ${JSON.stringify(command.userId)}`;
  console.warn(
    `[duplex] admin ${command.type} ${target} by ${JSON.stringify(command.by)}: closed ${entry.closed} on node ${entry.nodeId ?? '(none attached)'} (${entry.phase})`,
  );
}

/** Applies the defaults and checks the limits; throws a `RangeError` naming a bad option. */
export function resolveAdminOptions<TUser>(opts: DuplexAdminOptions<TUser>): ResolvedAdminOptions {
  const reportIntervalMs = opts.reportIntervalMs ?? duplexAdminDefaults.reportIntervalMs;
  const historyMs = opts.historyMs ?? duplexAdminDefaults.historyMs;
  const maxConnectionsListed =
    opts.maxConnectionsListed ?? duplexAdminDefaults.maxConnectionsListed;
  if (!Number.isFinite(reportIntervalMs) || reportIntervalMs < 50) {
    throw new RangeError('createDuplexAdmin: reportIntervalMs must be at least 50');
  }
  if (!(historyMs >= 0 && historyMs <= 3_600_000)) {
    throw new RangeError('createDuplexAdmin: historyMs must be between 0 and 3,600,000');
  }
  const historyEntries = Math.min(Math.ceil(historyMs / reportIntervalMs), maxHistoryEntries);
  if (
    !Number.isInteger(maxConnectionsListed) ||
    maxConnectionsListed < 1 ||
    maxConnectionsListed > 10_000
  ) {
    throw new RangeError('createDuplexAdmin: maxConnectionsListed must be an integer, 1 to 10,000');
  }
  return {
    broker: opts.broker,
    reportIntervalMs,
    historyEntries,
    maxConnectionsListed,
    presence: opts.presence ?? null,
    onError: opts.onError ?? defaultOnError,
    audit: opts.audit ?? logAuditEntry,
  };
}
