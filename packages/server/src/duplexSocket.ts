import { type RawData, WebSocket } from 'ws';

/** Decides, before tRPC sees it, whether an incoming frame is processed. */
export type FrameGate = (data: RawData, isBinary: boolean) => boolean;

/**
 * The `ws` socket class the Duplex server uses. It adds hooks the stock tRPC handler has no
 * room for: a gate in front of every incoming frame (rate limits, keepalive bookkeeping), a
 * check after every send (slow consumers) and a hold on its plain `close()` (refusals), while
 * staying a plain `ws` WebSocket for tRPC.
 */
export class DuplexSocket extends WebSocket {
  /** Set by the server on connection; frames it refuses never reach tRPC. */
  gate: FrameGate | null = null;
  /** Called after each send with the frame's size and the frame. */
  afterSend: ((bytes: number, data: unknown) => void) | null = null;
  /**
   * Ignores `close()` without a code: the stock handler closes a socket that way once
   * `createContext` throws, and Duplex closes a refused one itself, later and with 4401.
   */
  holdPlainClose = false;

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'message' && this.gate && !this.gate(args[0] as RawData, args[1] as boolean)) {
      return false;
    }
    return super.emit(event, ...args);
  }

  /** Hands tRPC a frame the gate held back (for the rate limit) and now lets through. */
  deliver(data: RawData, isBinary: boolean): void {
    if (this.readyState === WebSocket.OPEN) super.emit('message', data, isBinary);
  }

  override close(code?: number, reason?: string | Buffer): void {
    if (code === undefined && this.holdPlainClose) return;
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
