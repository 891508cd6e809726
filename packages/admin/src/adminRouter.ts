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
  const ensureOperator = async (user: TUser) => {
    if (!(await deps.authorize(user))) {
      throw new TRPCError({ code: 'FORBIDDEN', message: 'Not an operator' });
    }
  };
  const adminProcedure = d.procedure.use(async ({ ctx, next }) => {
    await ensureOperator(ctx.user);
    return next();
  });

  return d.router({
    /** Who the operator is and which node answers: the page's sign-in check. */
    whoami: adminProcedure.query(
      ({ ctx }): WhoamiResult => ({ userId: ctx.user.id, nodeId: deps.nodeId() }),
    ),
    /**
     * Every live node's figures: the history first, then at most one frame a second. Ends with
     * `FORBIDDEN` at the first frame after `authorize` stops letting the operator through.
     */
    overview: adminProcedure.subscription(async function* ({ ctx, signal }) {
      yield* framesOf(hub, {
        signal: signal ?? ctx.signal,
        recheck: () => ensureOperator(ctx.user),
        build: (first) => hub.overview(first),
      });
    }),
    /**
     * The listed connections across the cluster, at most one frame a second. Ends with
     * `FORBIDDEN` at the first frame after `authorize` stops letting the operator through.
     */
    connections: adminProcedure.input(connectionsInput).subscription(async function* ({
      ctx,
      input,
      signal,
    }) {
      const query = { userId: input.userId, limit: input.limit ?? defaultConnectionsLimit };
      yield* framesOf(hub, {
        signal: signal ?? ctx.signal,
        recheck: () => ensureOperator(ctx.user),
        build: () => hub.connections(query),
      });
    }),
    /** Closes one connection, wherever in the cluster it is (close code 4403). */
    disconnect: adminProcedure
      .input(disconnectInput)
      .mutation(async ({ ctx, input }): Promise<CommandResult> => {
        const localClosed = await deps.send({
          type: 'disconnect',
          connectionId: input.connectionId,
          by: ctx.user.id,
        });
        return { sent: true, localClosed };
      }),
    /** Closes every connection of a user on every node (close code 4403). */
    disconnectUser: adminProcedure
      .input(disconnectUserInput)
      .mutation(async ({ ctx, input }): Promise<CommandResult> => {
        const localClosed = await deps.send({
          type: 'disconnectUser',
          userId: input.userId,
          by: ctx.user.id,
        });
        return { sent: true, localClosed };
      }),
  });
}

/** What `admin.whoami` answers: the operator and the node that serves them. */
export interface WhoamiResult {
  /** The operator's user id. */
  userId: string;
  /** The attached node's id, or `null` while no server is attached. */
  nodeId: string | null;
}

/** What `admin.disconnect` and `admin.disconnectUser` answer. */
export interface CommandResult {
  /** The command went out to every other node over the broker. */
  sent: true;
  /** How many connections the node that took the call closed itself. */
  localClosed: number;
}

/** The type of the admin router, for type helpers. */
export type AdminRouter<TUser extends AdminUser = AdminUser> = ReturnType<
  typeof createAdminRouter<TUser>
>;

/** What {@link framesOf} streams, and the check it repeats before each frame. */
interface FramesOptions<T> {
  signal: AbortSignal;
  /** Throws (`FORBIDDEN`) once the subscriber may no longer see the frames. */
  recheck: () => Promise<void>;
  build: (first: boolean) => T;
}

/**
 * A subscription's frames: one at once, then one after each change of the hub, at least
 * {@link minFrameIntervalMs} apart, each built from the hub's latest state (changes in between
 * are folded into it). Keeps the hub listening while it runs.
 *
 * `authorize` runs again before every frame after the first (the middleware ran it for the
 * first), so an operator whose rights are revoked gets no further figures and the stream ends
 * with its error. Frames are at most one a second, so this costs at most one `authorize` call
 * a second per subscription.
 */
async function* framesOf<T>(
  hub: AdminHub,
  opts: FramesOptions<T>,
): AsyncGenerator<T, void, unknown> {
  const { signal, build } = opts;
  const release = hub.retain();
  try {
    let version = hub.currentVersion;
    yield build(true);
    let sentAt = Date.now();
    while (!signal.aborted) {
      await hub.changedSince(version, signal);
      await delay(sentAt + minFrameIntervalMs - Date.now(), signal);
      if (signal.aborted) return;
      await opts.recheck();
      if (signal.aborted) return;
      version = hub.currentVersion;
      yield build(false);
      sentAt = Date.now();
    }
  } finally {
    release();
  }
}
