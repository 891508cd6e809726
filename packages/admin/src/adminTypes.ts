/**
 * What the admin router sends the dashboard page. The router (`createAdminRouter`) and the page
 * (`src/page/`) both build on these types; besides them the page takes only the dashboard's
 * channel names from `adminOptions.ts`.
 *
 * Every node publishes a {@link NodeReport} over the broker every `reportIntervalMs` (2 s) as an
 * ephemeral event; a node not heard from for 3 intervals is dropped. The router's subscriptions
 * fold the reports of every node into the frames below, so one node and a cluster look the
 * same to the page.
 */
import type { DuplexConnectionInfo, DuplexNodeStats, PresenceMember } from '@duplex/server';

/**
 * Who is present on one channel, as the app's `Presence` (the `presence` option) says: cluster
 * wide, so every node that lists the channel reports the same members; the page takes the
 * newest report rather than adding them up.
 */
export interface ChannelPresence {
  readonly channel: string;
  /** Members present. */
  readonly count: number;
  /** The first {@link maxPresenceMembersListed} of them, in the order they arrived. */
  readonly members: readonly PresenceMember[];
}

/** The most channels a node reads presence for in each report (its most subscribed). */
export const maxPresenceChannels = 20;
/** The most members a {@link ChannelPresence} lists. */
export const maxPresenceMembersListed = 20;

/** A node's presence figures in a frame, with when it read them. */
export interface NodePresence {
  readonly nodeId: string;
  /** Epoch ms on that node when its read of presence ended. */
  readonly at: number;
  readonly channels: readonly ChannelPresence[];
}

/** What each node publishes on the admin channel every report interval. */
export interface NodeReport {
  readonly stats: DuplexNodeStats;
  /** The node's connections, most buffered first then newest, at most `maxConnectionsListed`. */
  readonly connections: readonly DuplexConnectionInfo[];
  /** How many connections the node has in all (the list may be cut). */
  readonly connectionCount: number;
  /**
   * Presence on the node's most subscribed channels (at most {@link maxPresenceChannels}), from
   * its latest read that ended in time; `null` without the `presence` option or while no read
   * has. Reads run between reports, so they never delay one.
   */
  readonly presence: NodePresence | null;
}

/**
 * One frame of `admin.overview`: every live node's latest figures. The first frame a
 * subscriber gets carries `history` (the frames of the last `historyMs`, oldest first, stats
 * only), so charts fill at once; later frames have `history: []`.
 *
 * History keeps one entry per report interval with each live node's latest stats, so a node
 * whose next report is late appears twice with the same `stats.at`: derive rates from
 * `stats.at`, not from the entry's `at`. To keep the first frame small, history stats carry
 * `procedures: []` and `channels: []`; the live frames carry them in full.
 */
export interface OverviewFrame {
  /** Epoch ms on the node that serves the subscription. */
  readonly at: number;
  /** Live nodes, sorted by `nodeId`. */
  readonly nodes: readonly DuplexNodeStats[];
  readonly history: readonly { readonly at: number; readonly nodes: readonly DuplexNodeStats[] }[];
  /** The report interval, so the page can tell how stale a node is. */
  readonly reportIntervalMs: number;
  /**
   * Each live node's latest presence read (nodes without one are left out). Presence is
   * cluster-wide: for a channel, show the newest (`at`), do not add them up.
   */
  readonly presence: readonly NodePresence[];
}

/** One frame of `admin.connections`: the listed connections of every live node. */
export interface ConnectionsFrame {
  readonly at: number;
  /** Connections across the cluster (listed or not). */
  readonly total: number;
  /** Matching connections, most buffered first then newest, at most the input's `limit`. */
  readonly connections: readonly DuplexConnectionInfo[];
  /**
   * When each live node took the snapshot its connections come from (its `stats.at`): a
   * connection's calls/s is the change of its `calls` between two snapshots of its node, and
   * two frames may carry the same one.
   */
  readonly nodes: readonly { readonly nodeId: string; readonly at: number }[];
}

/**
 * A command an operator sent, delivered to every node over the broker. `by` is the operator's
 * user id; `from` the admin instance that sent it, which applied it to its own node already
 * (to answer `localClosed`) and so skips it when the broker hands it back.
 */
export type AdminCommand =
  | {
      readonly type: 'disconnect';
      readonly connectionId: string;
      readonly by: string;
      readonly from: string;
    }
  | {
      readonly type: 'disconnectUser';
      readonly userId: string;
      readonly by: string;
      readonly from: string;
    };
