import {
  createDuplexClient,
  createDuplexConnection,
  type DuplexClientConnection,
  type DuplexStatus,
  duplexLinks,
  idempotent,
  type StreamGap,
} from '@duplex/client';
import {
  createTRPCClient,
  httpBatchLink,
  loggerLink,
  splitLink,
  type TRPCLink,
} from '@trpc/client';
import superjson from 'superjson';
import { describe, expectTypeOf, it } from 'vitest';
import type { AppRouter, TestUser } from './fixtures';

const connection = createDuplexConnection({ url: 'ws://127.0.0.1:1/trpc', token: 'user:a' });
const client = createTRPCClient<AppRouter>({
  links: [
    loggerLink(),
    splitLink({
      condition: (op) => op.path === 'connectionInfo',
      true: httpBatchLink({ url: 'http://127.0.0.1:1/trpc', transformer: superjson }),
      false: duplexLinks<AppRouter>({ connection }),
    }),
  ],
});

describe('inference through a composed client', () => {
  it('infers query and mutation outputs from the router', () => {
    expectTypeOf(client.whoami.query()).resolves.toEqualTypeOf<TestUser>();
    expectTypeOf(client.echo.query({ text: 'a', at: new Date() })).resolves.toEqualTypeOf<{
      text: string;
      at: Date | null;
      length: number;
    }>();
    expectTypeOf(client.publish.mutate({ channel: 'c', n: 1 })).resolves.toEqualTypeOf<string>();
    void client.slowMutation.mutate({ ms: 1, key: 'k' }, idempotent);
  });

  it('checks inputs and procedure kinds', () => {
    // @ts-expect-error text must be a string
    void client.echo.query({ text: 1 });
    // @ts-expect-error dates stay dates (superjson), not strings
    void client.echo.query({ text: 'a', at: '2026-01-01' });
    // @ts-expect-error no such procedure
    void client.nope.query();
    // @ts-expect-error a query is not a mutation
    void client.whoami.mutate();
  });

  it('types subscription data as tracked events that may be a gap', () => {
    client.onEvent.subscribe(
      { channel: 'c' },
      {
        onData(event) {
          expectTypeOf(event.id).toEqualTypeOf<string>();
          expectTypeOf(event.data).toEqualTypeOf<{ n: number } | StreamGap>();
        },
      },
    );
    // @ts-expect-error channel is required
    client.onEvent.subscribe({}, { onData() {} });
  });

  it('gives the same procedures as createDuplexClient', () => {
    const full = createDuplexClient<AppRouter>({ url: 'ws://127.0.0.1:1/trpc' });
    expectTypeOf(client.whoami.query).toEqualTypeOf(full.whoami.query);
    expectTypeOf(client.onEvent.subscribe).toEqualTypeOf(full.onEvent.subscribe);
    // @ts-expect-error `$status` and `$close` belong to createDuplexClient; a composed client has the connection
    void client.$status;
  });
});

describe('the connection and its links', () => {
  it('returns links for any place tRPC takes them', () => {
    expectTypeOf(duplexLinks<AppRouter>({ connection })).toEqualTypeOf<TRPCLink<AppRouter>[]>();
    // @ts-expect-error the links need a connection
    duplexLinks<AppRouter>({});
    // @ts-expect-error a client is not a connection
    duplexLinks<AppRouter>({ connection: createDuplexClient<AppRouter>({ url: 'ws://h/trpc' }) });
    // @ts-expect-error nor is an object shaped like one
    duplexLinks<AppRouter>({ connection: { status: connection.status } });
  });

  it('types status, transport and close', () => {
    expectTypeOf(connection.status.get()).toEqualTypeOf<DuplexStatus>();
    expectTypeOf(connection.transport.get()).toEqualTypeOf<'websocket' | 'http'>();
    expectTypeOf(connection.close()).resolves.toEqualTypeOf<void>();
    expectTypeOf(connection).toExtend<AsyncDisposable>();
    // @ts-expect-error the status is read-only
    connection.status.set({ state: 'open', transport: 'websocket' });
  });

  it('takes the options of createDuplexClient', () => {
    expectTypeOf(createDuplexConnection)
      .parameter(0)
      .toEqualTypeOf<Parameters<typeof createDuplexClient>[0]>();
    expectTypeOf(
      createDuplexConnection({ url: 'ws://h/trpc' }),
    ).toEqualTypeOf<DuplexClientConnection>();
    // @ts-expect-error no such transport
    createDuplexConnection({ url: 'ws://h/trpc', transport: 'sse' });
    // @ts-expect-error url is required
    createDuplexConnection({ token: 't' });
  });
});
