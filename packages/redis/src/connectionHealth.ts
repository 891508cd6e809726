import type { RedisConnectionOptions } from './redisConnection';

/** What `onConnectionChange` is told. */
export type ConnectionChange = Parameters<
  Required<RedisConnectionOptions>['onConnectionChange']
>[0];

/**
 * The health of a group of Redis connections that serve one broker or presence (the broker has
 * two: commands and subscriber). Redis going away drops every connection of the group, each on
 * its own; the group reports that as one outage: `lost` when the first connection drops while
 * all were up, `restored` once every one of them is back.
 */
export class ConnectionHealth {
  /** Connections of the group that are down right now, by role. */
  readonly #down = new Set<string>();
  /** Whether `lost` has been reported and `restored` not yet. */
  #lost = false;

  /** @param report told of each outage and each recovery, once */
  constructor(private readonly report: (event: ConnectionChange) => void) {}

  /** The connection `role` dropped (it reconnects in the background). */
  down(role: string, error?: Error): void {
    this.#down.add(role);
    if (this.#lost) return;
    this.#lost = true;
    this.report(error ? { state: 'lost', error } : { state: 'lost' });
  }

  /** The connection `role` is ready again. */
  up(role: string): void {
    this.#down.delete(role);
    if (!this.#lost || this.#down.size > 0) return;
    this.#lost = false;
    this.report({ state: 'restored' });
  }
}
