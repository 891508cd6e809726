import type { DuplexInspector, DuplexInstance, DuplexRoute } from '@duplex/server';
import { AdminHub } from './adminHub';
import { adminCommandsChannel, type DuplexAdminOptions, resolveAdminOptions } from './adminOptions';
import {
  type AdminCommandRequest,
  type AdminRouter,
  type AdminUser,
  createAdminRouter,
} from './adminRouter';
import type { AdminCommand } from './adminTypes';
import { NodeReporter } from './nodeReporter';
import { type AdminRoutesOptions, createAdminPageRoute } from './pageRoute';

/**
 * What {@link DuplexAdmin.attach} needs of a server: a `DuplexServer` has all of it. Its
 * `httpServer`'s `close` stops the reporting (a server attached to an app's own HTTP server,
 * which outlives it, needs the `stop` that `attach` returns).
 */
export interface AdminAttachable {
  readonly inspector: DuplexInspector;
  readonly httpServer?: {
    once(event: 'close', listener: () => void): unknown;
    off(event: 'close', listener: () => void): unknown;
  };
}

/** The dashboard of one app: its router, its page, and the node it reports. */
export interface DuplexAdmin<TUser extends AdminUser> {
  /**
   * The admin procedures on the app's tRPC instance, to mount under `admin`: `whoami`,
   * `overview`, `connections`, `disconnect`, `disconnectUser`.
   */
  router(d: DuplexInstance<TUser>): AdminRouter<TUser>;
  /** The route serving the dashboard page (public files: every figure needs `authorize`). */
  routes(opts?: AdminRoutesOptions): DuplexRoute[];
  /**
   * Reports `server` (its figures and connections, every `reportIntervalMs`) and applies
   * operators' commands to it, until the returned function is called or the server closes.
   * One server at a time.
   */
  attach(server: AdminAttachable): () => void;
  /** The attached node's id, or `null` while none is attached. */
  readonly nodeId: string | null;
}

/**
 * Creates the operations dashboard for an app: a typed admin router, the page that shows it,
 * and the reporting that makes every node of a cluster appear (over the app's broker).
 * @example
 * ```ts
 * const d = initDuplex<User>();
 * const admin = createDuplexAdmin({ authorize: (user: User) => user.admin, broker });
 * const appRouter = d.router({ chat: createChatRouter(d, { store, broker }), admin: admin.router(d) });
 * const server = createDuplexServer({
 *   router: appRouter,
 *   authenticate,
 *   broker,
 *   routes: [...admin.routes({ path: '/admin' })],
 * });
 * admin.attach(server);
 * await server.listen(3000); // the dashboard: http://127.0.0.1:3000/admin/
 * ```
 */
export function createDuplexAdmin<TUser extends AdminUser>(
  opts: DuplexAdminOptions<TUser>,
): DuplexAdmin<TUser> {
  const resolved = resolveAdminOptions(opts);
  const hub = new AdminHub(resolved);
  const adminId = `admin-${Math.random().toString(36).slice(2, 10)}`;
  let attached: NodeReporter | null = null;

  const send = async (partial: AdminCommandRequest): Promise<number> => {
    const command = { ...partial, from: adminId } as AdminCommand;
    const closed = attached ? attached.apply(command) : 0;
    resolved.audit({
      command,
      nodeId: attached?.inspector.nodeId ?? null,
      closed,
      phase: 'issued',
      at: Date.now(),
    });
    await resolved.broker.publish(adminCommandsChannel, command, { ephemeral: true });
    return closed;
  };

  return {
    router: (d) =>
      createAdminRouter(d, {
        authorize: opts.authorize,
        hub,
        nodeId: () => attached?.inspector.nodeId ?? null,
        send,
      }),
    routes: (routeOpts) => [createAdminPageRoute(routeOpts)],
    attach(server) {
      if (attached) {
        throw new Error('createDuplexAdmin: attach() a server only after stopping the previous');
      }
      const reporter = new NodeReporter(server.inspector, resolved, adminId);
      attached = reporter;
      const release = hub.retain();
      reporter.start(hub.ready);
      let stopped = false;
      const stop = () => {
        if (stopped) return;
        stopped = true;
        server.httpServer?.off('close', stop);
        reporter.stop();
        release();
        if (attached === reporter) attached = null;
      };
      server.httpServer?.once('close', stop);
      return stop;
    },
    get nodeId() {
      return attached?.inspector.nodeId ?? null;
    },
  };
}
