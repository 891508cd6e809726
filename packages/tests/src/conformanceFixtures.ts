import {
  type Authenticate,
  createDuplexServer,
  createMemoryBroker,
  type DuplexHandlerKind,
  type DuplexServerOptions,
  initDuplex,
  streamChannel,
} from '@duplex/server';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import { TRPCError, tracked } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import { z } from 'zod';

const t = initDuplex<{ id: string }>();

const untilAborted = (signal: AbortSignal | undefined) =>
  new Promise<void>((resolve) => {
    if (!signal || signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });

/** Every kind of procedure and every way one can end, for the handler conformance suite. */
export const conformanceRouter = t.router({
  echo: t.procedure
    .input(z.object({ text: z.string(), at: z.date().optional() }))
    .query(({ input }) => input),
  add: t.procedure
    .input(z.object({ a: z.number(), b: z.number() }))
    .mutation(({ input }) => input.a + input.b),
  slow: t.procedure.input(z.object({ ms: z.number() })).query(async ({ input }) => {
    await new Promise((resolve) => setTimeout(resolve, input.ms));
    return input.ms;
  }),
  forbidden: t.procedure.query(() => {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Not yours' });
  }),
  crash: t.procedure.mutation(() => {
    throw new Error('secret internals');
  }),
  iterableQuery: t.procedure.query(async function* () {
    yield 1;
  }),
  count: t.procedure
    .input(z.object({ to: z.number(), lastEventId: z.string().nullish() }))
    .subscription(async function* ({ input }) {
      const from = input.lastEventId ? Number(input.lastEventId) + 1 : 1;
      for (let n = from; n <= input.to; n++) yield tracked(String(n), { n, at: new Date(n) });
    }),
  untracked: t.procedure.subscription(async function* () {
    yield 'a';
    yield { b: new Date(0) };
  }),
  fromObservable: t.procedure.subscription(() =>
    observable<number>((emit) => {
      emit.next(1);
      emit.next(2);
      emit.complete();
      return () => {};
    }),
  ),
  failsMidway: t.procedure.subscription(async function* () {
    yield tracked('1', { n: 1 });
    throw new TRPCError({ code: 'CONFLICT', message: 'went wrong' });
  }),
  crashesMidway: t.procedure.subscription(async function* () {
    yield tracked('1', { n: 1 });
    throw new Error('secret internals');
  }),
  failsSetup: t.procedure.subscription(() => {
    throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'not now' });
  }),
  notIterable: t.procedure.subscription(() => 42 as unknown as AsyncIterable<number>),
  slowSetup: t.procedure
    .input(z.object({ ms: z.number() }))
    .subscription(async ({ input, signal }) => {
      await new Promise((resolve) => setTimeout(resolve, input.ms));
      return (async function* () {
        yield tracked('1', { n: 1 });
        await untilAborted(signal);
      })();
    }),
  forever: t.procedure
    .input(z.object({ lastEventId: z.string().nullish() }).nullish())
    .subscription(async function* ({ input, signal }) {
      yield tracked('0', { resumedFrom: input?.lastEventId ?? null });
      await untilAborted(signal);
    }),
  onEvent: t.procedure
    .input(z.object({ channel: z.string(), lastEventId: z.string().nullish() }))
    .subscription(({ ctx, input, signal }) =>
      streamChannel<{ n: number }>(ctx.broker, input.channel, {
        lastEventId: input.lastEventId,
        signal,
      }),
    ),
  publish: t.procedure
    .input(z.object({ channel: z.string(), n: z.number() }))
    .mutation(({ ctx, input }) => ctx.broker.publish(input.channel, { n: input.n })),
});

export type ConformanceRouter = typeof conformanceRouter;

export const handlers = ['stock', 'duplex'] as const satisfies readonly DuplexHandlerKind[];

const authenticate: Authenticate<{ id: string }> = ({ connectionParams }) =>
  connectionParams?.token === 'good' ? { user: { id: 'u1' } } : null;

/** A server for one handler on 127.0.0.1:0, restartable on the same port with the same broker. */
export async function startConformanceServer(
  handler: DuplexHandlerKind,
  opts: Partial<DuplexServerOptions<ConformanceRouter>> = {},
) {
  const broker = createMemoryBroker();
  const make = () =>
    createDuplexServer({
      router: conformanceRouter,
      authenticate,
      onError: () => {},
      handler,
      ...opts,
      broker,
    });
  let server = make();
  const { port } = await server.listen(0);
  return {
    broker,
    get server() {
      return server;
    },
    wsUrl: `ws://127.0.0.1:${port}/trpc`,
    async restart() {
      await server.close({ drainTimeoutMs: 0 });
      server = make();
      await server.listen(port);
    },
    async [Symbol.asyncDispose]() {
      await server.close({ drainTimeoutMs: 0 });
      await broker.close();
    },
  };
}

