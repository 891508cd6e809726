import { EventEmitter } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDuplexServer, createMemoryBroker, type DuplexServer } from '@duplex/server';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { Server as SocketIoServer } from 'socket.io';
import { type WebSocket, WebSocketServer } from 'ws';
import {
  type BenchEvent,
  type BenchUser,
  benchChannel,
  benchToken,
  createStockRouter,
  duplexRouter,
  echoInput,
} from './routers';
import { sleep } from './stats';

/** `wsLinkDuplex`: tRPC's stock `wsLink` client against the Duplex server. */
export const contestants = ['ws', 'trpc', 'socketio', 'duplex', 'wsLinkDuplex'] as const;
export type Contestant = (typeof contestants)[number];

/** The server side of one contestant, in the server process. */
export interface BenchServer {
  readonly port: number;
  /** Sends `event` to every subscriber. */
  publish(event: BenchEvent): unknown;
  /** Closes every socket (1012, Service Restart) and the port, then listens again on it. */
  restart(): Promise<void>;
  close(): Promise<void>;
  /** The server's own counters since it last (re)started, where it keeps any (Duplex). */
  counters?(): Record<string, number>;
}

const host = '127.0.0.1';

const listen = (server: HttpServer, port: number) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });

/** Stops accepting, asks every socket to close, and cuts off the ones still open after 1 s. */
async function closeWss(http: HttpServer, wss: WebSocketServer) {
  http.close();
  for (const socket of wss.clients) socket.close(1012, 'Server restarting');
  const deadline = performance.now() + 1_000;
  while (wss.clients.size > 0 && performance.now() < deadline) await sleep(10);
  for (const socket of wss.clients) socket.terminate();
  await new Promise((resolve) => wss.close(resolve));
}

/** A `ws` server restarted on the same port by {@link closeWss}; `setup` wires each instance. */
async function restartableWss(setup: (wss: WebSocketServer) => void) {
  const start = async (port: number) => {
    const http = createServer();
    const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
    setup(wss);
    return { http, wss, port: await listen(http, port) };
  };
  let current = await start(0);
  return {
    get port() {
      return current.port;
    },
    async restart() {
      await closeWss(current.http, current.wss);
      current = await start(current.port);
    },
    close: () => closeWss(current.http, current.wss),
  };
}

/** Raw `ws`: JSON echo, and loop-send of one pre-encoded frame to every subscriber. */
async function createRawServer(): Promise<BenchServer> {
  const subscribers = new Set<WebSocket>();
  const started = Buffer.from('{"started":true}');
  const server = await restartableWss((wss) => {
    wss.on('connection', (socket) => {
      socket.on('error', () => {});
      socket.on('close', () => subscribers.delete(socket));
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { id?: number; m: string; text?: string };
        if (message.m === 'sub') {
          subscribers.add(socket);
          socket.send(started, { binary: false });
        } else {
          socket.send(JSON.stringify({ id: message.id, result: { text: message.text } }));
        }
      });
    });
  });
  return {
    get port() {
      return server.port;
    },
    publish(event) {
      const frame = Buffer.from(JSON.stringify(event));
      for (const socket of subscribers) socket.send(frame, { binary: false });
    },
    restart: server.restart,
    close: server.close,
  };
}

/** Stock tRPC: `applyWSSHandler` on a `ws` server, events through an EventEmitter. */
async function createStockServer(): Promise<BenchServer> {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const router = createStockRouter(events);
  const server = await restartableWss((wss) => {
    applyWSSHandler({
      wss,
      router,
      createContext: ({ info }) => ({
        user: info.connectionParams?.token === benchToken ? { id: 'bench' } : null,
      }),
    });
  });
  return {
    get port() {
      return server.port;
    },
    publish: (event) => events.emit('event', event),
    restart: server.restart,
    close: server.close,
  };
}

/**
 * Socket.IO v4, WebSocket transport only: `emit` with ack, and a room broadcast. `echoAuthed` is
 * the middleware row's equivalent: the handshake token checked once per connection (as Duplex's
 * `authenticate` does), then per call the user re-checked and the input parsed with the same zod
 * schema as the tRPC procedures.
 */
async function createSocketIoServer(): Promise<BenchServer> {
  const start = async (port: number) => {
    const http = createServer();
    const io = new SocketIoServer(http, { transports: ['websocket'], serveClient: false });
    io.on('connection', (socket) => {
      const user: BenchUser | null =
        (socket.handshake.auth as { token?: string }).token === benchToken ? { id: 'bench' } : null;
      socket.on('echoAuthed', (message: unknown, ack: (reply: unknown) => void) => {
        if (!user) return ack({ error: 'UNAUTHORIZED' });
        const input = echoInput.safeParse(message);
        if (!input.success) return ack({ error: 'BAD_REQUEST' });
        ack({ text: input.data.text, by: user.id });
      });
      socket.on('echo', (message: { text: string }, ack: (reply: unknown) => void) =>
        ack({ text: message.text }),
      );
      socket.on('sub', (ack: () => void) => {
        void socket.join(benchChannel);
        ack();
      });
    });
    return { io, port: await listen(http, port) };
  };
  let current = await start(0);
  const close = () => new Promise<void>((resolve) => current.io.close(() => resolve()));
  return {
    get port() {
      return current.port;
    },
    publish: (event) => current.io.to(benchChannel).emit('event', event),
    async restart() {
      await close();
      current = await start(current.port);
    },
    close,
  };
}

/** Duplex, configured generously for the bench: rate limits and connection cap far out of reach. */
async function createDuplexBenchServer(): Promise<BenchServer> {
  // The broker outlives restarts, as Redis does in production, so resume can be measured.
  const broker = createMemoryBroker();
  const start = async (port: number) => {
    const server: DuplexServer = createDuplexServer({
      router: duplexRouter,
      broker,
      authenticate: ({ connectionParams }) =>
        connectionParams?.token === benchToken ? { user: { id: 'bench' } } : null,
      limits: {
        callsPerSecond: 1e9,
        burstCalls: 1e9,
        bytesPerSecond: 1e12,
        burstBytes: 1e12,
        maxBatchSize: 1_000,
        maxConnections: 100_000,
        maxConnectionsPerIp: Number.POSITIVE_INFINITY,
        // Every bench client signs in as one user: the per-user budgets must not cap the run.
        userCallsPerSecond: 1e9,
        userBurstCalls: 1e9,
        userBytesPerSecond: 1e12,
        userBurstBytes: 1e12,
        maxConnectionsPerUser: Number.POSITIVE_INFINITY,
        maxCallsInFlightPerUser: Number.POSITIVE_INFINITY,
      },
      onError: (report) =>
        console.error('[duplex bench server]', report.source, report.path, report.error),
      handler: process.env.DUPLEX_BENCH_HANDLER === 'stock' ? 'stock' : 'duplex',
    });
    await server.listen(port, host);
    return { server, port: (server.httpServer.address() as AddressInfo).port };
  };
  let current = await start(0);
  return {
    get port() {
      return current.port;
    },
    publish: (event) => broker.publish(benchChannel, event),
    async restart() {
      await current.server.close({ drainTimeoutMs: 0 });
      current = await start(current.port);
    },
    async close() {
      await current.server.close({ drainTimeoutMs: 0 });
      await broker.close();
    },
    counters: () => ({ ...current.server.metrics, connections: current.server.connections }),
  };
}

export const serverFactories: Record<Contestant, () => Promise<BenchServer>> = {
  ws: createRawServer,
  trpc: createStockServer,
  socketio: createSocketIoServer,
  duplex: createDuplexBenchServer,
  wsLinkDuplex: createDuplexBenchServer,
};
