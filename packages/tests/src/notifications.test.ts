import { type DuplexClient, DuplexClientError, isGap } from '@duplex/client';
import type { NotificationEvent, NotifyInput } from '@duplex/notifications';
import { createMemoryBroker } from '@duplex/server';
import { describe, expect, it, vi } from 'vitest';
import { deferred } from './helpers';
import { type NotificationsApp, startNotifyServer } from './notificationsFixtures';

type Client = DuplexClient<NotificationsApp>;

/** Subscribes to the user's stream and collects its events, gaps included. */
async function watch(client: Client, lastEventId?: string) {
  const events: NotificationEvent[] = [];
  const ids: string[] = [];
  const gaps: unknown[] = [];
  const errors: unknown[] = [];
  const started = deferred();
  const subscription = client.notifications.onNotification.subscribe(
    lastEventId ? { lastEventId } : {},
    {
      onStarted: () => started.resolve(),
      onData: ({ id, data }) => {
        if (isGap(data)) gaps.push(data);
        else {
          events.push(data);
          ids.push(id);
        }
      },
      onError: (error) => {
        errors.push(error);
        started.resolve();
      },
    },
  );
  await started.promise;
  const titles = () =>
    events.flatMap((e) => (e.type === 'notification.created' ? [e.notification.title] : []));
  return { events, ids, gaps, errors, subscription, titles };
}

const note = (to: NotifyInput['to'], title: string, over: Partial<NotifyInput> = {}) =>
  ({ to, category: 'test', title, ...over }) satisfies NotifyInput;

const codeOf = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DuplexClientError);
  return { code: (error as DuplexClientError).code, message: (error as Error).message };
};