/** What a raw peer saw: every text frame in order, and how the socket closed. */
export interface Transcript {
  frames: string[];
  closeCode: number | null;
}

/**
 * A raw `ws` peer that records every frame: the wire itself, with no client in between to
 * smooth over differences.
 */
export class RawPeer {
  readonly frames: string[] = [];
  closeCode: number | null = null;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      this.frames.push(data.toString());
      this.wake();
    });
    socket.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
  }

  /** Opens a peer; `params` go into its `connectionParams` beside `token` (none without it). */
  static async open(
    wsUrl: string,
    token: string | null = 'good',
    params: Record<string, string> = {},
  ): Promise<RawPeer> {
    const socket = new WebSocket(`${wsUrl}?connectionParams=1`);
    const peer = new RawPeer(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    if (token !== null) {
      socket.send(JSON.stringify({ method: 'connectionParams', data: { ...params, token } }));
      await peer.until((p) => p.frames.length >= 1 || p.closeCode !== null);
    }
    return peer;
  }

  private wake() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Sends a frame: a string as is, anything else as JSON. */
  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves once `done` holds, re-checked on every frame and on close. */
  async until(done: (peer: RawPeer) => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this)) {
      if (Date.now() > deadline) {
        throw new Error(`Timed out; frames so far: ${JSON.stringify(this.frames)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for `count` frames in all. */
  untilFrames(count: number) {
    return this.until((peer) => peer.frames.length >= count);
  }

  /**
   * Waits until the server has nothing more to say: a `PING` is answered in order, and a short
   * quiet spell after its `PONG` proves no late frame (a delayed `stopped`) follows.
   */
  async settle(quietMs = 60): Promise<void> {
    if (this.closeCode !== null) return;
    const pongs = this.frames.filter((frame) => frame === 'PONG').length;
    this.send('PING');
    await this.until(
      (peer) => peer.closeCode !== null || peer.frames.filter((f) => f === 'PONG').length > pongs,
    );
    // The settling PONG is the harness's, not part of the case.
    if (this.frames.filter((f) => f === 'PONG').length > pongs) {
      this.frames.splice(this.frames.lastIndexOf('PONG'), 1);
    }
    let seen = -1;
    while (seen !== this.frames.length) {
      seen = this.frames.length;
      await new Promise((resolve) => setTimeout(resolve, quietMs));
    }
  }

  transcript(): Transcript {
    return { frames: [...this.frames], closeCode: this.closeCode };
  }

  close(): void {
    this.socket.close();
  }
}

/** A call frame as the pinned `wsLink` builds it: input through superjson. */
export function call(
  id: number | string | null,
  method: 'query' | 'mutation' | 'subscription',
  path: string,
  input?: unknown,
  lastEventId?: string,
) {
  return {
    id,
    method,
    params: {
      input: superjson.serialize(input),
      path,
      lastEventId,
    },
  };
}

export const stop = (id: number | string) => ({ id, method: 'subscription.stop' });

/**
 * Groups a transcript's frames by request id, in order within each: what a client observes,
 * since it demultiplexes by id. Independent calls may complete in either order on the wire.
 */
export function byRequest(transcript: Transcript): Record<string, string[]> {
  const groups: Record<string, string[]> = {};
  for (const frame of transcript.frames) {
    let key = 'control';
    if (frame.startsWith('{')) {
      const id = (JSON.parse(frame) as { id?: unknown }).id;
      key = id === null || id === undefined ? 'control' : `id:${JSON.stringify(id)}`;
    }
    const group = groups[key] ?? [];
    group.push(frame);
    groups[key] = group;
  }
  return groups;
}

/** tRPC's own client (`createWSClient` + `wsLink`) on a conformance server, with tiny backoffs. */
export function stockWsClient(wsUrl: string) {
  const wsClient = createWSClient({
    url: wsUrl,
    connectionParams: { token: 'good' },
    retryDelayMs: () => 10,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  const client = createTRPCClient<ConformanceRouter>({
    links: [wsLink({ client: wsClient, transformer: superjson })],
  });
  return { client, close: () => wsClient.close() };
}
