import { randomBytes } from 'node:crypto';
import {
  backgroundError,
  type Presence,
  type PresenceJoin,
  type PresenceMember,
} from '@duplex/server';
import type Redis from 'ioredis';
import { BrokerUnavailableError } from './brokerUnavailableError';
import { definePresenceScripts } from './presenceScripts';
import {
  closeRedisConnection,
  openRedisConnections,
  type RedisConnectionOptions,
  redisConnectionDefaults,
} from './redisConnection';

/** Options of {@link createRedisPresence}. */
export interface RedisPresenceOptions extends RedisConnectionOptions {
  /**
   * Prefixes every Redis key, so several apps can share one Redis.
   * @default 'duplex:'
   */
  keyPrefix?: string;
  /**
   * A node that stops sending heartbeats (it crashed, or lost Redis) is taken as gone this long
   * after its last one, and its members with it. Heartbeats go out three times per period.
   * @default 15_000
   */
  nodeTtlMs?: number;
}

/** Defaults of {@link RedisPresenceOptions}. */
export const redisPresenceDefaults = {
  keyPrefix: 'duplex:',
  nodeTtlMs: 15_000,
};

/** A cluster-wide {@link Presence}, closable. */
export interface RedisPresence extends Presence, AsyncDisposable {
  /** This node's id in Redis. */
  readonly nodeId: string;
  /** Removes this node's members and stops its heartbeat. */
  close(): Promise<void>;
}

/** A channel's presence hash is dropped this long after its last join if nobody is left. */
const channelTtlMs = 86_400_000;

/**
 * Presence shared by every node on one Redis: members per channel across nodes, one entry per
 * connection, a member present while any of their connections is. Each node keeps a heartbeat
 * key alive; when a node dies without saying goodbye its entries stop counting once its key
 * expires (`nodeTtlMs`), and are deleted by the next read. While Redis is away, joins and leaves
 * are kept locally and written when it returns. Resolves once connected.
 * @example
 * ```ts
 * const presence = await createRedisPresence({ url: process.env.REDIS_URL });
 * const chat = createChatRouter(duplex, { store, presence });
 * ```
 */
export async function createRedisPresence(opts: RedisPresenceOptions = {}): Promise<RedisPresence> {
  const o = { ...redisPresenceDefaults, ...opts };
  const [connection] = (await openRedisConnections(opts, ['presence'])) as [Redis];
  const redis = definePresenceScripts(connection);
  const nodeId = randomBytes(6).toString('hex');
  const nodePrefix = `${o.keyPrefix}node:`;
  const nodeKey = `${nodePrefix}${nodeId}`;
  const counter = `${o.keyPrefix}presence-order`;
  const hashOf = (channel: string) => `${o.keyPrefix}presence:${channel}`;
  /** This node's entries, so they can be written again after Redis lost or missed them. */
  const local = new Map<
    string,
    { channel: string; member: PresenceMember; order: number | null }
  >();
  const removals = new Map<string, string>();
  let dirty = false;
  let closed = false;

  const fieldOf = (connectionId: string) => `${nodeId}\n${connectionId}`;
  const write = (field: string, entry: { channel: string; member: PresenceMember }) =>
    redis.duplexPresenceJoin(
      hashOf(entry.channel),
      counter,
      nodePrefix,
      field,
      JSON.stringify(entry.member),
      entry.member.id,
      channelTtlMs,
    );
  const localHolds = (channel: string, memberId: string) =>
    [...local.values()].some((e) => e.channel === channel && e.member.id === memberId);

  /** Refreshes the heartbeat; rewrites this node's entries if Redis forgot it or missed writes. */
  const heartbeat = async () => {
    const previous = await redis.set(nodeKey, '1', 'PX', o.nodeTtlMs, 'GET');
    if (previous !== null && !dirty) return;
    const batch = redis.multi();
    for (const [field, channel] of removals) batch.hdel(hashOf(channel), field);
    for (const [field, { channel, member, order }] of local) {
      if (order !== null)
        batch.hset(hashOf(channel), field, JSON.stringify({ s: order, m: member }));
    }
    await batch.exec();
    removals.clear();
    // Entries that joined while Redis was away get their arrival order now.
    for (const [field, entry] of local) {
      if (entry.order === null) entry.order = (await write(field, entry))[1];
    }
    dirty = false;
  };
  await heartbeat();
  const onError = o.onError ?? redisConnectionDefaults.onError;
  const timer = setInterval(() => {
    heartbeat().catch((error: unknown) => {
      dirty = true;
      // Redis away is an outage (`onConnectionChange`); with Redis up, a failing heartbeat is a
      // bug that will soon have other nodes take this one's members as gone.
      if (redis.status === 'ready') onError(backgroundError('redis.presenceHeartbeat', error));
    });
  }, o.nodeTtlMs / 3);
  timer.unref?.();

  const close = async () => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    const batch = redis.multi();
    for (const [field, { channel }] of local) batch.hdel(hashOf(channel), field);
    batch.del(nodeKey);
    // Best effort: entries left behind stop counting once the node's key expires (`nodeTtlMs`).
    await batch.exec().catch((error: unknown) => {
      if (redis.status === 'ready') onError(backgroundError('redis.presenceClose', error));
    });
    await closeRedisConnection(redis);
  };

  return {
    nodeId,
    async join(channel, member, connectionId): Promise<PresenceJoin> {
      const field = fieldOf(connectionId);
      const hadLocally = localHolds(channel, member.id);
      const entry = { channel, member, order: null as number | null };
      local.set(field, entry);
      removals.delete(field);
      let first = !hadLocally;
      try {
        const [isFirst, order] = await write(field, entry);
        first = isFirst === 1;
        entry.order = order;
      } catch {
        dirty = true;
      }
      let left = false;
      return {
        first,
        async leave() {
          if (left) return { last: false };
          left = true;
          local.delete(field);
          try {
            return {
              last:
                (await redis.duplexPresenceLeave(hashOf(channel), nodePrefix, field, member.id)) ===
                1,
            };
          } catch {
            removals.set(field, channel);
            dirty = true;
            return { last: !localHolds(channel, member.id) };
          }
        },
      };
    },

    async members(channel) {
      let values: string[];
      try {
        values = await redis.duplexPresenceMembers(hashOf(channel), nodePrefix);
      } catch (error) {
        throw new BrokerUnavailableError(`could not read who is present in "${channel}"`, error);
      }
      const earliest = new Map<string, { s: number; m: PresenceMember }>();
      for (const value of values) {
        const entry = JSON.parse(value) as { s: number; m: PresenceMember };
        const seen = earliest.get(entry.m.id);
        if (!seen || entry.s < seen.s) earliest.set(entry.m.id, entry);
      }
      return [...earliest.values()].sort((a, b) => a.s - b.s).map((entry) => entry.m);
    },

    close,
    [Symbol.asyncDispose]: close,
  };
}
