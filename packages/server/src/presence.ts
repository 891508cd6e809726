/** Someone present on a channel, with whatever the app shows about them. */
export interface PresenceMember {
  id: string;
  name: string;
}

/** What {@link Presence.join} returns. */
export interface PresenceJoin {
  /** True when this connection made the member present (their first tab or device). */
  readonly first: boolean;
  /** Ends this connection's presence; `last` is true when the member is gone entirely. */
  leave(): Promise<{ last: boolean }>;
}

/**
 * Who is present on each channel. A member stays present while at least one of their
 * connections is: several tabs or devices count once, until the last one leaves. The in-memory
 * implementation is {@link createMemoryPresence}; `@duplex/redis` makes it cluster-wide.
 */
export interface Presence {
  join(channel: string, member: PresenceMember, connectionId: string): Promise<PresenceJoin>;
  /** Present members, in the order they arrived. */
  members(channel: string): Promise<PresenceMember[]>;
}

/** Presence in one process. */
export function createMemoryPresence(): Presence {
  const channels = new Map<
    string,
    Map<string, { member: PresenceMember; connections: Set<string> }>
  >();
  return {
    async join(channel, member, connectionId) {
      let present = channels.get(channel);
      if (!present) {
        present = new Map();
        channels.set(channel, present);
      }
      let entry = present.get(member.id);
      const first = !entry;
      if (!entry) {
        entry = { member, connections: new Set() };
        present.set(member.id, entry);
      }
      entry.connections.add(connectionId);
      const joined = entry;
      let left = false;
      return {
        first,
        async leave() {
          if (left) return { last: false };
          left = true;
          joined.connections.delete(connectionId);
          if (joined.connections.size > 0) return { last: false };
          present.delete(member.id);
          if (present.size === 0) channels.delete(channel);
          return { last: true };
        },
      };
    },
    async members(channel) {
      return [...(channels.get(channel)?.values() ?? [])].map((entry) => entry.member);
    },
  };
}
