import { randomUUID } from 'node:crypto';
import { storeTestBackends } from '@duplex/sql/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryNotificationStore } from './memoryNotificationStore';
import type { NotificationContent, NotificationStore } from './notificationStore';
import { defaultPreferences, type Preferences } from './schemas';
import { createSqlNotificationStore } from './sqlNotificationStore';

const backends = await storeTestBackends<NotificationStore>({
  memory: createMemoryNotificationStore,
  sql: createSqlNotificationStore,
});

const content = (over: Partial<NotificationContent> = {}): NotificationContent => ({
  category: 'test',
  priority: 'normal',
  title: 'Hello',
  body: null,
  data: null,
  link: null,
  dedupeKey: null,
  ...over,
});

for (const backend of backends) {
  describe.skipIf(!backend.available)(`NotificationStore on ${backend.name}`, () => {
    let store: NotificationStore;
    let close: () => Promise<void> = async () => {};
    beforeAll(async () => {
      ({ store, close } = await backend.open());
    });
    afterAll(() => close());
    /** A user no other test touches. */
    const user = () => `u-${randomUUID()}`;
    const unread = async (userId: string) => (await store.unreadCounts([userId])).get(userId);

    it('stores one notification per recipient with every field round-tripped', async () => {
      const [ada, grace] = [user(), user()];
      const created = await store.insert(
        content({
          priority: 'high',
          body: 'Body',
          data: { n: 1, nested: { list: ['a', null, true] } },
          link: '/rooms/1',
        }),
        [
          { userId: ada, counted: true },
          { userId: grace, counted: false },
        ],
      );
      expect(created.map((n) => n.userId).sort()).toEqual([ada, grace].sort());
      const [mine] = await store.feed(ada, { limit: 10, unreadOnly: false });
      expect(mine).toEqual({
        id: expect.stringMatching(/^\d+$/),
        userId: ada,
        category: 'test',
        priority: 'high',
        title: 'Hello',
        body: 'Body',
        data: { n: 1, nested: { list: ['a', null, true] } },
        link: '/rooms/1',
        createdAt: expect.any(Date),
        readAt: null,
        counted: true,
      });
      expect(await unread(ada)).toBe(1);
      // Stored, but not counted toward the badge.
      expect(await store.feed(grace, { limit: 10, unreadOnly: false })).toHaveLength(1);
      expect(await unread(grace)).toBe(0);
    });

    it('skips a recipient who already has the dedupe key, and only that one', async () => {
      const [ada, grace] = [user(), user()];
      const key = `deploy-${randomUUID()}`;
      await store.insert(content({ dedupeKey: key }), [{ userId: ada, counted: true }]);
      const again = await store.insert(content({ dedupeKey: key, title: 'Again' }), [
        { userId: ada, counted: true },
        { userId: grace, counted: true },
      ]);
      expect(again.map((n) => n.userId)).toEqual([grace]);
      expect((await store.feed(ada, { limit: 10, unreadOnly: false })).map((n) => n.title)).toEqual(
        ['Hello'],
      );
      // Without a key, repeats are separate notifications.
      await store.insert(content(), [{ userId: ada, counted: true }]);
      expect(await unread(ada)).toBe(2);
    });

    it('pages newest first with a cursor, and filters unread', async () => {
      const ada = user();
      for (let i = 0; i < 5; i++)
        await store.insert(content({ title: `n${i}` }), [{ userId: ada, counted: true }]);
      const first = await store.feed(ada, { limit: 2, unreadOnly: false });
      expect(first.map((n) => n.title)).toEqual(['n4', 'n3']);
      const second = await store.feed(ada, { before: first[1]!.id, limit: 2, unreadOnly: false });
      expect(second.map((n) => n.title)).toEqual(['n2', 'n1']);
      const last = await store.feed(ada, { before: second[1]!.id, limit: 2, unreadOnly: false });
      expect(last.map((n) => n.title)).toEqual(['n0']);

      await store.markRead(ada, [first[0]!.id, second[0]!.id]);
      const unreadOnly = await store.feed(ada, { limit: 10, unreadOnly: true });
      expect(unreadOnly.map((n) => n.title)).toEqual(['n3', 'n1', 'n0']);
    });

    it('marks read only the owner’s notifications, once, and reports what changed', async () => {
      const [ada, eve] = [user(), user()];
      const [a1, a2] = [
        ...(await store.insert(content(), [{ userId: ada, counted: true }])),
        ...(await store.insert(content(), [{ userId: ada, counted: true }])),
      ];
      expect(await store.markRead(eve, [a1!.id, a2!.id])).toEqual([]);
      expect(await unread(ada)).toBe(2);
      expect(await store.markRead(ada, [a1!.id])).toEqual([a1!.id]);
      expect(await store.markRead(ada, [a1!.id])).toEqual([]);
      expect(await unread(ada)).toBe(1);
      const [read] = await store.feed(ada, { before: a2!.id, limit: 1, unreadOnly: false });
      expect(read!.readAt).toBeInstanceOf(Date);
      expect(await store.markAllRead(ada)).toBe(1);
      expect(await store.markAllRead(ada)).toBe(0);
      expect(await unread(ada)).toBe(0);
    });

    it('archives out of the feed and the badge, only for the owner', async () => {
      const [ada, eve] = [user(), user()];
      const [n] = await store.insert(content(), [{ userId: ada, counted: true }]);
      expect(await store.archive(eve, [n!.id])).toEqual([]);
      expect(await store.archive(ada, [n!.id])).toEqual([n!.id]);
      expect(await store.archive(ada, [n!.id])).toEqual([]);
      expect(await store.feed(ada, { limit: 10, unreadOnly: false })).toEqual([]);
      expect(await unread(ada)).toBe(0);
      expect(await store.markRead(ada, [n!.id])).toEqual([]);
    });

    it('counts unread per user in one call, zero for users with none', async () => {
      const [ada, grace, linus] = [user(), user(), user()];
      await store.insert(content(), [
        { userId: ada, counted: true },
        { userId: grace, counted: true },
      ]);
      await store.insert(content(), [{ userId: ada, counted: true }]);
      const counts = await store.unreadCounts([ada, grace, linus]);
      expect(Object.fromEntries(counts)).toEqual({ [ada]: 2, [grace]: 1, [linus]: 0 });
    });

    it('inserts thousands of recipients in one call', async () => {
      const users = Array.from({ length: 2_000 }, () => user());
      const created = await store.insert(
        content(),
        users.map((userId) => ({ userId, counted: true })),
      );
      expect(new Set(created.map((n) => n.userId)).size).toBe(2_000);
      expect(new Set(created.map((n) => n.id)).size).toBe(2_000);
    });

    it('keeps preferences per user, with defaults for users who never set any', async () => {
      const [ada, grace] = [user(), user()];
      const prefs: Preferences = {
        categories: { marketing: false, 'chat.mention': true },
        minPriority: 'high',
        quietHours: { start: '22:00', end: '07:30', timeZone: 'Europe/Berlin' },
      };
      await store.setPreferences(ada, prefs);
      const got = await store.getPreferences([ada, grace]);
      expect(got.get(ada)).toEqual(prefs);
      expect(got.get(grace)).toEqual(defaultPreferences);
      await store.setPreferences(ada, { ...prefs, quietHours: null });
      expect((await store.getPreferences([ada])).get(ada)?.quietHours).toBeNull();
    });

    // Last in the suite: its second prune empties the table.
    it('prunes read or archived notifications past one cutoff and any past the other', async () => {
      const ada = user();
      const [oldRead, oldUnread, oldArchived] = [
        ...(await store.insert(content({ title: 'old read' }), [{ userId: ada, counted: true }])),
        ...(await store.insert(content({ title: 'old unread' }), [{ userId: ada, counted: true }])),
        ...(await store.insert(content({ title: 'old archived' }), [
          { userId: ada, counted: true },
        ])),
      ];
      await store.markRead(ada, [oldRead!.id]);
      await store.archive(ada, [oldArchived!.id]);
      const later = new Date(Date.now() + 60_000);
      const earlier = new Date(Date.now() - 60_000);
      // Read and archived ones go at the first cutoff; the unread one stays.
      expect(await store.prune({ readBefore: later, before: earlier })).toBeGreaterThanOrEqual(2);
      expect((await store.feed(ada, { limit: 10, unreadOnly: false })).map((n) => n.id)).toEqual([
        oldUnread!.id,
      ]);
      // Past the second cutoff, everything goes.
      await store.prune({ readBefore: later, before: later });
      expect(await store.feed(ada, { limit: 10, unreadOnly: false })).toEqual([]);
      expect(await unread(ada)).toBe(0);
    });
  });
}
