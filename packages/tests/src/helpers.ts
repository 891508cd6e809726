import { WebSocket } from 'ws';

/** Collects a subscription's data and lets a test wait for a count. */
export function collector<T>() {
  const items: T[] = [];
  return {
    items,
    push: (item: T) => {
      items.push(item);
    },
  };
}

/** Opens a raw `ws` socket (no tRPC client) and resolves once it is open. */
export async function openRawSocket(
  url: string,
  opts: ConstructorParameters<typeof WebSocket>[2] = {},
) {
  const socket = new WebSocket(url, opts);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return socket;
}

/** Opens a raw socket and authenticates it the way `@duplex/client` does. */
export async function openAuthedRawSocket(
  wsUrl: string,
  token = 'user:raw',
  params: Record<string, string> = {},
) {
  const socket = await openRawSocket(`${wsUrl}?connectionParams=1`);
  socket.send(JSON.stringify({ method: 'connectionParams', data: { ...params, token } }));
  return socket;
}

/** Resolves with the socket's close code. */
export function closeCodeOf(socket: WebSocket): Promise<number> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
  return new Promise((resolve) => socket.once('close', (code) => resolve(code)));
}

/** Resolves with the next `count` JSON messages the socket receives. */
export function nextMessages(socket: WebSocket, count: number): Promise<unknown[]> {
  const messages: unknown[] = [];
  return new Promise((resolve) => {
    const onMessage = (data: Buffer) => {
      const text = data.toString();
      messages.push(text === 'PONG' || text === 'PING' ? text : JSON.parse(text));
      if (messages.length === count) {
        socket.off('message', onMessage);
        resolve(messages);
      }
    };
    socket.on('message', onMessage);
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise with its resolvers (Node 20 has no `Promise.withResolvers`). */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
