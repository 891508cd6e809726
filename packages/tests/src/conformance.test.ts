import { createRequire } from 'node:module';
import { createDuplexClient } from '@duplex/client';
import { isCursor } from '@duplex/protocol';
import type { DuplexHandlerKind, DuplexServerOptions } from '@duplex/server';
import type { TRPCClient } from '@trpc/client';
import { describe, expect, it, vi } from 'vitest';
import {
  byRequest,
  type ConformanceRouter,
  call,
  RawPeer,
  startConformanceServer,
  stockWsClient,
  stop,
  type Transcript,
} from './conformanceFixtures';
import { deferred } from './helpers';

type Server = Awaited<ReturnType<typeof startConformanceServer>>;

interface WireCase {
  /** Drives one raw peer; the transcript is what it saw. */
  run(peer: RawPeer, server: Server): Promise<void>;
  /** Server options beyond the defaults. */
  options?: Partial<DuplexServerOptions<ConformanceRouter>>;
  /** The token the peer authenticates with; `null` sends no connectionParams. */
  token?: string | null;
  /** More `connectionParams` beside the token, e.g. `{ duplex: 'cursor' }`. */
  params?: Record<string, string>;
  /** Whether the whole frame order must match, not just the order per request. */
  ordered?: boolean;
  /** Checks the (stock) transcript makes sense, so identical-but-wrong cannot pass. */
  check(transcript: Transcript): void;
  /**
   * The first tRPC version whose stock handler gets this case right. On an older installed tRPC
   * (the consumer suite runs this file on the oldest supported one), the Duplex handler is held
   * to `check` alone instead of to the stock transcript.
   */
  stockSince?: string;
}

/** The installed tRPC: the repo's, or the consumer project's when that suite runs this file. */
const trpcVersion = (
  createRequire(import.meta.url)('@trpc/server/package.json') as { version: string }
).version;
const olderThan = (version: string, than: string) => {
  const [a, b] = [version, than].map((v) => v.split('.').map(Number)) as [number[], number[]];
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
};

async function transcriptOf(handler: DuplexHandlerKind, wireCase: WireCase): Promise<Transcript> {
  await using server = await startConformanceServer(handler, wireCase.options);
  const peer = await RawPeer.open(
    server.wsUrl,
    wireCase.token === undefined ? 'good' : wireCase.token,
    wireCase.params,
  );
  await wireCase.run(peer, server);
  await peer.settle();
  peer.close();
  return peer.transcript();
}

const ready = '{"id":null,"method":"duplex.ready"}';
const parse = (frame: string | undefined) => JSON.parse(frame ?? 'null');
const errorOf = (frame: string | undefined) =>
  parse(frame).error.json as { message: string; data: { code: string } };

