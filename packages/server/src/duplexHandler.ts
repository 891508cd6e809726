import type { IncomingMessage } from 'node:http';
import { type AnyRouter, getErrorShape, type TRPCError } from '@trpc/server';
import type { TRPCErrorShape } from '@trpc/server/rpc';
import type { RawData, WebSocket } from 'ws';
import { type Call, type Ctx, DuplexWsConnection, type HandlerShared } from './duplexConnection';
import type { DuplexSocket } from './duplexSocket';
import { callError, connectionError } from './errorReport';
import { createFrameEncoder } from './frameEncoder';
import type { WsHandlerOptions } from './wsHandlerOptions';

/** What the client gets when even the error formatter fails: nothing about the error. */
const fallbackErrorShape: TRPCErrorShape = {
  code: -32603,
  message: 'Internal server error',
  data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 },
};

/**
 * Duplex's own tRPC WebSocket handler. It speaks the wire protocol of the pinned `@trpc/client`
 * `wsLink` frame for frame (the conformance suite compares both handlers byte by byte), with
 * Duplex's auth, limits and token expiry built in rather than wrapped around:
 * - one `JSON.parse` per frame, which also prices it for the token bucket (raw frames, pings and
 *   garbage included); a refused frame's calls get `TOO_MANY_REQUESTS`, its stops still run;
 * - every frame leaves through one bounded FIFO ({@link SocketSender}): a slow consumer is
 *   closed with 4507 instead of buffering without bound;
 * - subscription events are encoded once per published event ({@link createFrameEncoder}), and
 *   `streamChannel` subscriptions are read straight off the broker.
 */
export function createDuplexHandler<TRouter extends AnyRouter>(opts: WsHandlerOptions<TRouter>) {
  const config = opts.router._def._config;
  const shared: HandlerShared = {
    opts: opts as WsHandlerOptions<AnyRouter>,
    encoder: createFrameEncoder(opts.router, { cachedBytes: opts.limits.maxEventCacheBytes }),
    shapeOf(error: TRPCError, call?: Call, ctx?: Ctx): TRPCErrorShape {
      try {
        return getErrorShape({
          config,
          error,
          type: call?.method ?? 'unknown',
          path: call?.params.path,
          input: call?.params.input,
          ctx,
        });
      } catch (cause) {
        // The error formatter threw: outside the procedure, so reported as the connection's.
        opts.onError(connectionError('websocket', cause, { ctx, path: call?.params.path }));
        return fallbackErrorShape;
      }
    },
    report(error, call, ctx) {
      if (error.code !== 'INTERNAL_SERVER_ERROR') return;
      opts.onError(
        callError('websocket', {
          error,
          path: call?.params.path,
          type: call?.method ?? 'unknown',
          ctx,
          input: call?.params.input,
        }),
      );
    },
    reportConnection(cause, ctx) {
      opts.onError(connectionError('websocket', cause, { ctx }));
    },
  };
  const connections = new WeakMap<WebSocket, DuplexWsConnection>();
  function onMessage(this: WebSocket, data: RawData, isBinary: boolean) {
    connections.get(this)?.onFrame(data, isBinary);
  }
  function onClose(this: WebSocket) {
    connections.get(this)?.onClose();
  }

  return {
    onConnection(socket: DuplexSocket, req: IncomingMessage) {
      opts.metrics.connectionsOpened++;
      // This handler reads and sends frames itself; the stock path's send hook stays unused.
      socket.afterSend = null;
      connections.set(socket, new DuplexWsConnection(shared, socket, req));
      // Listeners shared by every socket (`this` is the socket): nothing allocated per socket.
      socket.on('message', onMessage);
      socket.once('close', onClose);
      opts.keepAlive.watch(socket);
    },
  };
}
