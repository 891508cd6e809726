import { closeCodes } from '@duplex/protocol';
import type { WebSocket } from 'ws';
import { realTimers } from './realTimers';

/**
 * How long a socket `authenticate` refused stays open for the calls already on their way. A
 * stock `wsLink` client sends its pending calls a moment after `connectionParams` (after a
 * `setTimeout(0)`), so with a fast `authenticate` they arrive after the refusal; answered, they
 * fail with `UNAUTHORIZED` instead of a bare "WebSocket closed".
 */
export const refusedSocketLingerMs = 250;

/**
 * Closes a refused socket with 4401 once its `id: null` `UNAUTHORIZED` error has gone out: right
 * after the calls it carries are answered, or after {@link refusedSocketLingerMs} if none came.
 * Both handlers send that error first, as tRPC's own handler does when `createContext` throws:
 * it is what makes a stock `wsLink` back off (its `connectionRejected`) instead of reconnecting
 * at once, hundreds of times a second. The Duplex client stops on the close code.
 */
export class SocketRefusal {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: WebSocket,
    callsPending: boolean,
  ) {
    if (callsPending) this.onCalls();
    else this.timer = realTimers.setTimeout(this.close, refusedSocketLingerMs).unref();
  }

  /** Calls arrived: they are answered within this turn, so the socket closes right after it. */
  onCalls(): void {
    realTimers.clearTimeout(this.timer);
    realTimers.setImmediate(this.close);
  }

  private readonly close = (): void => {
    realTimers.clearTimeout(this.timer);
    if (this.socket.readyState === this.socket.OPEN) {
      this.socket.close(closeCodes.unauthorized, 'Unauthorized');
    }
  };
}