const wireCases: Record<string, WireCase> = {
  'answers a query and a mutation with superjson types': {
    ordered: true,
    async run(peer) {
      peer.send(call(1, 'query', 'echo', { text: 'héllo', at: new Date(5) }));
      await peer.untilFrames(2);
      peer.send(call(2, 'mutation', 'add', { a: 2, b: 3 }));
      await peer.untilFrames(3);
    },
    check({ frames }) {
      expect(frames[0]).toBe(ready);
      expect(parse(frames[1]).result.data.meta).toMatchObject({ values: { at: ['Date'] } });
      expect(parse(frames[2])).toEqual({ id: 2, result: { type: 'data', data: { json: 5 } } });
    },
  },
  'answers every call of a batched frame': {
    async run(peer) {
      peer.send([
        call(1, 'query', 'echo', { text: 'a' }),
        call(2, 'mutation', 'add', { a: 1, b: 1 }),
        call(3, 'query', 'forbidden'),
        call('x', 'query', 'slow', { ms: 5 }),
      ]);
      await peer.untilFrames(5);
    },
    check(transcript) {
      expect(Object.keys(byRequest(transcript)).sort()).toEqual([
        'control',
        'id:"x"',
        'id:1',
        'id:2',
        'id:3',
      ]);
    },
  },
  'streams a tracked subscription to completion: started, data with ids, stopped': {
    ordered: true,
    async run(peer) {
      peer.send(call(1, 'subscription', 'count', { to: 3 }));
      await peer.untilFrames(6);
    },
    check({ frames }) {
      expect(frames.slice(1).map((f) => parse(f).result.type)).toEqual([
        'started',
        'data',
        'data',
        'data',
        'stopped',
      ]);
      expect(parse(frames[2]).result).toMatchObject({ id: '1', data: { json: { id: '1' } } });
    },
  },
  'merges lastEventId into an object input': {
    ordered: true,
    async run(peer) {
      peer.send(call(1, 'subscription', 'count', { to: 3 }, '1'));
      await peer.untilFrames(5);
    },
    check({ frames }) {
      expect(frames.slice(2, 4).map((f) => parse(f).result.id)).toEqual(['2', '3']);
    },
  },
  'turns lastEventId into the input when there is none': {
    async run(peer) {
      peer.send(call(7, 'subscription', 'forever', undefined, 'e9'));
      await peer.untilFrames(3);
      peer.send(stop(7));
      await peer.untilFrames(4);
    },
    check({ frames }) {
      expect(parse(frames[2]).result.data.json.data).toEqual({ resumedFrom: 'e9' });
      expect(parse(frames[3]).result.type).toBe('stopped');
    },
  },
  'streams untracked items and observables': {
    async run(peer) {
      peer.send(call(1, 'subscription', 'untracked'));
      peer.send(call(2, 'subscription', 'fromObservable'));
      await peer.untilFrames(9);
    },
    check(transcript) {
      const groups = byRequest(transcript);
      expect(groups['id:1']).toHaveLength(4);
      expect(groups['id:2']).toHaveLength(4);
      expect(parse(groups['id:1']?.[1]).result).toEqual({ type: 'data', data: { json: 'a' } });
    },
  },
  'sends an error thrown from an iterator after its events, then stopped': {
    ordered: true,
    async run(peer) {
      peer.send(call(1, 'subscription', 'failsMidway'));
      await peer.untilFrames(5);
    },
    check({ frames }) {
      expect(errorOf(frames[3])).toMatchObject({
        message: 'went wrong',
        data: { code: 'CONFLICT' },
      });
      expect(parse(frames[4]).result.type).toBe('stopped');
    },
  },
  'hides the message of an unexpected iterator error': {
    ordered: true,
    async run(peer) {
      peer.send(call(1, 'subscription', 'crashesMidway'));
      await peer.untilFrames(5);
    },
    check({ frames }) {
      expect(errorOf(frames[3]).message).toBe('Internal server error');
      expect(frames.join()).not.toContain('secret');
    },
  },
  'answers a subscription that fails during setup with its error alone': {
    async run(peer) {
      peer.send(call(1, 'subscription', 'failsSetup'));
      peer.send(call(2, 'subscription', 'notIterable'));
      peer.send(call(3, 'query', 'iterableQuery'));
      await peer.untilFrames(4);
    },
    check(transcript) {
      const groups = byRequest(transcript);
      expect(errorOf(groups['id:1']?.[0]).data.code).toBe('PRECONDITION_FAILED');
      expect(errorOf(groups['id:2']?.[0]).data.code).toBe('INTERNAL_SERVER_ERROR');
      expect(errorOf(groups['id:3']?.[0]).data.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    },
  },
  'stops a subscription stopped during its setup without starting it': {
    async run(peer) {
      peer.send(call(1, 'subscription', 'slowSetup', { ms: 50 }));
      peer.send(stop(1));
      await peer.untilFrames(2);
    },
    check({ frames }) {
      expect(frames.slice(1).map((f) => parse(f).result.type)).toEqual(['stopped']);
    },
    // 11.22's stock handler registers a subscription only once its setup is done, so it misses
    // the stop and starts it anyway.
    stockSince: '11.25.0',
  },
  'stops a running subscription and frees its id for reuse': {
    ordered: true,
    async run(peer) {
      peer.send(call(5, 'subscription', 'forever'));
      await peer.untilFrames(3);
      peer.send(stop(5));
      await peer.untilFrames(4);
      peer.send(call(5, 'subscription', 'count', { to: 1 }));
      await peer.untilFrames(7);
    },
    check({ frames }) {
      expect(frames.slice(1).map((f) => parse(f).result.type)).toEqual([
        'started',
        'data',
        'stopped',
        'started',
        'data',
        'stopped',
      ]);
    },
  },
  'refuses a duplicate subscription id': {
    async run(peer) {
      peer.send(call(5, 'subscription', 'forever'));
      await peer.untilFrames(3);
      peer.send(call(5, 'subscription', 'forever'));
      await peer.untilFrames(4);
      peer.send(stop(5));
      await peer.untilFrames(5);
    },
    check({ frames }) {
      expect(errorOf(frames[3])).toMatchObject({
        message: 'Duplicate id 5',
        data: { code: 'BAD_REQUEST' },
      });
    },
  },
  'answers malformed frames with parse errors and carries on': {
    ordered: true,
    async run(peer) {
      for (const frame of [
        '{not json',
        '42',
        JSON.stringify({ id: 1, method: 'nope', params: {} }),
        JSON.stringify({ id: 1, method: 'query', params: { path: 5 } }),
        JSON.stringify([call(1, 'query', 'echo', { text: 'a' }), { id: 2 }]),
        JSON.stringify(call(null, 'query', 'echo', { text: 'a' })),
      ]) {
        peer.send(frame);
      }
      peer.socket.send(Buffer.from('{}'), { binary: true });
      await peer.untilFrames(9);
      peer.send(call(9, 'query', 'echo', { text: 'still here' }));
      await peer.untilFrames(10);
    },
    check({ frames }) {
      for (const frame of frames.slice(1, 9)) expect(errorOf(frame).data.code).toBe('PARSE_ERROR');
      expect(errorOf(frames[1]).message).toMatch(/JSON/);
      // A malformed call is answered under its id, so its caller is not left waiting.
      expect([parse(frames[3]).id, errorOf(frames[3]).message]).toEqual([
        1,
        'Invalid procedure type',
      ]);
      expect(parse(frames[4]).id).toBe(1);
      expect(frames.slice(5, 7).map((f) => [parse(f).id, errorOf(f).message])).toEqual([
        [1, 'Another call in this batch is malformed'],
        [2, 'Invalid procedure type'],
      ]);
      expect(errorOf(frames[7]).message).toBe('`id` is required');
      expect(errorOf(frames[8]).message).toBe(
        'Binary frames are not supported: send JSON in text frames',
      );
      expect(parse(frames[9]).result.data.json.text).toBe('still here');
    },
  },
  'reports unknown procedures and invalid input': {
    async run(peer) {
      peer.send(call(1, 'query', 'nope'));
      peer.send(call(2, 'query', 'echo', { text: 42 }));
      peer.send(call(3, 'mutation', 'crash'));
      await peer.untilFrames(4);
    },
    check(transcript) {
      const groups = byRequest(transcript);
      expect(errorOf(groups['id:1']?.[0]).data.code).toBe('NOT_FOUND');
      expect(errorOf(groups['id:2']?.[0]).data.code).toBe('BAD_REQUEST');
      expect(errorOf(groups['id:3']?.[0]).message).toBe('Internal server error');
    },
  },
  'refuses an oversized batch call by call': {
    options: { limits: { maxBatchSize: 2 } },
    async run(peer) {
      peer.send([
        call(1, 'query', 'echo', { text: 'a' }),
        stop(9),
        call(2, 'query', 'echo', { text: 'b' }),
      ]);
      await peer.untilFrames(3);
    },
    check({ frames }) {
      expect(frames.slice(1).map((f) => [parse(f).id, errorOf(f).message])).toEqual([
        [1, 'Batch call exceeds maximum size'],
        [2, 'Batch call exceeds maximum size'],
      ]);
    },
  },
  'answers PING with PONG in order and ignores PONG': {
    ordered: true,
    async run(peer) {
      peer.send(call(1, 'subscription', 'count', { to: 1 }));
      await peer.untilFrames(4);
      peer.send('PONG');
      peer.send('PING');
      await peer.untilFrames(5);
    },
    check({ frames }) {
      expect(frames[4]).toBe('PONG');
    },
  },
  'rejects malformed connectionParams with a parse error and closes with 4400': {
    token: null,
    async run(peer) {
      peer.send('{"method":"connectionParams","data":{"token":5}}');
      await peer.until((p) => p.closeCode !== null);
    },
    check({ frames, closeCode }) {
      expect(errorOf(frames[0]).data.code).toBe('PARSE_ERROR');
      expect(closeCode).toBe(4400);
    },
  },
  'tells an unauthenticated socket it is refused (id: null UNAUTHORIZED), then closes it with 4401':
    {
      token: 'bad',
      async run(peer) {
        await peer.until((p) => p.closeCode !== null);
      },
      check({ frames, closeCode }) {
        expect(frames).toHaveLength(1);
        expect(parse(frames[0]).id).toBeNull();
        expect(errorOf(frames[0])).toMatchObject({
          message: 'Authentication refused',
          data: { code: 'UNAUTHORIZED' },
        });
        expect(closeCode).toBe(4401);
      },
    },
  'answers the calls a refused socket carries with UNAUTHORIZED before closing it with 4401': {
    token: null,
    ordered: true,
    async run(peer) {
      // What a stock `wsLink` does: its pending calls follow `connectionParams` unanswered.
      peer.send({ method: 'connectionParams', data: { token: 'bad' } });
      peer.send([call(1, 'query', 'echo', { text: 'a' }), call(2, 'subscription', 'forever')]);
      await peer.until((p) => p.closeCode !== null);
    },
    check({ frames, closeCode }) {
      expect(frames.map((f) => [parse(f).id, errorOf(f).data.code])).toEqual([
        [null, 'UNAUTHORIZED'],
        [1, 'UNAUTHORIZED'],
        [2, 'UNAUTHORIZED'],
      ]);
      expect(closeCode).toBe(4401);
    },
  },
  'answers calls past the burst with TOO_MANY_REQUESTS, then closes a flooder with 4429': {
    options: { limits: { burstCalls: 3, callsPerSecond: 1 } },
    async run(peer) {
      // The connectionParams frame costs its bytes, no call: the burst is the three calls.
      peer.send([call(1, 'query', 'echo', { text: 'a' }), call(2, 'query', 'echo', { text: 'b' })]);
      await peer.untilFrames(3);
      peer.send(call(3, 'query', 'echo', { text: 'c' }));
      await peer.untilFrames(4);
      // Three more wait for the refill (one burst); the rest are refused and sink into debt.
      for (let n = 0; n < 10; n++) peer.send(call(10 + n, 'query', 'echo', { text: 'd' }));
      await peer.until((p) => p.closeCode !== null);
    },
    check({ frames, closeCode }) {
      expect(frames.slice(1, 4).map((f) => parse(f).id)).toEqual([1, 2, 3]);
      expect(errorOf(frames[4]).data.code).toBe('TOO_MANY_REQUESTS');
      expect(closeCode).toBe(4429);
    },
  },
  'asks an expiring connection to reconnect, then closes it with 4410': {
    ordered: true,
    options: {
      tokenRefreshLeadMs: 60_000,
      authenticate: () => ({ user: { id: 'u1' }, expiresAt: Date.now() + 300 }),
    },
    async run(peer) {
      await peer.until((p) => p.closeCode !== null);
    },
    check({ frames, closeCode }) {
      expect(frames).toEqual([ready, '{"id":null,"method":"reconnect"}']);
      expect(closeCode).toBe(4410);
    },
  },
  'delivers broker events with their ids, the cursor first to a peer that asks for it': {
    ordered: true,
    params: { duplex: 'cursor' },
    async run(peer, server) {
      peer.send(call(1, 'subscription', 'onEvent', { channel: 'c' }));
      await peer.untilFrames(3);
      for (let n = 0; n < 3; n++) await server.broker.publish('c', { n });
      await peer.untilFrames(6);
      peer.send(stop(1));
      await peer.untilFrames(7);
    },
    check({ frames }) {
      expect(parse(frames[2]).result.data.json.data).toEqual({ duplex: 'cursor' });
      expect(parse(frames[5]).result.data.json.data).toEqual({ n: 2 });
    },
  },
  'delivers broker events without a cursor to a peer that did not ask for it': {
    ordered: true,
    async run(peer, server) {
      peer.send(call(1, 'subscription', 'onEvent', { channel: 'c' }));
      // Both handlers register the broker subscription in the turn that sends `started`.
      await peer.untilFrames(2);
      for (let n = 0; n < 3; n++) await server.broker.publish('c', { n });
      await peer.untilFrames(5);
      peer.send(stop(1));
      await peer.untilFrames(6);
    },
    check({ frames }) {
      expect(parse(frames[1]).result.type).toBe('started');
      expect(parse(frames[2]).result.data.json.data).toEqual({ n: 0 });
      expect(parse(frames[4]).result.data.json.data).toEqual({ n: 2 });
      expect(frames.some((frame) => frame.includes('"cursor"'))).toBe(false);
    },
  },
  'delivers broker events of every frame length class (7-bit, 16-bit, 64-bit)': {
    ordered: true,
    params: { duplex: 'cursor' },
    async run(peer, server) {
      peer.send(call(1, 'subscription', 'onEvent', { channel: 'big' }));
      await peer.untilFrames(3);
      for (const bytes of [10, 300, 70_000]) {
        await server.broker.publish('big', { n: bytes, text: 'x'.repeat(bytes) });
      }
      await peer.untilFrames(6);
    },
    check({ frames }) {
      expect(frames.slice(3).map((f) => parse(f).result.data.json.data.text.length)).toEqual([
        10, 300, 70_000,
      ]);
    },
  },
};

/** Broker event ids carry a random per-broker epoch; the rest of each frame must match. */
const normalize = (transcript: Transcript): Transcript => ({
  ...transcript,
  frames: transcript.frames.map((frame) =>
    frame.replace(/"[a-z0-9]{1,10}:(\d+)"/g, '"<epoch>:$1"'),
  ),
});

describe('the Duplex handler speaks the stock handler’s wire protocol', () => {
  for (const [name, wireCase] of Object.entries(wireCases)) {
    it(name, async () => {
      const duplex = normalize(await transcriptOf('duplex', wireCase));
      if (wireCase.stockSince && olderThan(trpcVersion, wireCase.stockSince)) {
        wireCase.check(duplex);
        return;
      }
      const stock = normalize(await transcriptOf('stock', wireCase));
      wireCase.check(stock);
      if (wireCase.ordered) expect(duplex).toEqual(stock);
      else {
        expect(byRequest(duplex)).toEqual(byRequest(stock));
        expect(duplex.closeCode).toBe(stock.closeCode);
      }
    });
  }
});

type ClientKind = 'wsLink' | 'duplexClient';
type Log = unknown[][];

function clientFor(kind: ClientKind, wsUrl: string) {
  if (kind === 'duplexClient') {
    const client = createDuplexClient<ConformanceRouter>({
      url: wsUrl,
      token: 'good',
      reconnect: { delayMs: () => 10 },
    });
    return {
      client: client as unknown as TRPCClient<ConformanceRouter>,
      close: () => client.$close(),
    };
  }
  return stockWsClient(wsUrl);
}

const errorInfo = (error: unknown) => {
  const e = error as { message?: string; code?: unknown; data?: { code?: unknown } };
  return { message: e.message, code: e.data?.code ?? e.code };
};

/** Runs one subscription until it ends (or `until` holds), logging what its callbacks saw. */
function logSubscription(
  subscribe: (callbacks: {
    onStarted: () => void;
    onData: (data: unknown) => void;
    onError: (error: unknown) => void;
    onComplete: () => void;
  }) => { unsubscribe(): void },
  until?: (log: Log) => boolean,
) {
  const log: Log = [];
  let unsubscribe = () => {};
  const done = new Promise<Log>((resolve) => {
    const finish = () => {
      unsubscribe();
      resolve(log);
    };
    const subscription = subscribe({
      onStarted: () => log.push(['started']),
      onData: (data) => {
        log.push(['data', data]);
        if (until?.(log)) finish();
      },
      onError: (error) => {
        log.push(['error', errorInfo(error)]);
        finish();
      },
      onComplete: () => {
        log.push(['complete']);
        finish();
      },
    });
    unsubscribe = () => subscription.unsubscribe();
  });
  return done;
}

/** Everything a client observes in one session against one handler. */
async function clientSession(handler: DuplexHandlerKind, kind: ClientKind) {
  await using server = await startConformanceServer(handler);
  const { client, close } = clientFor(kind, server.wsUrl);
  try {
    const batch = await Promise.all([
      client.echo.query({ text: 'a', at: new Date(1) }),
      client.add.mutate({ a: 1, b: 2 }),
      client.forbidden.query().catch(errorInfo),
      client.crash.mutate().catch(errorInfo),
      client.echo.query({ text: 5 as unknown as string }).catch((e: unknown) => errorInfo(e).code),
    ]);
    const count = await logSubscription((cb) => client.count.subscribe({ to: 3 }, cb));
    const failsMidway = await logSubscription((cb) => client.failsMidway.subscribe(undefined, cb));
    const crashesMidway = await logSubscription((cb) =>
      client.crashesMidway.subscribe(undefined, cb),
    );
    const failsSetup = await logSubscription((cb) => client.failsSetup.subscribe(undefined, cb));
    const stopped = await logSubscription(
      (cb) => client.forever.subscribe(undefined, cb),
      (log) => log.some(([kind]) => kind === 'data'),
    );
    // Resume across a restart: events after the last one seen arrive once, in order.
    const appEvents = (log: Log) =>
      log.filter(([kind, data]) => kind === 'data' && !isCursor((data as { data?: unknown }).data));
    const seen: Log = [];
    const started = deferred();
    const resumed = logSubscription(
      (cb) =>
        client.onEvent.subscribe(
          { channel: 'r' },
          {
            ...cb,
            onStarted: () => {
              cb.onStarted();
              started.resolve();
            },
            onData: (data) => {
              seen.push(['data', data]);
              cb.onData(data);
            },
          },
        ),
      (log) => appEvents(log).length >= 4,
    );
    await started.promise;
    await server.broker.publish('r', { n: 1 });
    await server.broker.publish('r', { n: 2 });
    await vi.waitFor(() => expect(appEvents(seen)).toHaveLength(2));
    await server.restart();
    await server.broker.publish('r', { n: 3 });
    await server.broker.publish('r', { n: 4 });
    const resume = (await resumed).map(([kind, data]) =>
      kind === 'data' ? [kind, normalizeIds(data)] : [kind],
    );
    return { batch, count, failsMidway, crashesMidway, failsSetup, stopped, resume };
  } finally {
    await close();
  }
}

const normalizeIds = (value: unknown) =>
  JSON.parse(JSON.stringify(value).replace(/"[a-z0-9]{1,10}:(\d+)"/g, '"<epoch>:$1"'));

describe('real clients observe the same behaviour from both handlers', () => {
  for (const kind of ['wsLink', 'duplexClient'] as const) {
    it(`${kind}: calls, batches, errors, subscriptions, stops and a resume across a restart`, async () => {
      const stock = await clientSession('stock', kind);
      const duplex = await clientSession('duplex', kind);
      expect(stock.batch[0]).toEqual({ text: 'a', at: new Date(1) });
      expect(stock.count.filter(([k]) => k === 'data')).toHaveLength(3);
      expect(stock.failsMidway.at(-1)?.[0]).toBe('error');
      expect(stock.stopped.map(([k]) => k)).toEqual(['started', 'data', 'complete']);
      const resumedNs = stock.resume
        .map(([, event]) => (event as { data?: { n?: number } } | undefined)?.data?.n)
        .filter((n) => n !== undefined);
      expect(resumedNs).toEqual([1, 2, 3, 4]);
      expect(duplex).toEqual(stock);
    });
  }
});

describe('stop and close races leave nothing behind on either handler', () => {
  for (const handler of ['stock', 'duplex'] as const) {
    it(`${handler}: subscriptions closed mid-setup, mid-stream and mid-stop are all released`, async () => {
      const errors: unknown[] = [];
      await using server = await startConformanceServer(handler, {
        onError: (error) => errors.push(error),
      });
      for (let round = 0; round < 5; round++) {
        const peer = await RawPeer.open(server.wsUrl);
        peer.send(call(1, 'subscription', 'forever'));
        peer.send(call(2, 'subscription', 'slowSetup', { ms: 20 }));
        peer.send(call(3, 'subscription', 'onEvent', { channel: 'race' }));
        if (round % 2 === 0) await peer.untilFrames(4);
        peer.send([stop(1), stop(3)]);
        if (round > 2) await server.broker.publish('race', { n: round });
        peer.close();
      }
      await vi.waitFor(() => {
        expect(server.server.connections).toBe(0);
        expect(server.server.metrics.subscriptions).toBe(0);
      });
      // The slow setups finish after their sockets closed; they must release too.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(server.server.metrics.subscriptions).toBe(0);
      expect(errors).toEqual([]);
    });
  }
});
