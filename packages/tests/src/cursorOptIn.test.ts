import { createDuplexClient, type ResumeStore } from '@duplex/client';
import type { AuthenticateOptions } from '@duplex/server';
import { createTRPCClient, httpSubscriptionLink, type TRPCClient } from '@trpc/client';
import { EventSource } from 'eventsource';
import superjson from 'superjson';
import { describe, expect, it, vi } from 'vitest';
import {
  type ConformanceRouter,
  handlers,
  startConformanceServer,
  stockWsClient,
} from './conformanceFixtures';
import { deferred } from './helpers';

type Server = Awaited<ReturnType<typeof startConformanceServer>>;

const httpUrlOf = (wsUrl: string) => wsUrl.replace(/^ws/, 'http');

/** tRPC's own clients, which never asked for a cursor. */
const stockClients = {
  wsLink: (server: Server) => stockWsClient(server.wsUrl),
  httpSubscriptionLink(server: Server) {
    const client = createTRPCClient<ConformanceRouter>({
      links: [
        httpSubscriptionLink({
          url: httpUrlOf(server.wsUrl),
          transformer: superjson,
          connectionParams: { token: 'good' },
          EventSource: EventSource as unknown as typeof globalThis.EventSource,
        }),
      ],
    });
    return { client, close: async () => {} };
  },
} satisfies Record<
  string,
  (server: Server) => { client: TRPCClient<ConformanceRouter>; close(): Promise<void> | void }
>;

describe('the stream cursor goes only to clients that ask for it', () => {
  for (const handler of handlers) {
    for (const [kind, open] of Object.entries(stockClients)) {
      it(`${handler}: a stock ${kind} client subscribed without lastEventId gets app events only`, async () => {
        await using server = await startConformanceServer(handler);
        const { client, close } = open(server);
        const data: unknown[] = [];
        const started = deferred();
        const subscription = client.onEvent.subscribe(
          { channel: 'plain' },
          { onStarted: () => started.resolve(), onData: (event) => data.push(event.data) },
        );
        try {
          await started.promise;
          // The stream is live once an event published now comes through.
          await vi.waitFor(async () => {
            await server.broker.publish('plain', { n: -1 });
            expect(data.length).toBeGreaterThan(0);
          });
          for (let n = 0; n < 3; n++) await server.broker.publish('plain', { n });
          await vi.waitFor(() => expect(data.at(-1)).toEqual({ n: 2 }));
          expect(data.filter((d) => (d as { n: number }).n >= 0)).toEqual([
            { n: 0 },
            { n: 1 },
            { n: 2 },
          ]);
          expect(data).not.toContainEqual({ duplex: 'cursor' });
        } finally {
          subscription.unsubscribe();
          await close();
        }
      });
    }

    it(`${handler}: the Duplex client gets the cursor, which authenticate never sees`, async () => {
      const params: AuthenticateOptions['connectionParams'][] = [];
      await using server = await startConformanceServer(handler, {
        authenticate: ({ connectionParams }) => {
          params.push(connectionParams);
          return connectionParams?.token === 'good' ? { user: { id: 'u1' } } : null;
        },
      });
      const head = await server.broker.publish('quiet', { n: 0 });
      const saved: string[] = [];
      const resumeStore: ResumeStore = { get: () => null, set: (_key, id) => void saved.push(id) };
      await using client = createDuplexClient<ConformanceRouter>({
        url: server.wsUrl,
        token: 'good',
        resumeStore,
        connectionParams: () => ({ app: 'yes' }),
        reconnect: { delayMs: () => 10 },
      });
      const data: unknown[] = [];
      client.onEvent.subscribe({ channel: 'quiet' }, { onData: (event) => data.push(event.data) });
      // Nothing published yet, but the stream's starting point is known: it can resume from it.
      await vi.waitFor(() => expect(saved).toEqual([head]));
      expect(data).toEqual([]);
      expect(params).toEqual([{ app: 'yes', token: 'good' }]);
    });
  }
});
