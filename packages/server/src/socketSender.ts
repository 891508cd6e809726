import type { Writable } from 'node:stream';
import { closeCodes } from '@duplex/protocol';
import { WebSocket } from 'ws';
import type { Frame } from './frameEncoder';
import type { DuplexMetrics } from './metrics';
import { realTimers } from './realTimers';
import { type WsInternalsCheck, type WsWire, wireOf, wsInternalsCheck } from './wsInternals';

/** Options of {@link SocketSender}. */
export interface SocketSenderOptions {
  /** Bytes the socket may hold unsent before its peer counts as a slow consumer. */
  maxBufferedBytes: number;
  metrics: DuplexMetrics;
  /** How long a slow consumer gets to take its close frame before it is cut off. */
  closeGraceMs: number;
  /**
   * The verdict on `ws`'s internals the fast path (corking, prebuilt frames) relies on.
   * @default the startup check of the installed `ws` ({@link wsInternalsCheck})
   */
  wsInternals?: WsInternalsCheck;
}

const textFrame = { binary: false };
const send = WebSocket.prototype.send as (
  this: WebSocket,
  data: string | Buffer,
  options?: { binary: boolean },
) => void;

/** TCP streams corked in this turn of the event loop, uncorked together right after it. */
const corked = new Set<Writable>();
const uncorkAll = () => {
  for (const stream of corked) stream.uncork();
  corked.clear();
};

/**
 * Holds a socket's writes until the end of this turn of the event loop, so the replies and
 * events produced in one turn leave in one `writev` rather than one system call each (the
 * profile of 64 calls in flight showed a `writev` per reply at a quarter of the server's CPU).
 * Every socket of the process shares the one flush, so it runs on the real `setImmediate`: one
 * scheduled on a fake (a test's `vi.useFakeTimers()`) would never run, and every later write of
 * every Duplex server in the process would wait behind it.
 */
function corkForThisTurn(stream: Writable): void {
  if (corked.has(stream)) return;
  if (corked.size === 0) realTimers.setImmediate(uncorkAll);
  stream.cork();
  corked.add(stream);
}

/** Past this many corked bytes a socket's writes go out at once, before the turn ends. */
const corkedBytesLimit = 64 * 1024;

/** Sends what a socket holds corked once it is large, so it never counts as unsent backlog. */
function uncorkIfLarge(stream: Writable): void {
  if (stream.writableLength < corkedBytesLimit || !corked.delete(stream)) return;
  stream.uncork();
}

/**
 * The one way frames leave a socket served by the Duplex handler, and its slow-consumer policy.
 *
 * Every frame (replies, `started`/`stopped`, events, errors, `PONG`, notifications) goes through
 * one FIFO, the socket's own send buffer, so no frame is ever reordered, and none is dropped on
 * an open socket: dropping an event would break at-least-once delivery without the client
 * knowing. Instead, once more than `maxBufferedBytes` wait unsent, the connection is closed with
 * 4507 and everything after is discarded; the client reconnects and resumes from the last
 * event it received, so the broker's log (bounded by retention), not this socket, holds what
 * it missed. The buffer therefore never exceeds `maxBufferedBytes` plus one frame.
 */
export class SocketSender {
  private cutOff = false;
  /** The socket's TCP stream, when `ws`'s internals passed the check; else `socket.send` only. */
  private readonly wire: WsWire | null;

  constructor(
    private readonly socket: WebSocket,
    private readonly opts: SocketSenderOptions,
  ) {
    this.wire = wireOf(socket, opts.wsInternals ?? wsInternalsCheck);
  }

  /** Queues a frame; a no-op once the socket is closing. */
  send(frame: Frame): void {
    const { socket, opts } = this;
    if (this.cutOff || socket.readyState !== WebSocket.OPEN) return;
    const { metrics } = opts;
    const { wire } = this;
    const stream = wire?.stream;
    if (stream) corkForThisTurn(stream);
    if (typeof frame === 'string') {
      send.call(socket, frame);
      metrics.bytesOut += Buffer.byteLength(frame);
    } else {
      // The prebuilt frame straight onto the TCP socket: the same bytes `ws` would write, in
      // the same order, without its per-send header and option objects.
      if (frame.wire && wire?.idle()) wire.stream.write(frame.wire);
      else send.call(socket, frame.payload, textFrame);
      metrics.bytesOut += frame.payload.byteLength;
    }
    metrics.framesOut++;
    if (stream) uncorkIfLarge(stream);
    if (socket.bufferedAmount <= opts.maxBufferedBytes) return;
    this.cutOff = true;
    metrics.closedSlowConsumer++;
    socket.close(closeCodes.slowConsumer, 'Slow consumer');
    realTimers.setTimeout(() => socket.terminate(), opts.closeGraceMs).unref();
  }
}
