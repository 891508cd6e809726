import { createDuplexClient } from '@duplex/client';
import { isGap } from '@duplex/protocol';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import { io } from 'socket.io-client';
import superjson from 'superjson';
import WebSocket from 'ws';
import { type BenchEvent, benchToken, type DuplexRouter, type StockRouter } from './routers';
import type { Contestant } from './servers';

/** What a subscriber is told. `started` runs on every (re)subscription the server confirms. */
export interface SubscriptionListener {
  started(): void;
  event(event: BenchEvent): void;
  /** The server reported events it can no longer replay (Duplex only). */
  gap(): void;
}

/** The client side of one contestant, in a load generator process. */
export interface BenchClient {
  /** Resolves once the connection is open. */
  readonly opened: Promise<void>;
  echo(text: string): Promise<unknown>;
  /** The query with one middleware (an auth check) and a zod input; absent on raw `ws`. */
  echoAuthed?(text: string): Promise<unknown>;
  subscribe(listener: SubscriptionListener): void;
  close(): unknown;
  /** Reconnect attempts started so far, where the client reports them (Duplex). */
  attempts?(): number;
}

/** Raw `ws`: JSON requests matched by id; on reconnect (full-jitter backoff) it subscribes again. */
function createRawClient(url: string): BenchClient {
  const pending = new Map<number, (value: unknown) => void>();
  let nextId = 1;
  let socket: WebSocket;
  let listener: SubscriptionListener | null = null;
  let closed = false;
  let attempt = 0;
  let markOpen: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    markOpen = resolve;
  });
  const connect = () => {
    socket = new WebSocket(url, { perMessageDeflate: false });
    socket.on('open', () => {
      attempt = 0;
      markOpen();
      if (listener) socket.send('{"m":"sub"}');
    });
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as {
        id?: number;
        result?: unknown;
        started?: true;
      } & Partial<BenchEvent>;
      if (message.seq !== undefined) listener?.event(message as BenchEvent);
      else if (message.started) listener?.started();
      else if (message.id !== undefined) {
        pending.get(message.id)?.(message.result);
        pending.delete(message.id);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (closed) return;
      const delay = Math.random() * Math.min(500 * 2 ** attempt++, 5_000);
      setTimeout(connect, delay);
    });
  };
  connect();
  return {
    opened,
    echo(text) {
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        socket.send(JSON.stringify({ id, m: 'echo', text }));
      });
    },
    subscribe(l) {
      listener = l;
      if (socket.readyState === WebSocket.OPEN) socket.send('{"m":"sub"}');
    },
    close() {
      closed = true;
      socket.close();
    },
  };
}

/**
 * Stock tRPC: `createWSClient` + `wsLink` with superjson and the default backoff; the token goes
 * in `connectionParams`. Typed against the stock router, and used unchanged against Duplex's
 * (the two routers answer the same paths with the same inputs).
 */
function createStockClient(url: string): BenchClient {
  let markOpen: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    markOpen = resolve;
  });
  const wsClient = createWSClient({
    url,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    onOpen: () => markOpen(),
    connectionParams: { token: benchToken },
  });
  const client = createTRPCClient<StockRouter>({
    links: [wsLink({ client: wsClient, transformer: superjson })],
  });
  return {
    opened,
    echo: (text) => client.echo.query({ text }),
    echoAuthed: (text) => client.echoAuthed.query({ text }),
    subscribe(listener) {
      client.onEvent.subscribe(
        {},
        {
          onStarted: () => listener.started(),
          onData: ({ data }) => (isGap(data) ? listener.gap() : listener.event(data)),
        },
      );
    },
    close: () => wsClient.close(),
  };
}

/** Socket.IO client, WebSocket transport only, default reconnection; re-joins on every connect. */
function createSocketIoClient(url: string): BenchClient {
  const socket = io(url, { transports: ['websocket'], auth: { token: benchToken } });
  const opened = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return {
    opened,
    echo: (text) => socket.emitWithAck('echo', { text }),
    echoAuthed: (text) => socket.emitWithAck('echoAuthed', { text }),
    subscribe(listener) {
      const join = () => socket.emit('sub', () => listener.started());
      socket.on('event', (event: BenchEvent) => listener.event(event));
      socket.on('connect', join);
      if (socket.connected) join();
    },
    close: () => socket.disconnect(),
  };
}

/** The Duplex client with its defaults (stock `wsLink` inside, resume, jittered backoff). */
function createDuplexBenchClient(url: string): BenchClient {
  const client = createDuplexClient<DuplexRouter>({ url, token: benchToken });
  let attempts = 0;
  client.$status.subscribe((status) => {
    if (status.state === 'reconnecting' && status.nextRetryAt === null) attempts++;
  });
  const opened = new Promise<void>((resolve) => {
    const stop = client.$status.subscribe((status) => {
      if (status.state !== 'open') return;
      stop();
      resolve();
    });
    if (client.$status.get().state === 'open') resolve();
  });
  return {
    opened,
    echo: (text) => client.echo.query({ text }),
    echoAuthed: (text) => client.echoAuthed.query({ text }),
    subscribe(listener) {
      client.onEvent.subscribe(
        {},
        {
          onStarted: () => listener.started(),
          onData: ({ data }) => (isGap(data) ? listener.gap() : listener.event(data)),
        },
      );
    },
    close: () => client.$close(),
    attempts: () => attempts,
  };
}

export const clientFactories: Record<Contestant, (port: number) => BenchClient> = {
  ws: (port) => createRawClient(`ws://127.0.0.1:${port}`),
  trpc: (port) => createStockClient(`ws://127.0.0.1:${port}`),
  socketio: (port) => createSocketIoClient(`http://127.0.0.1:${port}`),
  duplex: (port) => createDuplexBenchClient(`ws://127.0.0.1:${port}/trpc`),
  wsLinkDuplex: (port) => createStockClient(`ws://127.0.0.1:${port}/trpc`),
};
