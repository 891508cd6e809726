import type { AddressInfo } from 'node:net';
import { readyNotification } from '@duplex/protocol';
import { describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createSocketClient, type SocketRequestCallbacks } from './socketClient';
import type { WebSocketClass } from './socketConnection';

/** A raw `ws` server that accepts every connection and records the frames each one sends. */
async function startRecordingServer() {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const connections: { socket: WebSocket; frames: string[] }[] = [];
  server.on('connection', (socket) => {
    const connection = { socket, frames: [] as string[] };
    connections.push(connection);
    socket.on('message', (data) => {
      const text = String(data);
      if (text === 'PING' || text === 'PONG') return;
      connection.frames.push(text);
      if (text.startsWith('{"method":"connectionParams"')) socket.send(readyNotification);
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    connections,
    async [Symbol.asyncDispose]() {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const callbacks: SocketRequestCallbacks = { next() {}, error() {}, complete() {} };

describe('createSocketClient', () => {
  it('sends a subscription moved to a new socket before the flush once, as one valid frame', async () => {
    await using server = await startRecordingServer();
    /** Runs on a new socket's first frame (its ready), before the client reads that frame. */
    let beforeReady: (() => void) | null = null;
    class HookedSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        const hook = beforeReady;
        if (hook) this.addEventListener('message', hook, { once: true });
      }
    }
    const client = createSocketClient({
      url: async () => server.url,
      connectionParams: async () => ({}),
      WebSocket: HookedSocket as unknown as WebSocketClass,
      keepAlive: null,
      lazy: false,
      onReady() {},
      onClosed() {},
    });
    try {
      await vi.waitFor(() => expect(client.isOpen()).toBe(true));
      // The subscription starts on the old socket in the same task as the new one becomes
      // ready: it goes to the old socket, then moves to the new one before the flush runs, so
      // it is in the flush's batch twice.
      beforeReady = () => {
        client.request(
          { method: 'subscription', params: { path: 'chat.onMessage', input: { json: null } } },
          callbacks,
        );
      };
      server.connections[0]!.socket.send(JSON.stringify({ id: null, method: 'reconnect' }));
      await vi.waitFor(() => expect(server.connections[1]?.frames.length).toBe(2));
      const [, subscribe] = server.connections[1]!.frames;
      expect(() => JSON.parse(subscribe!)).not.toThrow();
      expect(JSON.parse(subscribe!)).toEqual({
        id: 2,
        method: 'subscription',
        params: { path: 'chat.onMessage', input: { json: null } },
      });
      expect(server.connections[0]!.frames).toHaveLength(1);
    } finally {
      client.close(new Error('test over'));
    }
  });
});
