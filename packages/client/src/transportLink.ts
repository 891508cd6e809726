import type { Operation, TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable, type Unsubscribable } from '@trpc/server/observable';

/** Which way calls and subscriptions travel. */
export type DuplexTransport = 'websocket' | 'http';

/** The current transport, which the client changes when it falls back or comes back. */
export interface TransportStore {
  /** The transport in use now. */
  get(): DuplexTransport;
  /** Calls `listener` on every change (not with the current value); returns the unsubscribe. */
  subscribe(listener: (transport: DuplexTransport) => void): () => void;
}

/**
 * Sends each operation over the current transport. When the transport changes, open
 * subscriptions move: the one on the old transport is stopped and the subscription starts again
 * on the new one after the last event id it delivered (the resume contract makes the seam
 * lossless; the Duplex link above drops any repeat). Queries and calls marked `idempotent` still
 * waiting for an answer are sent again on the new transport; other calls stay where they are.
 */
export function transportLink(opts: {
  websocket: TRPCLink<AnyRouter>;
  http: TRPCLink<AnyRouter>;
  transport: TransportStore;
  /** The server refused the credentials of an HTTP call or stream (`data.authRefused`). */
  onAuthRefused(): void;
  /** Whether a socket is open now, and how many have opened so far. */
  socketState(): { open: boolean; opened: number };
}): TRPCLink<AnyRouter> {
  return (runtime) => {
    const links = { websocket: opts.websocket(runtime), http: opts.http(runtime) };
    return ({ op }) =>
      observable((observer) => {
        let inner: Unsubscribable | null = null;
        let lastEventId: string | undefined;
        let answered = false;
        /** Bumped on every start, so a stopped transport's late callbacks are ignored. */
        let generation = 0;
        const start = () => {
          const mine = ++generation;
          const current = () => mine === generation;
          const input =
            op.type === 'subscription' &&
            lastEventId !== undefined &&
            typeof op.input === 'object' &&
            op.input !== null
              ? { ...op.input, lastEventId }
              : op.input;
          const next: Operation = { ...op, input };
          inner = links[opts.transport.get()]({
            op: next,
            next: () => {
              throw new Error('transportLink is a terminating link');
            },
          }).subscribe({
            next(result) {
              if (!current()) return;
              const data = result.result as { id?: unknown; type?: string } | undefined;
              if (op.type === 'subscription' && typeof data?.id === 'string') lastEventId = data.id;
              if (op.type !== 'subscription') answered = true;
              observer.next(result);
            },
            error(error) {
              if (!current()) return;
              const data = error.data as
                | { authRefused?: unknown; tokenExpired?: unknown }
                | undefined;
              // The stream's token expired: start it again (a fresh token) after its last event.
              if (op.type === 'subscription' && data?.tokenExpired === true) {
                generation++;
                start();
                return;
              }
              if (data?.authRefused === true) opts.onAuthRefused();
              answered = true;
              observer.error(error);
            },
            complete() {
              if (!current()) return;
              answered = true;
              observer.complete();
            },
          });
        };
        const safeToResend =
          op.type === 'subscription' ||
          op.type === 'query' ||
          (op.type === 'mutation' && op.context.idempotent === true);
        // A call made while no socket was open, with none opened since, was never sent: it can
        // move whatever it is.
        const atStart = opts.socketState();
        const neverSent = () =>
          opts.transport.get() === 'http' &&
          !atStart.open &&
          opts.socketState().opened === atStart.opened;
        const stopWatching = opts.transport.subscribe(() => {
          if (answered || !(safeToResend || neverSent())) return;
          const previous = inner;
          generation++;
          previous?.unsubscribe();
          start();
        });
        start();
        return () => {
          stopWatching();
          inner?.unsubscribe();
        };
      });
  };
}
