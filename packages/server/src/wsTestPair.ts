import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/** A real `ws` server on 127.0.0.1 port 0, one client connected to it, and the server's end. */
export interface WsTestPair extends AsyncDisposable {
  /** The server's socket for the client. */
  server: WebSocket;
  /** Its TCP stream (the upgrade request's socket). */
  tcp: Socket;
  client: WebSocket;
}

/** Opens a {@link WsTestPair}, the server's sockets of class `socketClass`; dispose it with `await using`. */
export async function openWsTestPair(
  socketClass: typeof WebSocket = WebSocket,
): Promise<WsTestPair> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: false,
    WebSocket: socketClass,
  });
  await once(wss, 'listening');
  const { port } = wss.address() as AddressInfo;
  const accepted = once(wss, 'connection');
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  const [[server, req]] = await Promise.all([accepted, once(client, 'open')]);
  return {
    server,
    tcp: req.socket,
    client,
    async [Symbol.asyncDispose]() {
      client.terminate();
      for (const socket of wss.clients) socket.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}

/** Resolves with the next `count` text messages `socket` receives. */
export function nextTexts(socket: WebSocket, count: number): Promise<string[]> {
  const texts: string[] = [];
  return new Promise((resolve) => {
    const onMessage = (data: Buffer) => {
      texts.push(data.toString());
      if (texts.length < count) return;
      socket.off('message', onMessage);
      resolve(texts);
    };
    socket.on('message', onMessage);
  });
}
