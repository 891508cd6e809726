import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ChatLimits,
  createChatAttachmentRoute,
  createFileBlobStore,
  createSqlChatStore,
} from '@duplex/chat';
import { createNotifier, createSqlNotificationStore } from '@duplex/notifications';
import {
  type Broker,
  createDuplexServer,
  createMemoryBroker,
  createMemoryPresence,
  type DuplexLimits,
  type DuplexServer,
  logErrorReport,
  type Presence,
} from '@duplex/server';
import { createPgliteDatabase, type SqlDatabase } from '@duplex/sql';
import { createAppRouter, createOperatorDashboard, devAuthenticate } from './router';

/** Where `vite build` puts the web app. */
export const webDir = fileURLToPath(new URL('../../dist', import.meta.url));

/** Where the operator's dashboard is served. */
export const adminPath = '/admin';

/** Options of {@link createChatApp}. */
export interface ChatAppOptions {
  /** The database; by default PGlite in `dataDir`. */
  db?: SqlDatabase;
  /**
   * Where PGlite keeps its data when no `db` is given; in memory when `null`.
   * @default '.data/chat'
   */
  dataDir?: string | null;
  broker?: Broker;
  /**
   * Signs in the operator as `admin:<adminToken>`, who may send notifications.
   * @default a random token (see `app.adminToken`)
   */
  adminToken?: string;
  /** The chat module's limits; see `docs/chat.md`. */
  chatLimits?: Partial<ChatLimits>;
  /**
   * Who is online in each room; in this process's memory by default. Several nodes share one
   * (e.g. `createRedisPresence`), so each shows everyone.
   */
  presence?: Presence;
  /** The server's per-connection limits; see `docs/reference/limits.md`. */
  limits?: Partial<DuplexLimits>;
  /**
   * The built web app to serve; `null` serves none (API only).
   * @default webDir when it has been built (`npm run build`), else none
   */
  staticDir?: string | null;
}

/** The chat app: the typed API, attachments, and the web app, on one port. */
export async function createChatApp(opts: ChatAppOptions = {}) {
  const dataDir = opts.dataDir === undefined ? '.data/chat' : opts.dataDir;
  const db = opts.db ?? (await createPgliteDatabase(dataDir === null ? {} : { dataDir }));
  // PGlite runs on the event loop: attachment bytes go to files beside it (docs/chat.md#storage).
  const store = await createSqlChatStore(
    db,
    !opts.db && dataDir !== null
      ? { blobs: createFileBlobStore({ dir: join(dataDir, 'attachments') }) }
      : {},
  );
  const broker = opts.broker ?? createMemoryBroker();
  const notifier = createNotifier({ store: await createSqlNotificationStore(db), broker });
  const adminToken = opts.adminToken ?? randomBytes(24).toString('base64url');
  if ((await store.listPublicRooms(1)).length === 0) {
    await store.createRoom({
      id: 'general',
      name: 'General',
      visibility: 'public',
      ownerId: 'duplex',
      ownerName: 'Duplex',
    });
    // The lobby belongs to no one who takes part: its creator is not listed as a member.
    await store.removeMember('general', 'duplex');
  }
  const staticDir =
    opts.staticDir === undefined ? (existsSync(webDir) ? webDir : null) : opts.staticDir;
  // One hook for the server and the chat module: a call's failure and a background one (the
  // stream sweep, presence) are logged the same way, with where and for whom.
  const onError = logErrorReport;
  const closing = new AbortController();
  // The operator's dashboard: this node reports over the broker, so on Redis every node shows.
  // It reads the chat's own presence, to show who is in each room.
  const presence = opts.presence ?? createMemoryPresence();
  const admin = createOperatorDashboard(broker, { onError, presence });
  const server: DuplexServer = createDuplexServer({
    router: createAppRouter(store, notifier, {
      ...(opts.chatLimits ? { chatLimits: opts.chatLimits } : {}),
      presence,
      onError,
      signal: closing.signal,
      admin,
    }),
    authenticate: devAuthenticate(adminToken),
    broker,
    onError,
    ...(opts.limits ? { limits: opts.limits } : {}),
    routes: [
      createChatAttachmentRoute({ store, limits: opts.chatLimits ?? {} }),
      // The operator signs in as `admin:<adminToken>`: the page asks for the token alone.
      ...admin.routes({ path: adminPath, tokenPrefix: 'admin:' }),
    ],
    ...(staticDir ? { staticDir } : {}),
  });
  const stopAdmin = admin.attach(server);
  // Retention: old read notifications (30 days) and any older than 180 days are deleted.
  await notifier.prune();
  const prune = () => void notifier.prune().catch((error: unknown) => console.error(error));
  const pruneTimer = setInterval(prune, 6 * 3_600_000);
  pruneTimer.unref();
  return {
    server,
    store,
    notifier,
    adminToken,
    /** Where the operator's dashboard is served (sign in with `adminToken`). */
    adminPath: `${adminPath}/`,
    async close() {
      clearInterval(pruneTimer);
      stopAdmin();
      closing.abort();
      await server.close({ drainTimeoutMs: 1_000 });
      if (!opts.broker) await broker.close();
      if (!opts.db) await db.close();
    },
  };
}
