/**
 * The server process of `npm run bench:admin`: a Duplex server with the bench's procedures and
 * the operations dashboard mounted, driven over IPC by bench/admin.bench.ts.
 */
import type { AddressInfo } from 'node:net';
import { createDuplexAdmin } from '@duplex/admin';
import {
  createDuplexServer,
  createMemoryBroker,
  type DuplexServer,
  initDuplex,
  streamChannel,
} from '@duplex/server';
import { z } from 'zod';
import { serveIpc } from '../realtime/ipc';
import { type BenchEvent, benchChannel, benchToken, echoInput } from '../realtime/routers';
import { nowMs } from '../realtime/stats';

/** The operator's token; every other client signs in with the bench's own. */
export const adminToken = 'operator';

interface User {
  id: string;
  admin: boolean;
}

const d = initDuplex<User>();
const broker = createMemoryBroker();
const admin = createDuplexAdmin({ authorize: (user: User) => user.admin, broker });

/** The realtime bench's procedures (its load generators call them by path) and the dashboard. */
const router = d.router({
  echo: d.procedure.input(echoInput).query(({ input }) => ({ text: input.text })),
  onEvent: d.procedure
    .input(z.object({ lastEventId: z.string().nullish() }))
    .subscription(({ ctx, input, signal }) =>
      streamChannel<BenchEvent>(ctx.broker, benchChannel, {
        lastEventId: input.lastEventId,
        signal,
      }),
    ),
  admin: admin.router(d),
});

export type AdminBenchRouter = typeof router;

let server: DuplexServer | null = null;
let detach: (() => void) | null = null;
let ticker: NodeJS.Timeout | null = null;
let seq = 0;
const text = 'x'.repeat(150);

const handlers = {
  async start() {
    server = createDuplexServer({
      router,
      broker,
      authenticate: ({ connectionParams }) => {
        if (connectionParams?.token === adminToken)
          return { user: { id: 'operator', admin: true } };
        return connectionParams?.token === benchToken
          ? { user: { id: 'bench', admin: false } }
          : null;
      },
      // Every load client signs in as one user: the per-user budgets must not cap the run.
      limits: {
        maxConnections: 100_000,
        maxConnectionsPerIp: Number.POSITIVE_INFINITY,
        maxConnectionsPerUser: Number.POSITIVE_INFINITY,
        maxCallsInFlightPerUser: Number.POSITIVE_INFINITY,
        userCallsPerSecond: 1e9,
        userBurstCalls: 1e9,
        userBytesPerSecond: 1e12,
        userBurstBytes: 1e12,
      },
      onError: (report) => console.error('[admin bench server]', report.source, report.error),
    });
    await server.listen(0, '127.0.0.1');
    return (server.httpServer.address() as AddressInfo).port;
  },
  /** Starts (or stops) this node's reporting: what mounting the dashboard costs with it closed. */
  attach(args: { on: boolean }) {
    if (!server) throw new Error('no server');
    detach?.();
    detach = args.on ? admin.attach(server) : null;
  },
  /** Publishes `perSecond` events to every subscriber, spread over each second. */
  pulse(args: { perSecond: number }) {
    if (ticker) clearInterval(ticker);
    ticker = null;
    if (args.perSecond <= 0) return;
    ticker = setInterval(() => {
      void broker.publish(benchChannel, { seq: ++seq, t: nowMs(), text });
    }, 1000 / args.perSecond);
  },
  /** Server CPU (user + system, ms) over the next `ms` of wall time. */
  async cpu(args: { ms: number }) {
    const start = process.cpuUsage();
    const startedAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, args.ms));
    const used = process.cpuUsage(start);
    return { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - startedAt };
  },
  /** What one report costs: the inspector's figures and its connection list, timed `times` times. */
  reportCost(args: { times: number; limit: number }) {
    if (!server) throw new Error('no server');
    const { inspector } = server;
    const started = process.cpuUsage();
    for (let i = 0; i < args.times; i++) {
      inspector.stats();
      inspector.connections({ limit: args.limit });
    }
    const used = process.cpuUsage(started);
    return {
      msPerReport: (used.user + used.system) / 1000 / args.times,
      connections: server.connections,
    };
  },
  async close() {
    if (ticker) clearInterval(ticker);
    detach?.();
    await server?.close({ drainTimeoutMs: 0 });
  },
};

export type AdminBenchServerHandlers = typeof handlers;

serveIpc(handlers);
