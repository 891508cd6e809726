import { once } from 'node:events';
import { IncomingMessage } from 'node:http';
import { closeCodes, readyNotification } from '@duplex/protocol';
import type { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import type { Authenticate } from './auth';
import { ConnectionLifecycle } from './connectionLifecycle';
import { ConnectionRegistry } from './connectionRegistry';
import type { DuplexErrorReport } from './errorReport';
import { initDuplex } from './initDuplex';
import { createKeepAlive } from './keepAlive';
import { type DuplexLimits, limitsDefaults } from './limits';
import { createMemoryBroker } from './memoryBroker';
import { createMetrics } from './metrics';
import { ServerFigures } from './serverFigures';
import { reconnectNotification } from './tokenExpiry';
import { UserBudgets, userIdKeyOf } from './userBudgets';
import type { WsHandlerOptions } from './wsHandlerOptions';
import { nextTexts, openWsTestPair } from './wsTestPair';

const duplex = initDuplex<{ id: string }>();
/** The per-user budget key of the user every `authenticate` here names. */
const u1 = userIdKeyOf({ id: 'u1' }) as string;
const router = duplex.router({});

/** A lifecycle on the server end of a real socket pair, with the parts it is given. */
async function openLifecycle(
  opts: {
    authenticate?: Authenticate<unknown>;
    limits?: Partial<DuplexLimits>;
    url?: string;
    userBudgets?: UserBudgets;
  } = {},
) {
  const pair = await openWsTestPair();
  const limits: DuplexLimits = { ...limitsDefaults, ...opts.limits };
  const reports: DuplexErrorReport[] = [];
  const keepAlive = createKeepAlive({}, () => {});
  const handler: WsHandlerOptions<typeof router> = {
    router,
    // The lifecycle never reads the `ws` server; the handlers pass it to tRPC.
    wss: null as never,
    authenticate: opts.authenticate ?? (() => ({ user: { id: 'u1' } })),
    broker: createMemoryBroker(),
    limits,
    metrics: createMetrics(),
    keepAlive,
    tokenRefreshLeadMs: 30_000,
    onError: (report) => reports.push(report),
    userBudgets: opts.userBudgets ?? new UserBudgets(limits),
    registry: new ConnectionRegistry(),
    figures: new ServerFigures(router),
    tracer: null,
  };
  const req = new IncomingMessage(pair.tcp);
  req.url = opts.url ?? '/trpc';
  const lifecycle = new ConnectionLifecycle(handler, pair.server, req);
  pair.server.once('close', () => lifecycle.onClose());
  const sent: string[] = [];
  const sink = {
    send(frame: string) {
      sent.push(frame);
      pair.server.send(frame);
    },
  };
  return {
    lifecycle,
    handler,
    pair,
    reports,
    sent,
    sink,
    /** The close code the client sees. */
    closed: once(pair.client, 'close').then(([code]) => code as number),
    async [Symbol.asyncDispose]() {
      keepAlive.stop();
      await pair[Symbol.asyncDispose]();
    },
  };
}

const refusedCode = (outcome: unknown) => (outcome as { refused?: TRPCError }).refused?.code;

describe('ConnectionLifecycle', () => {
  it('readies an accepted connection: duplex.ready, then a context for the user', async () => {
    await using t = await openLifecycle();
    const ready = nextTexts(t.pair.client, 1);
    const outcome = await t.lifecycle.authenticate(null, t.sink);
    expect(await ready).toEqual([readyNotification]);
    expect(outcome).toMatchObject({
      ctx: { user: { id: 'u1' }, connection: { transport: 'ws', wantsCursor: false } },
    });
    expect(t.lifecycle.userBudget).not.toBeNull();
  });

  it('refuses a null authenticate with UNAUTHORIZED and closes with 4401 after the linger', async () => {
    await using t = await openLifecycle({ authenticate: () => null });
    const outcome = await t.lifecycle.authenticate(null, t.sink);
    expect(refusedCode(outcome)).toBe('UNAUTHORIZED');
    expect(t.handler.metrics.refusedUnauthorized).toBe(1);
    expect(await t.closed).toBe(closeCodes.unauthorized);
    expect(t.sent).toEqual([]);
  });

  it('reports a throwing authenticate as the connection’s failure and refuses it', async () => {
    await using t = await openLifecycle({
      authenticate: () => {
        throw new Error('session store down');
      },
    });
    const outcome = await t.lifecycle.authenticate(null, t.sink);
    expect(refusedCode(outcome)).toBe('UNAUTHORIZED');
    expect(t.reports).toMatchObject([{ source: 'connection', transport: 'websocket' }]);
  });

  it('neither counts nor readies a socket that closed while authenticate ran', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await using t = await openLifecycle({
      authenticate: async () => {
        await gate;
        return { user: { id: 'u1' }, expiresAt: Date.now() + 60_000 };
      },
    });
    const outcome = t.lifecycle.authenticate(null, t.sink);
    t.pair.client.close();
    await once(t.pair.server, 'close');
    release();
    expect(refusedCode(await outcome)).toBe('UNAUTHORIZED');
    expect(t.handler.metrics.refusedUnauthorized).toBe(0);
    expect(t.sent).toEqual([]);
  });

  it('refuses a user past maxConnectionsPerUser and closes with 4409 after the turn', async () => {
    const limits = { ...limitsDefaults, maxConnectionsPerUser: 1 };
    const userBudgets = new UserBudgets(limits);
    const held = userBudgets.connect(u1);
    expect(held).not.toBeNull();
    await using t = await openLifecycle({ limits, userBudgets });
    const outcome = await t.lifecycle.authenticate(null, t.sink);
    expect(refusedCode(outcome)).toBe('TOO_MANY_REQUESTS');
    // Still open this turn: the handler sends the `id: null` error before the close.
    expect(t.pair.server.readyState).toBe(t.pair.server.OPEN);
    expect(await t.closed).toBe(closeCodes.tooManyConnections);
    expect(t.handler.metrics.refusedUserConnections).toBe(1);
  });

  it('frees the user’s connection slot when the socket closes', async () => {
    const limits = { ...limitsDefaults, maxConnectionsPerUser: 1 };
    const userBudgets = new UserBudgets(limits);
    {
      await using t = await openLifecycle({ limits, userBudgets });
      await t.lifecycle.authenticate(null, t.sink);
      expect(userBudgets.connect(u1)).toBeNull();
      t.pair.client.close();
      await once(t.pair.server, 'close');
      expect(t.lifecycle.abort.signal.aborted).toBe(true);
    }
    expect(userBudgets.connect(u1)).not.toBeNull();
  });

  it('asks for a reconnect before the token expires, then closes with 4410', async () => {
    await using t = await openLifecycle({
      authenticate: () => ({ user: { id: 'u1' }, expiresAt: Date.now() + 200 }),
    });
    const frames = nextTexts(t.pair.client, 2);
    await t.lifecycle.authenticate(null, t.sink);
    expect(await frames).toEqual([readyNotification, reconnectNotification]);
    expect(await t.closed).toBe(closeCodes.tokenExpired);
  });

  it('closes a ?connectionParams=1 socket with 4408 when its params never come', async () => {
    await using t = await openLifecycle({
      url: '/trpc?connectionParams=1',
      limits: { authTimeoutMs: 20 },
    });
    expect(t.lifecycle.paramsFirst).toBe(true);
    expect(await t.closed).toBe(closeCodes.authTimeout);
  });

  it('refuses malformed connectionParams: the error goes out first, then 4400', async () => {
    await using t = await openLifecycle({ url: '/trpc?connectionParams=1' });
    const announced: TRPCError[] = [];
    const params = t.lifecycle.readParams('{not json', (error) => announced.push(error));
    expect(params).toBeUndefined();
    expect(announced.map((error) => error.code)).toEqual(['PARSE_ERROR']);
    expect(await t.closed).toBe(closeCodes.badConnectionParams);
  });

  it('reads well-formed connectionParams and leaves the socket open', async () => {
    await using t = await openLifecycle({ url: '/trpc?connectionParams=1' });
    const frame = JSON.stringify({ method: 'connectionParams', data: { token: 't' } });
    expect(t.lifecycle.readParams(frame, () => {})).toEqual({ token: 't' });
    expect(t.pair.server.readyState).toBe(t.pair.server.OPEN);
  });

  it('closes a slow consumer with 4507 and counts it', async () => {
    await using t = await openLifecycle();
    t.lifecycle.closeSlowConsumer();
    expect(await t.closed).toBe(closeCodes.slowConsumer);
    expect(t.handler.metrics.closedSlowConsumer).toBe(1);
  });
});
