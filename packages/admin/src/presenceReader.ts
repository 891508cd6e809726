import type { DuplexErrorHandler, DuplexNodeStats, Presence } from '@duplex/server';
import { adminCommandsChannel, adminReportsChannel } from './adminOptions';
import {
  type ChannelPresence,
  maxPresenceChannels,
  maxPresenceMembersListed,
  type NodePresence,
} from './adminTypes';
import { FailureGate } from './backgroundTask';

/**
 * Reads the app's `Presence` for a node's reports. On Redis each `members()` is a round trip,
 * so a read never holds a report up: each report carries the read that ended since the one
 * before and starts the next, one `members()` call per listed channel (its
 * {@link maxPresenceChannels} most subscribed). A read still running when the next report is
 * due is late: reported to `onError` (`task: 'admin.presence'`, once per outage), that report
 * carries no presence, its result is dropped, and no second read starts until it ends, so a
 * slow presence is never asked twice at once.
 */
export class PresenceReader {
  /** The last read that ended in time, or `null`. */
  private latest: NodePresence | null = null;
  /** A read in flight. */
  private reading = false;
  /** The read in flight missed its report: its result is stale when it comes. */
  private late = false;
  private stopped = false;
  private readonly failure: FailureGate;

  constructor(
    private readonly presence: Presence,
    private readonly nodeId: string,
    onError: DuplexErrorHandler<never>,
  ) {
    this.failure = new FailureGate('admin.presence', onError);
  }

  /** The presence for the report of `stats`; starts the read for the next report. */
  next(stats: DuplexNodeStats): NodePresence | null {
    if (this.reading) {
      this.late = true;
      this.latest = null;
      this.failure.fail(new Error('Presence did not answer within one report interval'));
      return null;
    }
    const ready = this.latest;
    void this.read(presenceChannels(stats));
    return ready;
  }

  /** Drops reads in flight. */
  stop(): void {
    this.stopped = true;
  }

  private async read(channels: readonly string[]): Promise<void> {
    this.reading = true;
    this.late = false;
    const results = await Promise.allSettled(
      channels.map(async (channel): Promise<ChannelPresence> => {
        const members = await this.presence.members(channel);
        return {
          channel,
          count: members.length,
          // Only what the page shows: an app's members may carry more.
          members: members.slice(0, maxPresenceMembersListed).map(({ id, name }) => ({ id, name })),
        };
      }),
    );
    this.reading = false;
    if (this.stopped || this.late) return;
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) this.failure.fail(failed.reason);
    else this.failure.succeed();
    this.latest = {
      nodeId: this.nodeId,
      at: Date.now(),
      channels: results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
    };
  }
}

/** The channels a report reads presence for: the most subscribed, not the dashboard's own. */
function presenceChannels(stats: DuplexNodeStats): string[] {
  return (stats.channels ?? [])
    .map((c) => c.channel)
    .filter((channel) => channel !== adminReportsChannel && channel !== adminCommandsChannel)
    .slice(0, maxPresenceChannels);
}
