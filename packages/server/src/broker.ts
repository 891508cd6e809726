import type { DuplexBrokerStats, DuplexChannelStats } from './inspection';

/**
 * A publish/subscribe broker with a per-channel resume log. The in-memory implementation is
 * {@link createMemoryBroker}; `@duplex/redis` implements the same interface on Redis Streams.
 */
export interface Broker {
  /**
   * Appends `data` to the channel's log and delivers it to every live subscriber.
   * @returns the event id, which subscribers can later resume after.
   */
  publish<TData>(channel: string, data: TData, opts?: BrokerPublishOptions): Promise<string>;
  /**
   * Streams the channel's events. Without `lastEventId` the stream starts live, and its first
   * item is a cursor: the id it starts after, so a subscriber that has seen no event yet can
   * still resume without loss. With `lastEventId` it
   * first replays every retained event after it, then goes live with no event lost or repeated
   * at the seam. If `lastEventId` is older than retention (or from another log), the first
   * item is a gap, followed by every event still retained (all newer than the cursor), then
   * live events.
   */
  subscribe<TData>(channel: string, opts?: BrokerSubscribeOptions): BrokerSubscription<TData>;
  /** The newest event id of a channel, or `null` if it has none. */
  headEventId(channel: string): Promise<string | null>;
  /** Ends every subscription and releases resources. */
  close(): Promise<void>;
  /**
   * What the broker tells an operator (`server.inspector.stats().broker` and `.channels`):
   * optional, and cheap enough to call every few seconds. A broker without it is reported as
   * `kind: 'other'`, always `ready`, with no channels.
   */
  stats?(): BrokerStats;
}

/** What {@link Broker.stats} returns: the broker's state and its channels on this node. */
export interface BrokerStats extends DuplexBrokerStats {
  /** Channels with subscribers on this node, most subscribed first, at most 100. */
  readonly channels: readonly DuplexChannelStats[];
}

/** What {@link Broker.subscribe} returns: the stream, and when it is registered. */
export interface BrokerSubscription<TData> extends AsyncIterable<BrokerItem<TData>> {
  /**
   * Resolves once the subscription is registered: every event published from then on reaches
   * it (after the replay, if resuming). A remote broker registers asynchronously (Redis needs
   * a round trip); one that registers within `subscribe` (in-memory) may leave it out.
   * `streamChannel` awaits it before `onOpen`.
   */
  readonly ready?: Promise<void>;
}

/** Options of {@link Broker.publish}. */
export interface BrokerPublishOptions {
  /**
   * Delivers to live subscribers only: never logged, never replayed (typing, presence). Its id
   * is `<newest logged id>~<n>`; resuming after it resumes after that logged id.
   */
  ephemeral?: boolean;
}

/** Options of {@link Broker.subscribe}. */
export interface BrokerSubscribeOptions {
  /** Resume after this event id. */
  lastEventId?: string | null | undefined;
  /** Ends the stream when aborted. */
  signal?: AbortSignal | undefined;
}

/** One item of a broker stream: an event, or a gap the subscriber must recover from. */
export type BrokerItem<TData> =
  | { readonly type: 'event'; readonly id: string; readonly data: TData }
  | { readonly type: 'cursor'; readonly id: string }
  | { readonly type: 'gap'; readonly id: string; readonly requestedEventId: string };
