import { createDuplexClient } from '@duplex/client';
import {
  createMemoryNotificationStore,
  createNotificationsRouter,
  createNotifier,
  type NotificationLimits,
  type NotificationStore,
} from '@duplex/notifications';
import {
  type Authenticate,
  type Broker,
  createDuplexServer,
  createMemoryBroker,
  initDuplex,
} from '@duplex/server';

export interface NotifyTestUser {
  id: string;
  admin: boolean;
}

const duplex = initDuplex<NotifyTestUser>();

function createNotificationsApp(notifier: ReturnType<typeof createNotifier>) {
  return duplex.router({
    notifications: createNotificationsRouter(duplex, {
      notifier,
      canNotify: (user) => user.admin,
    }),
  });
}
export type NotificationsApp = ReturnType<typeof createNotificationsApp>;

/** `token` is the user id; `admin` may call `notifications.notify`. */
const auth: Authenticate<NotifyTestUser> = ({ connectionParams }) => {
  const id = connectionParams?.token;
  return id && /^\w+$/.test(id) ? { user: { id, admin: id === 'admin' } } : null;
};

export interface NotifyServerOptions {
  store?: NotificationStore;
  limits?: Partial<NotificationLimits>;
  /** The notifier's clock, for quiet hours. */
  now?: () => Date;
  /** A broker for the notifier other than the server's: a misconfiguration to be reported. */
  notifierBroker?: Broker;
}

/** A notifications server on 127.0.0.1 whose store and broker survive `restart()`. */
export async function startNotifyServer(opts: NotifyServerOptions = {}) {
  const store = opts.store ?? createMemoryNotificationStore();
  const broker = createMemoryBroker();
  const notifier = createNotifier({
    store,
    broker: opts.notifierBroker ?? broker,
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  const errors: unknown[] = [];
  const make = () =>
    createDuplexServer({
      router: createNotificationsApp(notifier),
      authenticate: auth,
      broker,
      onError: (report) => errors.push(report.error),
    });
  let server = make();
  const { port } = await server.listen(0);
  const clients: { $close(): Promise<void> }[] = [];
  return {
    store,
    broker,
    notifier,
    errors,
    client(userId: string) {
      const client = createDuplexClient<NotificationsApp>({
        url: `ws://127.0.0.1:${port}/trpc`,
        token: userId,
        reconnect: { delayMs: () => 10 },
      });
      clients.push(client);
      return client;
    },
    async restart() {
      await server.close({ drainTimeoutMs: 0 });
      server = make();
      await server.listen(port);
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(clients.map((c) => c.$close()));
      await server.close({ drainTimeoutMs: 0 });
      await broker.close();
    },
  };
}
