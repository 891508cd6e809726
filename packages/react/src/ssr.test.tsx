import type { AddressInfo } from 'node:net';
import { createDuplexClient, type DuplexClient } from '@duplex/client';
import type { StreamGap } from '@duplex/protocol';
import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query';
import { initTRPC } from '@trpc/server';
import { renderToString } from 'react-dom/server';
import superjson from 'superjson';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import { createDuplexReact } from './createDuplexReact';
import { useConnectionStatus } from './useConnectionStatus';
import { useLiveQuery } from './useLiveQuery';
import { useLiveSubscription } from './useLiveSubscription';

const t = initTRPC.create({ transformer: superjson });
const router = t.router({
  list: t.procedure.input(z.object({ room: z.string() })).query(() => [{ id: 'a', n: 1 }]),
  onEvent: t.procedure
    .input(z.object({ room: z.string(), lastEventId: z.string().nullish() }))
    .subscription(async function* (): AsyncGenerator<{ id: string; n: number } | StreamGap> {}),
});
type Router = typeof router;

const { DuplexProvider, useTRPC } = createDuplexReact<Router>();

function Page() {
  const trpc = useTRPC();
  const status = useConnectionStatus();
  const list = useQuery(trpc.list.queryOptions({ room: 'r' }));
  const live = useLiveSubscription(trpc.onEvent.subscriptionOptions({ room: 'r' }));
  const feed = useLiveQuery({
    query: trpc.list.queryOptions({ room: 'r' }),
    subscription: trpc.onEvent.subscriptionOptions({ room: 'r' }),
    apply: (items, event) => [...items, event],
  });
  return (
    <p>
      {status.state}|{list.status}|{live.status}|{feed.status}|{feed.live.status}
    </p>
  );
}

/** A real WebSocket server on port 0 that counts the connections it is offered. */
async function countingServer() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  const counter = { connections: 0, wss };
  wss.on('connection', () => counter.connections++);
  const { port } = wss.address() as AddressInfo;
  return { ...counter, counter, url: `ws://127.0.0.1:${port}/trpc` };
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function render(client: Parameters<typeof DuplexProvider>[0]['client']) {
  const queryClient = new QueryClient();
  return renderToString(
    <QueryClientProvider client={queryClient}>
      <DuplexProvider client={client} queryClient={queryClient}>
        <Page />
      </DuplexProvider>
    </QueryClientProvider>,
  );
}

describe('server rendering', () => {
  it('renders the provider and every hook without calling the factory or opening a socket', async () => {
    const server = await countingServer();
    closers.push(() => new Promise((resolve) => server.wss.close(resolve)));
    let created = 0;
    const html = render(() => {
      created++;
      const client = createDuplexClient<Router>({ url: server.url });
      closers.push(() => client.$close());
      return client;
    });
    expect(html).toBe(
      '<p>connecting<!-- -->|<!-- -->pending<!-- -->|<!-- -->connecting<!-- -->|<!-- -->pending<!-- -->|<!-- -->connecting</p>',
    );
    expect(created).toBe(0);
    // Nothing is sent later either: no effect runs on the server, so no timer fires a call.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(created).toBe(0);
    expect(server.counter.connections).toBe(0);
  });

  it('renders with a client the app created and owns, reading nothing from it', () => {
    const owned = new Proxy({} as DuplexClient<Router>, {
      get: (_target, prop) => {
        if (prop === '$status')
          return { get: () => ({ state: 'open' }), subscribe: () => () => undefined };
        throw new Error(`read ${String(prop)} during server rendering`);
      },
    });
    expect(render(owned)).toContain('<p>connecting<!-- -->|');
  });
});
