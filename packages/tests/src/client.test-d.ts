import {
  createDuplexClient,
  type DuplexErrorCode,
  type DuplexStatus,
  idempotent,
  type StreamGap,
} from '@duplex/client';
import { createDuplexServer, type inferDuplexUser, streamChannel } from '@duplex/server';
import type { TrackedEnvelope } from '@trpc/server';
import { describe, expectTypeOf, it } from 'vitest';
import { type AppRouter, appRouter, type TestUser } from './fixtures';

const client = createDuplexClient<AppRouter>({ url: 'ws://127.0.0.1:1/trpc' });

describe('inference through the client', () => {
  it('infers query and mutation outputs from the router', () => {
    expectTypeOf(client.whoami.query()).resolves.toEqualTypeOf<TestUser>();
    expectTypeOf(client.echo.query({ text: 'a' })).resolves.toEqualTypeOf<{
      text: string;
      at: Date | null;
      length: number;
    }>();
    expectTypeOf(client.publish.mutate({ channel: 'c', n: 1 })).resolves.toEqualTypeOf<string>();
  });

  it('checks inputs', () => {
    // @ts-expect-error text must be a string
    void client.echo.query({ text: 1 });
    // @ts-expect-error text is required
    void client.echo.query({});
    // @ts-expect-error dates stay dates (superjson), not strings
    void client.echo.query({ text: 'a', at: '2026-01-01' });
    // @ts-expect-error no such procedure
    void client.nope.query();
    // @ts-expect-error a query is not a mutation
    void client.whoami.mutate();
  });

  it('types subscription data as tracked events that may be a gap', () => {
    client.onEvent.subscribe(
      { channel: 'c', lastEventId: null },
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

  it('types for-await iteration of a subscription', () => {
    const events = client.onEvent.subscribe({ channel: 'c' });
    expectTypeOf(events).toEqualTypeOf<
      AsyncIterableIterator<{ id: string; data: { n: number } | StreamGap }>
    >();
    // @ts-expect-error the input is checked too
    client.onEvent.subscribe({ channel: 1 });
  });

  it('types the idempotent mark, status and close', () => {
    void client.slowMutation.mutate({ ms: 1, key: 'k' }, idempotent);
    // @ts-expect-error call options carry a context object, not a flag
    void client.slowMutation.mutate({ ms: 1, key: 'k' }, { context: 'idempotent' });
    expectTypeOf(client.$status.get()).toEqualTypeOf<DuplexStatus>();
    expectTypeOf(client.$close()).resolves.toEqualTypeOf<void>();
    const status = client.$status.get();
    if (status.state === 'reconnecting') expectTypeOf(status.attempt).toEqualTypeOf<number>();
    // @ts-expect-error only reconnecting carries an attempt
    if (status.state === 'open') void status.attempt;
  });

  it('keeps error codes a closed union', () => {
    expectTypeOf<'UNAUTHORIZED'>().toExtend<DuplexErrorCode>();
    // @ts-expect-error not a Duplex error code
    const bad: DuplexErrorCode = 'TEAPOT';
    void bad;
  });
});

describe('server typing', () => {
  it('infers the user type from the router', () => {
    expectTypeOf<inferDuplexUser<AppRouter>>().toEqualTypeOf<TestUser>();
  });

  it('requires authenticate to return that user', () => {
    createDuplexServer({
      router: appRouter,
      authenticate: () => ({ user: { id: 'a', name: 'A' } }),
    });
    // @ts-expect-error the user lacks `name`
    createDuplexServer({ router: appRouter, authenticate: () => ({ user: { id: 'a' } }) });
  });

  it('makes streamChannel yield tracked events or gaps', () => {
    const stream = streamChannel<{ n: number }>(null as never, 'c');
    expectTypeOf(stream).toEqualTypeOf<
      AsyncGenerator<TrackedEnvelope<{ n: number } | StreamGap>, void, unknown>
    >();
  });

  it('takes TLS trust for wss:// as certificates only, never a switch to turn checks off', () => {
    createDuplexClient<AppRouter>({ url: 'wss://127.0.0.1:1/trpc', tls: { ca: 'PEM' } });
    createDuplexClient<AppRouter>({ url: 'wss://127.0.0.1:1/trpc', tls: { ca: ['A', 'B'] } });
    // @ts-expect-error there is no way to skip certificate checks
    createDuplexClient<AppRouter>({ url: 'wss://h/trpc', tls: { rejectUnauthorized: false } });
  });

  it('gives the same client type whichever transport it uses', () => {
    const auto = createDuplexClient<AppRouter>({ url: 'ws://127.0.0.1:1/trpc' });
    const http = createDuplexClient<AppRouter>({ url: 'ws://127.0.0.1:1/trpc', transport: 'http' });
    const ws = createDuplexClient<AppRouter>({ url: 'ws://h/trpc', transport: 'websocket' });
    expectTypeOf(http).toEqualTypeOf(auto);
    expectTypeOf(ws).toEqualTypeOf(auto);
    expectTypeOf(auto.$transport.get()).toEqualTypeOf<'websocket' | 'http'>();
    // @ts-expect-error no such transport
    createDuplexClient<AppRouter>({ url: 'ws://h/trpc', transport: 'sse' });
  });
});
