import type { DuplexInstance } from '@duplex/server';
import { TRPCError } from '@trpc/server';
import type { AdminHub } from './adminHub';
import { connectionsInput, disconnectInput, disconnectUserInput } from './adminSchemas';
import type { AdminCommand } from './adminTypes';
import { delay } from './backgroundTask';

/** The fewest milliseconds between two frames of one subscription, however many nodes report. */
export const minFrameIntervalMs = 1_000;

/** The connections one `admin.connections` frame lists when the input names no `limit`. */
export const defaultConnectionsLimit = 200;

/** The least a user must have for the admin router: an id (what audits and `whoami` name). */
export interface AdminUser {
  readonly id: string;
}

/** What the router needs from its `createDuplexAdmin`. */
export interface AdminRouterDeps<TUser> {
  authorize: (user: TUser) => boolean | Promise<boolean>;
  hub: AdminHub;
  /** The attached node's id, or `null` while none is attached. */
  nodeId(): string | null;
  /** Applies a command to the attached node, sends it to every other: what this node closed. */
  send(command: AdminCommandRequest): Promise<number>;
}

/** A command as a procedure asks for it: the admin instance adds `from`. */
export type AdminCommandRequest = AdminCommand extends infer TCommand
  ? TCommand extends AdminCommand
    ? Omit<TCommand, 'from'>
    : never
  : never;

/**
 * The admin procedures on the app's own tRPC instance (same context and transformer), each
 * behind the `authorize` rule: `whoami`, `overview`, `connections`, `disconnect`,
 * `disconnectUser`. Built by {@link DuplexAdmin.router}.
 */
export function createAdminRouter<TUser extends AdminUser>(
  d: DuplexInstance<TUser>,
  deps: AdminRouterDeps<TUser>,
) {
  const { hub } = deps;
  const adminProcedure = d.procedure.use(async ({ ctx, next }) => {
    if (!(await deps.authorize(ctx.user))) {
      throw new TRPCError({ code: 'FORBIDDEN', message: 'Not an operator' });
    }
    return next();
  });

  return d.router({
    /** Who the operator is and which node answers: the page's sign-in check. */
    whoami: adminProcedure.query(({ ctx }) => ({
      userId: ctx.user.id,
      nodeId: deps.nodeId(),
    })),
    /** Every live node's figures: the history first, then at most one frame a second. */
    overview: adminProcedure.subscription(async function* ({ ctx, signal }) {
      yield* framesOf(hub, signal ?? ctx.signal, (first) => hub.overview(first));
    }),
    /** The listed connections across the cluster, at most one frame a second. */
    connections: adminProcedure.input(connectionsInput).subscription(async function* ({
      ctx,
      input,
      signal,
    }) {
      const query = { userId: input.userId, limit: input.limit ?? defaultConnectionsLimit };
      yield* framesOf(hub, signal ?? ctx.signal, () => hub.connections(query));
    }),
    /** Closes one connection, wherever in the cluster it is (close code 4403). */
    disconnect: adminProcedure.input(disconnectInput).mutation(async ({ ctx, input }) => {
      const localClosed = await deps.send({
        type: 'disconnect',
        connectionId: input.connectionId,
        by: ctx.user.id,
      });
      return { sent: true as const, localClosed };
    }),
    /** Closes every connection of a user on every node (close code 4403). */
    disconnectUser: adminProcedure.input(disconnectUserInput).mutation(async ({ ctx, input }) => {
      const localClosed = await deps.send({
        type: 'disconnectUser',
        userId: input.userId,
        by: ctx.user.id,
      });
      return { sent: true as const, localClosed };
    }),
  });
}

/** The type of the admin router, for type helpers. */
export type AdminRouter<TUser extends AdminUser = AdminUser> = ReturnType<
  typeof createAdminRouter<TUser>
>;

/**
 * A subscription's frames: one at once, then one after each change of the hub, at least
 * {@link minFrameIntervalMs} apart, each built from the hub's latest state (changes in between
 * are folded into it). Keeps the hub listening while it runs.
 */
async function* framesOf<T>(
  hub: AdminHub,
  signal: AbortSignal,
  build: (first: boolean) => T,
): AsyncGenerator<T, void, unknown> {
  const release = hub.retain();
  try {
    let version = hub.currentVersion;
    yield build(true);
    let sentAt = Date.now();
    while (!signal.aborted) {
      await hub.changedSince(version, signal);
      await delay(sentAt + minFrameIntervalMs - Date.now(), signal);
      if (signal.aborted) return;
      version = hub.currentVersion;
      yield build(false);
      sentAt = Date.now();
    }
  } finally {
    release();
  }
}
