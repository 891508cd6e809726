import { createDuplexClient } from '@duplex/client';
import {
  createMemoryNotificationStore,
  createNotificationsRouter,
  createNotifier,
  createSqlNotificationStore,
  type NotificationEvent,
  type NotificationStore,
} from '@duplex/notifications';
import { type Broker, createDuplexServer, initDuplex } from '@duplex/server';
import { storeTestBackends } from '@duplex/sql/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFaultyBroker, createRecordingBroker } from './chatAnnounceFixtures';

interface User {
  id: string;
}
const duplex = initDuplex<User>();
const makeRouter = (notifier: ReturnType<typeof createNotifier>) =>
  duplex.router({ notifications: createNotificationsRouter(duplex, { notifier }) });

/** A notifications node: its notifier and server on `store` and `broker`. */
async function startNode(store: NotificationStore, broker: Broker) {
  const notifier = createNotifier({ store, broker });
  const server = createDuplexServer({
    router: makeRouter(notifier),
    authenticate: ({ connectionParams }) =>
      connectionParams?.token ? { user: { id: connectionParams.token } } : null,
    broker,
    onError: () => {},
  });
  const { port } = await server.listen(0, '127.0.0.1');
  const client = (userId: string) =>
    createDuplexClient<ReturnType<typeof makeRouter>>({
      url: `ws://127.0.0.1:${port}/trpc`,
      token: userId,
      reconnect: { delayMs: () => 10 },
    });
  return { notifier, client, close: () => server.close({ drainTimeoutMs: 0 }) };
}

const backends = await storeTestBackends<NotificationStore>({
  memory: createMemoryNotificationStore,
  sql: createSqlNotificationStore,
});

for (const backend of backends) {
  describe.skipIf(!backend.available)(`notification announcements on ${backend.name}`, () => {
    let store: NotificationStore;
    let close: () => Promise<void> = async () => {};
    beforeAll(async () => {
      ({ store, close } = await backend.open());
    });
    afterAll(() => close());

    /** Two nodes on one store and one broker; node A's publishes can be made to fail. */
    async function cluster() {
      const recorder = createRecordingBroker();
      const faulty = createFaultyBroker(recorder.broker);
      const a = await startNode(store, faulty.broker);
      const b = await startNode(store, recorder.broker);
      const user = `u${crypto.randomUUID().replaceAll('-', '')}`;
      const clients = [a.client(user), b.client(user)] as const;
      const events = (type: NotificationEvent['type']) =>
        recorder.published.filter(
          (p) =>
            p.channel === `notifications:user:${user}` &&
            (p.data as NotificationEvent).type === type,
        );
      return {
        a,
        b,
        user,
        clients,
        events,
        failNext: faulty.failNext,
        async [Symbol.asyncDispose]() {
          await Promise.all(clients.map((c) => c.$close()));
          await Promise.all([a.close(), b.close()]);
          await recorder.broker.close();
        },
      };
    }

    it('pushes 20 overlapping notifies with one dedupeKey, on two nodes, once', async () => {
      await using c = await cluster();
      const input = { to: c.user, category: 'test', title: 'Once', dedupeKey: 'k' };
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? c.a : c.b).notifier.notify(input)),
      );
      expect(results.reduce((sum, r) => sum + r.pushed, 0)).toBe(1);
      expect(c.events('notification.created')).toHaveLength(1);
    });

    it('announces 20 overlapping reads and archives of one notification once each', async () => {
      await using c = await cluster();
      const { ids } = await c.a.notifier.notify({ to: c.user, category: 'test', title: 'Hi' });
      const twenty = (call: (client: (typeof c.clients)[number]) => Promise<unknown>) =>
        Promise.all(Array.from({ length: 20 }, (_, i) => call(c.clients[i % 2]!)));
      await twenty((client) => client.notifications.markRead.mutate({ ids }));
      expect(c.events('notification.read')).toHaveLength(1);
      await c.a.notifier.notify({ to: c.user, category: 'test', title: 'Again' });
      await twenty((client) => client.notifications.markAllRead.mutate());
      expect(c.events('notification.read')).toHaveLength(2);
      await twenty((client) => client.notifications.archive.mutate({ ids }));
      expect(c.events('notification.archived')).toHaveLength(1);
    });

    it('never pushes a notification twice, even when its push timed out after going out', async () => {
      await using c = await cluster();
      const input = { to: c.user, category: 'test', title: 'Once', dedupeKey: 'timed-out' };
      c.failNext('notification.created', 'after');
      await expect(c.a.notifier.notify(input)).rejects.toThrow('may not have been published');
      // Stored, and counted: the feed and the badge show it; a retry pushes nothing more.
      expect(await c.b.notifier.notify(input)).toEqual({ created: 0, pushed: 0, ids: [] });
      expect(c.events('notification.created')).toHaveLength(1);
      expect(await c.clients[1].notifications.unreadCount.query()).toBe(1);
    });
  });
}
