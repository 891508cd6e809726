import {
  createMemoryPresence,
  type DuplexErrorReport,
  type DuplexNodeStats,
  type Presence,
} from '@duplex/server';
import { describe, expect, it } from 'vitest';
import { adminReportsChannel } from './adminOptions';
import { PresenceReader } from './presenceReader';

/** A node's stats listing `channels`, most subscribed first. */
const statsWith = (channels: string[]) =>
  ({
    nodeId: 'n1',
    channels: channels.map((channel, i) => ({
      channel,
      subscribers: 100 - i,
      published: 0,
      retained: null,
      lastEventId: null,
    })),
  }) as unknown as DuplexNodeStats;

/** A presence whose `members()` calls wait until `answer()`, failing while `failing`. */
function heldPresence(inner: Presence) {
  const held: (() => void)[] = [];
  const calls: string[] = [];
  let failing = false;
  const presence: Presence = {
    join: inner.join.bind(inner),
    async members(channel) {
      calls.push(channel);
      await new Promise<void>((resolve) => held.push(resolve));
      if (failing) throw new Error('Redis down');
      return inner.members(channel);
    },
  };
  return {
    presence,
    calls,
    fail: (on: boolean) => {
      failing = on;
    },
    async answer() {
      for (const resolve of held.splice(0)) resolve();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

describe('PresenceReader', () => {
  it("reports each listed channel's count and first 20 members, read since the report before", async () => {
    const presence = createMemoryPresence();
    for (let i = 0; i < 25; i++) {
      await presence.join('chat:room:r1', { id: `u${i}`, name: `User ${i}` }, `c${i}`);
    }
    await presence.join('chat:room:r2', { id: 'ada', name: 'Ada' }, 'c99');
    const reader = new PresenceReader(presence, 'n1', () => {});
    const stats = statsWith(['chat:room:r1', 'chat:room:r2', 'numbers']);
    expect(reader.next(stats)).toBe(null);
    await new Promise((resolve) => setImmediate(resolve));
    const read = reader.next(stats);
    expect(read?.nodeId).toBe('n1');
    expect(read?.channels.map((c) => [c.channel, c.count, c.members.length])).toEqual([
      ['chat:room:r1', 25, 20],
      ['chat:room:r2', 1, 1],
      ['numbers', 0, 0],
    ]);
    expect(read?.channels[0]?.members[0]).toEqual({ id: 'u0', name: 'User 0' });
  });

  it("reads the 20 most subscribed channels, never the dashboard's own, once per report", async () => {
    const held = heldPresence(createMemoryPresence());
    const reader = new PresenceReader(held.presence, 'n1', () => {});
    const channels = Array.from({ length: 30 }, (_, i) => `room-${i}`);
    reader.next(statsWith([adminReportsChannel, ...channels]));
    expect(held.calls).toEqual(channels.slice(0, 20));
  });

  it('never waits for a slow presence: a late read is reported once, dropped, and not doubled', async () => {
    const errors: DuplexErrorReport<never>[] = [];
    const held = heldPresence(createMemoryPresence());
    await held.presence.join('room', { id: 'ada', name: 'Ada' }, 'c1');
    const reader = new PresenceReader(held.presence, 'n1', (report) => errors.push(report));
    const stats = statsWith(['room']);
    expect(reader.next(stats)).toBe(null);
    // Two reports while the read hangs: each goes at once without presence, no second read.
    expect(reader.next(stats)).toBe(null);
    expect(reader.next(stats)).toBe(null);
    expect(held.calls).toEqual(['room']);
    expect(errors.map((e) => [e.task, (e.error as Error).message])).toEqual([
      ['admin.presence', 'Presence did not answer within one report interval'],
    ]);
    // The late answer is stale: the next report has none and reads again.
    await held.answer();
    expect(reader.next(stats)).toBe(null);
    expect(held.calls).toEqual(['room', 'room']);
    await held.answer();
    expect(reader.next(stats)?.channels).toEqual([
      { channel: 'room', count: 1, members: [{ id: 'ada', name: 'Ada' }] },
    ]);
  });

  it('reports a failing presence once per outage and keeps the channels that answered', async () => {
    const errors: DuplexErrorReport<never>[] = [];
    const held = heldPresence(createMemoryPresence());
    const reader = new PresenceReader(held.presence, 'n1', (report) => errors.push(report));
    const stats = statsWith(['room']);
    held.fail(true);
    for (let i = 0; i < 3; i++) {
      expect(reader.next(stats)?.channels ?? []).toEqual([]);
      await held.answer();
    }
    expect(errors.map((e) => [e.task, (e.error as Error).message])).toEqual([
      ['admin.presence', 'Redis down'],
    ]);
    held.fail(false);
    reader.next(stats);
    await held.answer();
    expect(reader.next(stats)?.channels).toEqual([{ channel: 'room', count: 0, members: [] }]);
    held.fail(true);
    await held.answer();
    reader.next(stats);
    expect(errors).toHaveLength(2);
  });
});
