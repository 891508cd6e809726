import {
  type ChatLimits,
  type ChatRouterOptions,
  type ChatStore,
  createChatAttachmentRoute,
  createChatRouter,
  createMemoryChatStore,
} from '@duplex/chat';
import { createDuplexClient } from '@duplex/client';
import {
  type Authenticate,
  type Broker,
  createDuplexServer,
  createMemoryBroker,
  initDuplex,
} from '@duplex/server';

export interface ChatTestUser {
  id: string;
  name: string;
}

export const chatDuplex = initDuplex<ChatTestUser>();

export function createChatApp(
  store: ChatStore,
  limits: Partial<ChatLimits> = {},
  broker: Broker = createMemoryBroker(),
  resolveUser?: ChatRouterOptions['resolveUser'],
) {
  return chatDuplex.router({
    chat: createChatRouter(chatDuplex, {
      store,
      broker,
      limits,
      ...(resolveUser ? { resolveUser } : {}),
    }),
  });
}
export type ChatApp = ReturnType<typeof createChatApp>;

/** `token` is the user id; the name is derived from it. */
export const chatAuth: Authenticate<ChatTestUser> = ({ connectionParams, req }) => {
  const id = connectionParams?.token ?? req.headers.authorization?.replace(/^Bearer /, '');
  return id && /^\w+$/.test(id) ? { user: { id, name: id[0]!.toUpperCase() + id.slice(1) } } : null;
};

/** A chat server on 127.0.0.1 whose store and broker survive `restart()`. */
export async function startChatServer(
  opts: {
    store?: ChatStore;
    limits?: Partial<ChatLimits>;
    broker?: Broker;
    resolveUser?: ChatRouterOptions['resolveUser'];
    /** Files to serve too (a test page). */
    staticDir?: string;
  } = {},
) {
  const store = opts.store ?? createMemoryChatStore();
  const broker = opts.broker ?? createMemoryBroker();
  const make = () =>
    createDuplexServer({
      router: createChatApp(store, opts.limits, broker, opts.resolveUser),
      authenticate: chatAuth,
      broker,
      routes: [createChatAttachmentRoute({ store, limits: opts.limits ?? {} })],
      ...(opts.staticDir ? { staticDir: opts.staticDir } : {}),
      onError: () => {},
    });
  let server = make();
  const { port } = await server.listen(0);
  const clients: { $close(): Promise<void> }[] = [];
  const handle = {
    store,
    broker,
    httpUrl: `http://127.0.0.1:${port}`,
    get server() {
      return server;
    },
    client(userId: string) {
      const client = createDuplexClient<ChatApp>({
        url: `ws://127.0.0.1:${port}/trpc`,
        token: userId,
        reconnect: { delayMs: () => 10 },
      });
      clients.push(client);
      return client;
    },
    async restart() {
      await server.close({ drainTimeoutMs: 0 });
      server = make();
      await server.listen(port);
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(clients.map((c) => c.$close()));
      await server.close({ drainTimeoutMs: 0 });
      await broker.close();
    },
  };
  return handle;
}

/** The smallest valid PNG (1×1), for upload tests. */
export const tinyPng = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
