import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDuplexAdmin } from '@duplex/admin';
import { createDuplexClient, type DuplexClient } from '@duplex/client';
import {
  type Authenticate,
  type Broker,
  createDuplexServer,
  createMemoryBroker,
  createMemoryPresence,
  initDuplex,
} from '@duplex/server';
import { build } from 'vite';
import { type AdminTestRouter, type AdminTestUser, createAdminTestRouter } from './adminTestRouter';

type User = AdminTestUser;

/** The operator's secret: `admin:<secret>` signs in the operator. */
export const operatorSecret = 'op-secret-4f1c';

/**
 * `admin:<operatorSecret>` is the operator; `user:<id>` a user who is not one (the admin router
 * answers FORBIDDEN); anything else is refused at the handshake (UNAUTHORIZED).
 */
const authenticate: Authenticate<User> = ({ connectionParams }) => {
  const token = connectionParams?.token ?? '';
  if (token === `admin:${operatorSecret}`) return { user: { id: 'ops', admin: true } };
  const match = token.match(/^user:(\w{1,32})$/);
  return match ? { user: { id: match[1]!, admin: false } } : null;
};

/** Reports every 200 ms, so a test sees a change within a frame or two (frames are ≥ 1 s apart). */
export const reportIntervalMs = 200;

/** Builds the dashboard page (packages/admin/vite.config.ts) into a directory of its own. */
export async function buildAdminPage(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'duplex-admin-page-'));
  await build({
    configFile: fileURLToPath(new URL('../../admin/vite.config.ts', import.meta.url)),
    build: { outDir: dir, emptyOutDir: true },
    logLevel: 'warn',
  });
  return dir;
}

export { type AdminTestUser, createAdminTestRouter } from './adminTestRouter';
/** The app's router: a few procedures for the load, and the admin router under `admin`. */
export type AdminPageRouter = AdminTestRouter;

/**
 * A Duplex server on 127.0.0.1 with the dashboard mounted (`/admin/`), serving `pageDir`.
 * `port` reopens a closed server's port, as a restart does; a shared `broker` makes several
 * servers one cluster.
 */
export async function startAdminPageServer(
  pageDir: string,
  opts: { port?: number; broker?: Broker } = {},
) {
  const broker = opts.broker ?? createMemoryBroker();
  const errors: unknown[] = [];
  /** Operators whom `authorize` no longer lets in. */
  const revoked = new Set<string>();
  const presence = createMemoryPresence();
  const admin = createDuplexAdmin({
    authorize: (user: User) => user.admin && !revoked.has(user.id),
    broker,
    presence,
    reportIntervalMs,
    audit: () => undefined,
    onError: (report) => errors.push(report.error),
  });
  const server = createDuplexServer({
    router: createAdminTestRouter(initDuplex<User>(), admin, presence),
    authenticate,
    broker,
    onError: (report) => {
      // The load's `fail` calls are meant to fail; anything else is a bug.
      if (report.path !== 'fail') errors.push(report.error);
    },
    routes: admin.routes({ path: '/admin', dir: pageDir }),
  });
  admin.attach(server);
  const listening = await server.listen(opts.port ?? 0, '127.0.0.1');
  let closing: Promise<void> | null = null;
  return {
    server,
    errors,
    revoked,
    port: listening.port,
    pageUrl: `http://127.0.0.1:${listening.port}/admin/`,
    wsUrl: `ws://127.0.0.1:${listening.port}/trpc`,
    close() {
      // A broker passed in is shared with other nodes: its owner closes it.
      closing ??= server.close({ drainTimeoutMs: 0 }).then(async () => {
        if (!opts.broker) await broker.close();
      });
      return closing;
    },
  };
}

/** One simulated user of the load: a client, its `numbers` subscription and what it got. */
export interface LoadClient {
  userId: string;
  client: DuplexClient<AdminPageRouter>;
  received: number[];
  closeCodes: (number | null)[];
}

/**
 * A load generator: `users` real clients (`user:u<i>`; users listed in `twice` open a second
 * connection), each holding a `numbers` subscription, then making `callsEach` calls (some of
 * them failing) while events are published. Bounded: it returns when the calls are done; the
 * clients stay connected and subscribed until `close()`.
 */
export async function startLoad(
  wsUrl: string,
  opts: { users: number; callsEach: number; twice?: readonly string[] },
) {
  const clients: LoadClient[] = [];
  const open = (userId: string) => {
    const client = createDuplexClient<AdminPageRouter>({
      url: wsUrl,
      token: `user:${userId}`,
      reconnect: { baseDelayMs: 10, maxDelayMs: 50 },
    });
    const load: LoadClient = { userId, client, received: [], closeCodes: [] };
    let state = client.$status.get().state;
    client.$status.subscribe((s) => {
      // Once per lost socket: a reconnecting status changes again with each attempt.
      if (s.state === 'reconnecting' && state !== 'reconnecting') load.closeCodes.push(s.closeCode);
      state = s.state;
    });
    client.numbers.subscribe(
      {},
      {
        onData: ({ data }) => {
          if ('n' in data) load.received.push(data.n);
        },
      },
    );
    clients.push(load);
    return load;
  };
  for (let i = 0; i < opts.users; i++) open(`u${i}`);
  for (const userId of opts.twice ?? []) open(userId);
  await Promise.all(clients.map((c) => c.client.connectionId.query()));
  const publisher = clients[0]!.client;
  await Promise.all(
    clients.map(async (c, i) => {
      for (let k = 0; k < opts.callsEach; k++) {
        if (k % 5 === 4) await c.client.fail.mutate().catch(() => undefined);
        else await c.client.echo.query({ text: `${c.userId}-${k}` });
        if (i === 0) await publisher.publish.mutate({ n: k });
      }
    }),
  );
  return {
    clients,
    /** Every client's received events are in, or the wait times out. */
    close: () => Promise.all(clients.map((c) => c.client.$close())),
  };
}
