import { type RawData, WebSocket } from 'ws';
import { peerClosedFirst } from './wsInternals';

/** Decides, before tRPC sees it, whether an incoming frame is processed. */
export type FrameGate = (data: RawData, isBinary: boolean) => boolean;

type MessageListener = (this: WebSocket, data: RawData, isBinary: boolean) => void;

/**
 * The `ws` socket class the Duplex server uses (through `WebSocketServer`'s `WebSocket` option,
 * which `ws` documents for subclasses). It adds hooks the stock tRPC handler has no room for:
 * a gate in front of its incoming frames (rate limits, keepalive bookkeeping), a check after
 * every send (slow consumers) and a hold on its plain `close()` (refusals), while staying a
 * plain `ws` WebSocket for tRPC.
 */
export class DuplexSocket extends WebSocket {
  /** Called after each send with the frame's size and the frame. */
  afterSend: ((bytes: number, data: unknown) => void) | null = null;
  /**
   * Ignores `close()` without a code: the stock handler closes a socket that way once
   * `createContext` throws, and Duplex closes a refused one itself, later and with 4401.
   */
  holdPlainClose = false;
  /** Counts each close the server starts on this socket, by code (not the echo of a peer's). */
  onServerClose: ((code: number) => void) | null = null;
  /** The `message` listeners behind the gate, in the order they were added. */
  private gated: MessageListener[] = [];

  /**
   * Puts `gate` in front of the `message` listeners added so far (tRPC's): they are taken
   * off the socket and called by one listener of its own, for the frames `gate` lets
   * through. Done with EventEmitter's public API, so `ws` emits as it always does; listeners
   * added later are not gated.
   */
  gateMessages(gate: FrameGate): void {
    this.gated = this.rawListeners('message') as MessageListener[];
    this.removeAllListeners('message');
    this.on('message', (data: RawData, isBinary: boolean) => {
      if (gate(data, isBinary)) this.dispatch(data, isBinary);
    });
  }

  /** Hands tRPC a frame the gate held back (for the rate limit) and now lets through. */
  deliver(data: RawData, isBinary: boolean): void {
    if (this.readyState === WebSocket.OPEN) this.dispatch(data, isBinary);
  }

  private dispatch(data: RawData, isBinary: boolean): void {
    for (const listener of this.gated) listener.call(this, data, isBinary);
  }

  override close(code?: number, reason?: string | Buffer): void {
    if (code === undefined && this.holdPlainClose) return;
    if (code !== undefined && this.readyState === WebSocket.OPEN && !peerClosedFirst(this)) {
      this.onServerClose?.(code);
    }
    super.close(code, reason);
  }

  override send(data: unknown, ...rest: unknown[]): void {
    const open = this.readyState === WebSocket.OPEN;
    (super.send as (...args: unknown[]) => void)(data, ...rest);
    if (open) {
      this.afterSend?.(
        typeof data === 'string' ? Buffer.byteLength(data) : byteLengthOf(data),
        data,
      );
    }
  }
}

function byteLengthOf(data: unknown): number {
  if (Buffer.isBuffer(data) || ArrayBuffer.isView(data)) return data.byteLength;
  if (data instanceof ArrayBuffer) return data.byteLength;
  return 0;
}
