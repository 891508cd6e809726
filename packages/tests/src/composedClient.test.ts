import { createDuplexConnection, type DuplexStatus, duplexLinks, idempotent } from '@duplex/client';
import { createTRPCClient } from '@trpc/client';
import { describe, expect, it, vi } from 'vitest';
import { collapse, composedTestClient } from './composedClientFixtures';
import { type AppRouter, expiringAuth, startTestServer, tokenIssuer } from './fixtures';
import { collector, deferred, sleep } from './helpers';

type Composed = ReturnType<typeof composedTestClient>;

/** Subscribes to `onEvent` and resolves once the server confirmed the subscription. */
async function subscribe({ client }: Composed, channel: string) {
  const seen = collector<number>();
  const errors: unknown[] = [];
  const started = deferred();
  let completed = false;
  client.onEvent.subscribe(
    { channel },
    {
      onStarted: () => started.resolve(),
      onData: ({ data }) => seen.push((data as { n: number }).n),
      onError: (error) => errors.push(error),
      onComplete: () => {
        completed = true;
      },
    },
  );
  await started.promise;
  return { seen: seen.items, errors, completed: () => completed };
}

const upTo = (total: number) => Array.from({ length: total }, (_, n) => n);

describe('a tRPC client composed from loggerLink, splitLink and duplexLinks', () => {
  it('runs typed calls through the logger, over the connection or the other branch', async () => {
    await using server = await startTestServer();
    await using composed = composedTestClient(server.wsUrl);
    const { client, logOf } = composed;
    expect(await client.whoami.query()).toEqual({ id: 'alice', name: 'User alice' });
    const at = new Date('2026-01-02T03:04:05Z');
    expect(await client.echo.query({ text: 'hi', at })).toEqual({ text: 'hi', at, length: 2 });
    expect(typeof (await client.publish.mutate({ channel: 'c', n: 1 }))).toBe('string');
    // The split sent this one over plain HTTP; the rest share one socket.
    expect(await client.connectionInfo.query()).toMatchObject({ transport: 'http' });
    expect(server.server.metrics.connectionsOpened).toBe(1);
    expect(logOf('whoami')).toEqual([
      { direction: 'up', type: 'query', path: 'whoami' },
      { direction: 'down', type: 'query', path: 'whoami', outcome: 'data' },
    ]);
    expect(logOf('publish').map((e) => e.direction)).toEqual(['up', 'down']);
    expect(logOf('connectionInfo').map((e) => e.outcome)).toEqual([undefined, 'data']);
    const failed = await client.forbidden.query().catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'FORBIDDEN', message: 'Not yours' });
    expect(logOf('forbidden').at(-1)).toMatchObject({ direction: 'down', outcome: 'error' });
  });

  it('drops the events a source repeats, as createDuplexClient does', async () => {
    await using server = await startTestServer();
    await using composed = composedTestClient(server.wsUrl);
    const seen: string[] = [];
    composed.client.repeats.subscribe({}, { onData: ({ id }) => seen.push(id) });
    await vi.waitFor(() => expect(seen).toEqual(['e1', 'e2', 'e3']));
    await sleep(50);
    expect(seen).toEqual(['e1', 'e2', 'e3']);
  });

  it('resumes a subscription across a server restart with no loss and no repeat, reporting the status', async () => {
    await using server = await startTestServer();
    await using composed = composedTestClient(server.wsUrl);
    const { connection, logOf } = composed;
    const states: DuplexStatus['state'][] = [connection.status.get().state];
    connection.status.subscribe((s) => states.push(s.state));
    const { seen, errors } = await subscribe(composed, 'room');
    const total = 120;
    for (let n = 0; n < total; n++) {
      if (n === 40) await server.restart();
      await server.broker.publish('room', { n });
      await sleep(1);
    }
    await vi.waitFor(() => expect(seen).toHaveLength(total), { timeout: 10_000 });
    expect(seen).toEqual(upTo(total));
    expect(errors).toEqual([]);
    expect(collapse(states)).toEqual(['connecting', 'open', 'reconnecting', 'open']);
    expect(connection.status.get()).toEqual({ state: 'open', transport: 'websocket' });
    // The logger above the Duplex links saw each event once.
    expect(logOf('onEvent').filter((e) => e.outcome === 'data')).toHaveLength(total);
    await connection.close();
    expect(connection.status.get()).toEqual({ state: 'closed' });
  });

  it('re-sends a query and an idempotent mutation cut off by a drop, but not an unmarked one', async () => {
    await using server = await startTestServer();
    await using composed = composedTestClient(server.wsUrl);
    const { client, logOf } = composed;
    await client.whoami.query();
    const query = client.slow.query({ ms: 300 });
    const safe = client.slowMutation.mutate({ ms: 300, key: 'composed-safe' }, idempotent);
    const unsafe = client.slowMutation
      .mutate({ ms: 300, key: 'composed-unsafe' })
      .catch((e: unknown) => e);
    await sleep(50);
    await server.restart();
    await expect(query).resolves.toBe('done');
    // It ran twice: once on the lost connection, once re-sent.
    await expect(safe).resolves.toBe(2);
    expect(await unsafe).toMatchObject({ code: 'CONNECTION_LOST', retryable: true });
    // The retry happens below the logger: one call logged, one answer.
    expect(logOf('slow').map((e) => e.direction)).toEqual(['up', 'down']);
  });

  it('fetches a fresh token for every reconnect', async () => {
    await using server = await startTestServer();
    let issued = 0;
    await using composed = composedTestClient(server.wsUrl, { token: () => `user:u${++issued}` });
    expect(await composed.client.whoami.query()).toMatchObject({ id: 'u1' });
    await server.restart();
    await vi.waitFor(() => expect(composed.connection.status.get().state).toBe('open'));
    expect(issued).toBeGreaterThan(1);
    expect(await composed.client.whoami.query()).toMatchObject({ id: `u${issued}` });
  });

  it('refreshes an expiring token without losing subscription events', async () => {
    await using server = await startTestServer({ authenticate: expiringAuth });
    const issuer = tokenIssuer(300);
    await using composed = composedTestClient(server.wsUrl, { token: issuer.token });
    const states: DuplexStatus['state'][] = [];
    composed.connection.status.subscribe((s) => states.push(s.state));
    const { seen, errors } = await subscribe(composed, 'refresh');
    const total = 100;
    for (let n = 0; n < total; n++) {
      await server.broker.publish('refresh', { n });
      await sleep(8);
    }
    await vi.waitFor(() => expect(seen).toHaveLength(total));
    expect(seen).toEqual(upTo(total));
    expect(issuer.issued).toBeGreaterThanOrEqual(3);
    expect(errors).toEqual([]);
    expect(states).not.toContain('reconnecting');
  });

  it('stops for good when the server refuses the token', async () => {
    await using server = await startTestServer();
    await using composed = composedTestClient(server.wsUrl, { token: 'not-a-user' });
    const states: DuplexStatus['state'][] = [];
    composed.connection.status.subscribe((s) => states.push(s.state));
    const error = await composed.client.whoami.query().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', retryable: false });
    expect(composed.connection.status.get()).toEqual({ state: 'unauthorized' });
    await sleep(300);
    expect(server.server.metrics.connectionsOpened).toBe(1);
    expect(states).not.toContain('reconnecting');
    // Later calls fail at once, without a new attempt.
    await expect(composed.client.whoami.query()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(server.server.metrics.connectionsOpened).toBe(1);
  });

  it('ends open subscriptions with UNAUTHORIZED when a reconnect is refused', async () => {
    let allowed = true;
    await using server = await startTestServer({
      authenticate: () => (allowed ? { user: { id: 'a', name: 'A' } } : null),
    });
    await using composed = composedTestClient(server.wsUrl);
    const { errors } = await subscribe(composed, 'revoked');
    allowed = false;
    await server.restart();
    await vi.waitFor(() => expect(errors).toMatchObject([{ code: 'UNAUTHORIZED' }]));
    expect(composed.connection.status.get().state).toBe('unauthorized');
  });

  it('closes for good: subscriptions complete, later calls fail with CLOSED', async () => {
    await using server = await startTestServer();
    const composed = composedTestClient(server.wsUrl);
    const { completed } = await subscribe(composed, 'closing');
    await composed[Symbol.asyncDispose]();
    expect(completed()).toBe(true);
    expect(composed.connection.status.get()).toEqual({ state: 'closed' });
    await expect(composed.client.whoami.query()).rejects.toMatchObject({ code: 'CLOSED' });
    await vi.waitFor(() => expect(server.server.connections).toBe(0));
  });

  it('serves several tRPC clients over one connection', async () => {
    await using server = await startTestServer();
    await using connection = createDuplexConnection({ url: server.wsUrl, token: 'user:bob' });
    const first = createTRPCClient<AppRouter>({ links: duplexLinks({ connection }) });
    const second = createTRPCClient<AppRouter>({ links: duplexLinks({ connection }) });
    const [a, b] = await Promise.all([first.connectionInfo.query(), second.connectionInfo.query()]);
    expect(a).toMatchObject({ transport: 'ws' });
    expect(b.id).toBe(a.id);
    expect(server.server.metrics.connectionsOpened).toBe(1);
  });
});
