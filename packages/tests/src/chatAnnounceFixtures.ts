import {
  type ChatEvent,
  type ChatRouterOptions,
  type ChatStore,
  createChatRouter,
  roomChannel,
} from '@duplex/chat';
import { createDuplexClient, type DuplexClient, DuplexClientError } from '@duplex/client';
import { BrokerUnavailableError } from '@duplex/redis';
import { type Broker, createDuplexServer, createMemoryBroker } from '@duplex/server';
import { type ChatApp, chatAuth, chatDuplex } from './chatFixtures';

/** The message events announced at most once each. */
export type AnnouncedType = 'message.created' | 'message.streamEnded' | 'message.deleted';

/** A broker that records every event it published, to count what went out. */
export function createRecordingBroker(inner: Broker = createMemoryBroker()) {
  const published: { channel: string; id: string; data: unknown }[] = [];
  const broker: Broker = {
    async publish(channel, data, opts) {
      const id = await inner.publish(channel, data, opts);
      published.push({ channel, id, data });
      return id;
    },
    subscribe: (channel, opts) => inner.subscribe(channel, opts),
    headEventId: (channel) => inner.headEventId(channel),
    close: () => inner.close(),
  };
  return {
    broker,
    published,
    /** How many `type` events went out for the message. */
    count(type: AnnouncedType, messageId: string) {
      return published.filter(({ data }) => {
        const event = data as ChatEvent;
        return event.type === type && event.message.id === messageId;
      }).length;
    },
  };
}

/**
 * How the next publish of an event type fails: `before` rejects without publishing (Redis
 * refused it), `after` publishes and then rejects as a Redis command timeout does ("may not
 * have been published"), `hangBefore` / `hangAfter` never settle, before or after publishing
 * (the node died there).
 */
export type PublishFault = 'before' | 'after' | 'hangBefore' | 'hangAfter';

/** `inner`, except that the next publish of an event `type` (chat or notification) fails as told. */
export function createFaultyBroker(inner: Broker) {
  let next: { type: string; fault: PublishFault; struck: () => void } | null = null;
  const timedOut = () =>
    new BrokerUnavailableError(
      'Redis did not answer in time, so the event for "chat" may not have been published',
      new Error('Command timed out'),
    );
  const broker: Broker = {
    async publish(channel, data, opts) {
      const planned = next;
      if (!planned || (data as { type?: unknown }).type !== planned.type) {
        return inner.publish(channel, data, opts);
      }
      next = null;
      if (planned.fault === 'before' || planned.fault === 'hangBefore') {
        planned.struck();
        if (planned.fault === 'before') throw timedOut();
        return new Promise<string>(() => {});
      }
      await inner.publish(channel, data, opts);
      planned.struck();
      if (planned.fault === 'after') throw timedOut();
      return new Promise<string>(() => {});
    },
    subscribe: (channel, opts) => inner.subscribe(channel, opts),
    headEventId: (channel) => inner.headEventId(channel),
    close: () => inner.close(),
  };
  return {
    broker,
    /**
     * Plans the fault. Resolves once it struck: the publish was refused or left hanging, and
     * for `after` and `hangAfter` went out first. A test waits on this, not on time, before it
     * races another attempt against the faulted one.
     */
    failNext(type: string, fault: PublishFault): Promise<void> {
      return new Promise<void>((struck) => {
        next = { type, fault, struck };
      });
    },
  };
}

/** Sends and streams well past the defaults, so a test can overlap 20 calls of one user. */
export const roomyLimits = {
  sendsPerSecond: 1_000,
  sendBurst: 1_000,
} satisfies ChatRouterOptions['limits'];

/** A chat node in this process: its own server on `store` and `broker`. */
export async function startChatNode(
  store: ChatStore,
  broker: Broker,
  opts: Omit<ChatRouterOptions, 'store' | 'broker'> = {},
) {
  const server = createDuplexServer({
    router: chatDuplex.router({
      chat: createChatRouter(chatDuplex, { store, broker, limits: roomyLimits, ...opts }),
    }),
    authenticate: chatAuth,
    broker,
    onError: () => {},
  });
  const { port } = await server.listen(0, '127.0.0.1');
  const clients: DuplexClient<ChatApp>[] = [];
  /** Calls a fault left hanging: each must fail with CLOSED when its client closes. */
  const abandoned: Promise<unknown>[] = [];
  return {
    url: `ws://127.0.0.1:${port}/trpc`,
    client(userId: string) {
      const client = createDuplexClient<ChatApp>({
        url: `ws://127.0.0.1:${port}/trpc`,
        token: userId,
        reconnect: { delayMs: () => 10 },
      });
      clients.push(client);
      return client;
    },
    /** A call this node will never answer (its node "died"); checked when the node closes. */
    abandon(call: Promise<unknown>) {
      abandoned.push(
        call.then(
          () => {
            throw new Error('A call left hanging by a fault was answered');
          },
          (error: unknown) => {
            if (!(error instanceof DuplexClientError && error.code === 'CLOSED')) throw error;
          },
        ),
      );
    },
    async [Symbol.asyncDispose]() {
      // `$close` never rejects; a call left hanging by a fault fails with CLOSED here.
      await Promise.all(clients.map((c) => c.$close()));
      await Promise.all(abandoned);
      await server.close({ drainTimeoutMs: 0 });
    },
  };
}

/** Events of a room's channel that announce `type` for the message, as a subscriber sees them. */
export async function announcedInLog(
  broker: Broker,
  roomId: string,
  type: AnnouncedType,
  messageId: string,
) {
  const head = await broker.headEventId(roomChannel(roomId));
  if (head === null) return 0;
  const stop = new AbortController();
  let count = 0;
  // A cursor no broker can resume from: a gap, then every retained event.
  for await (const item of broker.subscribe<ChatEvent>(roomChannel(roomId), {
    lastEventId: 'from-the-start',
    signal: stop.signal,
  })) {
    if (item.type !== 'event') continue;
    if (item.data.type === type && item.data.message.id === messageId) count++;
    if (item.id === head) stop.abort();
  }
  return count;
}