describe('notifications', () => {
  it('pushes a notification live with the new unread count, and keeps it in the feed', async () => {
    await using app = await startNotifyServer();
    const ann = app.client('ann');
    const live = await watch(ann);
    const result = await app.notifier.notify(
      note('ann', 'Deploy finished', {
        priority: 'high',
        body: 'v2.3.0 is live',
        data: { version: '2.3.0' },
        link: '/deploys/42',
      }),
    );
    expect(result).toEqual({ created: 1, pushed: 1, ids: [expect.any(String)] });
    await vi.waitFor(() => expect(live.events).toHaveLength(1));
    expect(live.events[0]).toEqual({
      type: 'notification.created',
      unreadCount: 1,
      notification: expect.objectContaining({
        id: result.ids[0],
        userId: 'ann',
        title: 'Deploy finished',
        body: 'v2.3.0 is live',
        data: { version: '2.3.0' },
        link: '/deploys/42',
        priority: 'high',
        readAt: null,
        createdAt: expect.any(Date),
      }),
    });
    expect(await ann.notifications.unreadCount.query()).toBe(1);
    const feed = await ann.notifications.feed.query({ limit: 10 });
    expect(feed.items.map((n) => n.title)).toEqual(['Deploy finished']);
    expect(feed.nextCursor).toBeNull();
  });

  it('pages the feed with a cursor and filters unread', async () => {
    await using app = await startNotifyServer();
    for (let i = 0; i < 5; i++) await app.notifier.notify(note('ann', `n${i}`));
    const ann = app.client('ann');
    const first = await ann.notifications.feed.query({ limit: 2 });
    expect(first.items.map((n) => n.title)).toEqual(['n4', 'n3']);
    const second = await ann.notifications.feed.query({ limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((n) => n.title)).toEqual(['n2', 'n1']);
    const third = await ann.notifications.feed.query({ limit: 2, cursor: second.nextCursor! });
    expect(third).toEqual({ items: [expect.objectContaining({ title: 'n0' })], nextCursor: null });
    await ann.notifications.markRead.mutate({ ids: [first.items[0]!.id] });
    const unread = await ann.notifications.feed.query({ limit: 10, unreadOnly: true });
    expect(unread.items.map((n) => n.title)).toEqual(['n3', 'n2', 'n1', 'n0']);
  });

  it('sends read and archive changes from one tab to the user’s other tabs live', async () => {
    await using app = await startNotifyServer();
    const [tabA, tabB] = [app.client('ann'), app.client('ann')];
    const other = await watch(tabB);
    const { ids } = await app.notifier.notify(note('ann', 'one'));
    await app.notifier.notify(note('ann', 'two'));
    await app.notifier.notify(note('ann', 'three'));
    await vi.waitFor(() => expect(other.events).toHaveLength(3));

    expect(await tabA.notifications.markRead.mutate({ ids })).toEqual({ unreadCount: 2 });
    await vi.waitFor(() =>
      expect(other.events.at(-1)).toEqual({ type: 'notification.read', ids, unreadCount: 2 }),
    );
    // Nothing changed, nothing announced.
    expect(await tabA.notifications.markRead.mutate({ ids })).toEqual({ unreadCount: 2 });
    const [newest] = (await tabA.notifications.feed.query({ limit: 1 })).items;
    expect(await tabA.notifications.archive.mutate({ ids: [newest!.id] })).toEqual({
      unreadCount: 1,
    });
    await vi.waitFor(() =>
      expect(other.events.at(-1)).toEqual({
        type: 'notification.archived',
        ids: [newest!.id],
        unreadCount: 1,
      }),
    );
    expect(await tabA.notifications.markAllRead.mutate()).toEqual({ unreadCount: 0 });
    await vi.waitFor(() =>
      expect(other.events.at(-1)).toEqual({
        type: 'notification.read',
        ids: 'all',
        unreadCount: 0,
      }),
    );
    expect(other.events.map((e) => e.type)).toEqual([
      'notification.created',
      'notification.created',
      'notification.created',
      'notification.read',
      'notification.archived',
      'notification.read',
    ]);
    expect((await tabB.notifications.feed.query({ limit: 10 })).items.map((n) => n.title)).toEqual([
      'two',
      'one',
    ]);
  });

  it('shows and changes only the caller’s own notifications', async () => {
    await using app = await startNotifyServer();
    const { ids } = await app.notifier.notify(note('ann', 'for ann only'));
    const annLive = await watch(app.client('ann'));
    const bob = app.client('bob');
    const bobLive = await watch(bob);
    expect((await bob.notifications.feed.query({ limit: 10 })).items).toEqual([]);
    expect(await bob.notifications.markRead.mutate({ ids })).toEqual({ unreadCount: 0 });
    expect(await bob.notifications.archive.mutate({ ids })).toEqual({ unreadCount: 0 });
    await bob.notifications.markAllRead.mutate();
    expect(await app.client('ann').notifications.unreadCount.query()).toBe(1);
    await app.notifier.notify(note('bob', 'for bob'));
    await vi.waitFor(() => expect(bobLive.titles()).toEqual(['for bob']));
    expect(annLive.events).toEqual([]);
  });

  it('refuses notify from clients unless the server allows the caller', async () => {
    await using app = await startNotifyServer();
    const annLive = await watch(app.client('ann'));
    const bob = app.client('bob');
    expect(await codeOf(bob.notifications.notify.mutate(note('ann', 'spoof')))).toEqual({
      code: 'FORBIDDEN',
      message: 'You may not send notifications',
    });
    const admin = app.client('admin');
    expect(await admin.notifications.notify.mutate(note(['ann', 'bob'], 'Maintenance'))).toEqual(
      expect.objectContaining({ created: 2, pushed: 2 }),
    );
    await vi.waitFor(() => expect(annLive.titles()).toEqual(['Maintenance']));
  });

  it('delivers what a user missed while offline when they resume, then live', async () => {
    await using app = await startNotifyServer();
    const first = app.client('ann');
    const live = await watch(first);
    await app.notifier.notify(note('ann', 'before'));
    await vi.waitFor(() => expect(live.events).toHaveLength(1));
    const lastEventId = live.ids.at(-1)!;
    await first.$close();

    for (const title of ['missed 1', 'missed 2', 'missed 3'])
      await app.notifier.notify(note('ann', title));
    const back = await watch(app.client('ann'), lastEventId);
    await vi.waitFor(() => expect(back.titles()).toEqual(['missed 1', 'missed 2', 'missed 3']));
    await app.notifier.notify(note('ann', 'live again'));
    await vi.waitFor(() => expect(back.titles()).toHaveLength(4));
    expect(back.titles().at(-1)).toBe('live again');
    expect(back.gaps).toEqual([]);
  });

  it('loses and repeats nothing across a server restart', async () => {
    await using app = await startNotifyServer();
    const live = await watch(app.client('ann'));
    const sent: string[] = [];
    for (let i = 0; i < 60; i++) {
      if (i === 20) void app.restart();
      const title = `n${i}`;
      sent.push(title);
      await app.notifier.notify(note('ann', title));
    }
    await vi.waitFor(() => expect(live.titles()).toEqual(sent), { timeout: 10_000 });
    expect(live.errors).toEqual([]);
  });

  it('reports a gap when the missed events are past retention', async () => {
    await using app = await startNotifyServer();
    // The resume id of an event the broker no longer has (another log's id, as after a reset).
    const live = await watch(app.client('ann'), '999999:1');
    await vi.waitFor(() => expect(live.gaps).toHaveLength(1));
    expect(live.gaps[0]).toEqual(expect.objectContaining({ requestedEventId: '999999:1' }));
  });

  it('stores a muted category without pushing or counting it', async () => {
    await using app = await startNotifyServer();
    const ann = app.client('ann');
    await ann.notifications.setPreferences.mutate({
      categories: { marketing: false },
      minPriority: 'normal',
    });
    expect(await ann.notifications.preferences.query()).toEqual({
      categories: { marketing: false },
      minPriority: 'normal',
      quietHours: null,
    });
    const live = await watch(ann);
    expect(await app.notifier.notify(note('ann', 'Sale!', { category: 'marketing' }))).toEqual(
      expect.objectContaining({ created: 1, pushed: 0 }),
    );
    expect(await app.notifier.notify(note('ann', 'FYI', { priority: 'low' }))).toEqual(
      expect.objectContaining({ created: 1, pushed: 0 }),
    );
    await app.notifier.notify(note('ann', 'Build failed', { priority: 'high' }));
    await vi.waitFor(() => expect(live.titles()).toEqual(['Build failed']));
    expect(live.events[0]).toEqual(expect.objectContaining({ unreadCount: 1 }));
    expect(await ann.notifications.unreadCount.query()).toBe(1);
    const feed = await ann.notifications.feed.query({ limit: 10 });
    expect(feed.items.map((n) => [n.title, n.counted])).toEqual([
      ['Build failed', true],
      ['FYI', false],
      ['Sale!', false],
    ]);
  });

  it('in quiet hours pushes only urgent notifications but counts the rest', async () => {
    let now = new Date('2026-11-23T22:30:00Z'); // 23:30 in Berlin
    await using app = await startNotifyServer({ now: () => now });
    const ann = app.client('ann');
    await ann.notifications.setPreferences.mutate({
      quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' },
    });
    const live = await watch(ann);
    await app.notifier.notify(note('ann', 'Weekly digest'));
    await app.notifier.notify(note('ann', 'Server down', { priority: 'urgent' }));
    await vi.waitFor(() => expect(live.titles()).toEqual(['Server down']));
    // The digest was counted, so the urgent one's badge says 2.
    expect(live.events[0]).toEqual(expect.objectContaining({ unreadCount: 2 }));
    now = new Date('2026-11-24T08:00:00Z'); // 09:00 in Berlin
    await app.notifier.notify(note('ann', 'Good morning'));
    await vi.waitFor(() => expect(live.titles()).toEqual(['Server down', 'Good morning']));
  });

  it('refuses bad preferences with a clear error', async () => {
    await using app = await startNotifyServer();
    const ann = app.client('ann');
    const badZone = await codeOf(
      ann.notifications.setPreferences.mutate({
        quietHours: { start: '22:00', end: '07:00', timeZone: 'Mars/Olympus' },
      }),
    );
    expect(badZone.code).toBe('BAD_REQUEST');
    expect(badZone.message).toContain('Not an IANA time zone');
    const badTime = await codeOf(
      ann.notifications.setPreferences.mutate({
        quietHours: { start: '25:00', end: '07:00', timeZone: 'UTC' },
      }),
    );
    expect(badTime.message).toContain('"HH:MM"');
  });

  it('makes a repeated notify with the same dedupe key a no-op per user', async () => {
    await using app = await startNotifyServer();
    const live = await watch(app.client('ann'));
    const first = await app.notifier.notify(note('ann', 'Invoice due', { dedupeKey: 'inv-7' }));
    const again = await app.notifier.notify(
      note(['ann', 'bob'], 'Invoice due', { dedupeKey: 'inv-7' }),
    );
    expect(first.created).toBe(1);
    expect(again).toEqual(expect.objectContaining({ created: 1, pushed: 1 }));
    await vi.waitFor(() => expect(live.titles()).toEqual(['Invoice due']));
    expect(await app.client('ann').notifications.unreadCount.query()).toBe(1);
  });

  it('answers each limit with a clear BAD_REQUEST', async () => {
    await using app = await startNotifyServer({
      limits: { maxTitleLength: 10, maxBodyLength: 20, maxDataBytes: 30, maxRecipients: 3 },
    });
    const cases: [NotifyInput, string][] = [
      [note('ann', 'x'.repeat(11)), 'Title too long: at most 10 characters'],
      [note('ann', 'ok', { body: 'x'.repeat(21) }), 'Body too long: at most 20 characters'],
      [note('ann', 'ok', { data: { blob: 'x'.repeat(30) } }), 'Data too large: at most 30 bytes'],
      [note(['a', 'b', 'c', 'd'], 'ok'), 'Too many recipients: at most 3 per call'],
      [note('ann', 'ok', { link: 'javascript:alert(1)' }), 'A link is a path starting with "/"'],
      [note('ann', 'ok', { category: 'Bad Category' }), 'A category is 1–64 of'],
    ];
    const admin = app.client('admin');
    for (const [input, message] of cases) {
      await expect(app.notifier.notify(input)).rejects.toThrow(message);
      const refused = await codeOf(admin.notifications.notify.mutate(input));
      expect(refused.code).toBe('BAD_REQUEST');
      expect(refused.message).toContain(message);
    }
    // Duplicate recipients count once.
    expect((await app.notifier.notify(note(['a', 'a', 'b', 'c', 'c'], 'ok'))).created).toBe(3);

    const ann = app.client('ann');
    expect((await codeOf(ann.notifications.feed.query({ limit: 101 }))).message).toBe(
      'Too many notifications: at most 100 per call',
    );
    const ids = Array.from({ length: 101 }, (_, i) => String(i + 1));
    expect((await codeOf(ann.notifications.markRead.mutate({ ids }))).message).toBe(
      'Too many ids: at most 100 per call',
    );
    expect((await codeOf(ann.notifications.archive.mutate({ ids: ['nope'] }))).code).toBe(
      'BAD_REQUEST',
    );
  });

  it('notifies 10,000 users in one call', async () => {
    await using app = await startNotifyServer();
    const live = await watch(app.client('u9999'));
    const to = Array.from({ length: 10_000 }, (_, i) => `u${i}`);
    const started = performance.now();
    const result = await app.notifier.notify(note(to, 'Release notes'));
    const ms = performance.now() - started;
    console.log(`[measure] notify 10,000 users (memory store, memory broker): ${ms.toFixed(0)} ms`);
    expect(result).toEqual(expect.objectContaining({ created: 10_000, pushed: 10_000 }));
    await vi.waitFor(() => expect(live.titles()).toEqual(['Release notes']));
  });

  it('reports a notifier on another broker than the server’s instead of going silent', async () => {
    await using app = await startNotifyServer({ notifierBroker: createMemoryBroker() });
    const live = await watch(app.client('ann'));
    await vi.waitFor(() => expect(live.errors).toHaveLength(1));
    expect((live.errors[0] as DuplexClientError).code).toBe('SERVER_ERROR');
    expect(String(app.errors[0])).toContain('must be the broker given to createDuplexServer');
  });
});
