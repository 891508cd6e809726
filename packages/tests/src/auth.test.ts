import type { DuplexStatus } from '@duplex/client';
import { closeCodes } from '@duplex/server';
import { describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { expiringAuth, startTestServer, testClient, tokenIssuer } from './fixtures';
import { closeCodeOf, deferred, openAuthedRawSocket, openRawSocket, sleep } from './helpers';

describe('authentication at the handshake', () => {
  it('refuses a bad token with 4401, reports unauthorized and does not retry', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl, { token: 'not-a-user' });
    const states: DuplexStatus['state'][] = [];
    client.$status.subscribe((s) => states.push(s.state));
    const error = await client.whoami.query().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', retryable: false });
    expect(client.$status.get().state).toBe('unauthorized');
    await sleep(300);
    expect(server.server.metrics.refusedUnauthorized).toBe(1);
    expect(server.server.metrics.connectionsOpened).toBe(1);
    expect(states.filter((s) => s === 'reconnecting')).toEqual([]);
    // `open` means the server accepted the credentials, not merely that a socket opened.
    expect(states).not.toContain('open');
  });

  it('ends open subscriptions with UNAUTHORIZED when a reconnect is refused', async () => {
    let allowed = true;
    await using server = await startTestServer({
      authenticate: () => (allowed ? { user: { id: 'a', name: 'A' } } : null),
    });
    await using client = testClient(server.wsUrl);
    const failed = deferred<unknown>();
    const started = deferred();
    client.onEvent.subscribe(
      { channel: 'c' },
      { onStarted: () => started.resolve(), onError: (e) => failed.resolve(e) },
    );
    await started.promise;
    allowed = false;
    await server.restart();
    expect(await failed.promise).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(client.$status.get().state).toBe('unauthorized');
  });

  it('refreshes an expiring token on a new connection without losing subscription events', async () => {
    const ttlMs = 300;
    await using server = await startTestServer({ authenticate: expiringAuth });
    const issuer = tokenIssuer(ttlMs);
    await using client = testClient(server.wsUrl, {
      token: issuer.token,
    });
    const states: DuplexStatus['state'][] = [];
    client.$status.subscribe((s) => states.push(s.state));
    const seen: number[] = [];
    const errors: unknown[] = [];
    const started = deferred();
    client.onEvent.subscribe(
      { channel: 'refresh' },
      {
        onStarted: () => started.resolve(),
        onData: ({ data }) => seen.push((data as { n: number }).n),
        onError: (e) => errors.push(e),
      },
    );
    await started.promise;
    const total = 150;
    for (let n = 0; n < total; n++) {
      await server.broker.publish('refresh', { n });
      await sleep(8);
    }
    await vi.waitFor(() => expect(seen).toHaveLength(total));
    expect(seen).toEqual(Array.from({ length: total }, (_, n) => n));
    expect(issuer.issued).toBeGreaterThanOrEqual(3);
    expect(errors).toEqual([]);
    expect(states).not.toContain('reconnecting');
    // Old sockets close once their subscriptions have moved (a refresh may be under way now).
    await vi.waitFor(() => expect(server.server.connections).toBe(1));
  });

  it('keeps a connection whose token expires beyond the longest timer Node can set', async () => {
    const thirtyDaysMs = 30 * 24 * 3_600_000;
    await using server = await startTestServer({
      authenticate: () => ({ user: { id: 'a', name: 'A' }, expiresAt: Date.now() + thirtyDaysMs }),
    });
    await using client = testClient(server.wsUrl);
    await client.whoami.query();
    await sleep(300);
    expect(client.$status.get().state).toBe('open');
    expect(server.server.metrics.connectionsOpened).toBe(1);
  });

  it('closes a connection still on an expired token with 4410', async () => {
    await using server = await startTestServer({
      authenticate: () => ({ user: { id: 'a', name: 'A' }, expiresAt: Date.now() + 200 }),
    });
    const socket = await openAuthedRawSocket(server.wsUrl);
    expect(await closeCodeOf(socket)).toBe(closeCodes.tokenExpired);
  });

  it('closes a socket that never sends connectionParams with 4408', async () => {
    await using server = await startTestServer({ limits: { authTimeoutMs: 100 } });
    const socket = await openRawSocket(`${server.wsUrl}?connectionParams=1`);
    expect(await closeCodeOf(socket)).toBe(closeCodes.authTimeout);
  });

  it('accepts a token from the Authorization header of the upgrade', async () => {
    await using server = await startTestServer();
    const socket = await openRawSocket(server.wsUrl, {
      headers: { authorization: 'Bearer user:carol' },
    });
    const reply = new Promise<unknown>((resolve) =>
      socket.once('message', (d) => resolve(JSON.parse(String(d)))),
    );
    socket.send(
      JSON.stringify({ id: 1, method: 'query', params: { path: 'whoami', input: { json: null } } }),
    );
    expect(await reply).toMatchObject({ id: 1, result: { data: { json: { id: 'carol' } } } });
    socket.close();
  });

  it('gives procedures the user, a stable connection id and the connection signal', async () => {
    await using server = await startTestServer();
    await using dave = testClient(server.wsUrl, { token: 'user:dave' });
    await using erin = testClient(server.wsUrl, { token: 'user:erin' });
    expect(await dave.whoami.query()).toEqual({ id: 'dave', name: 'User dave' });
    const [first, second, other] = await Promise.all([
      dave.connectionInfo.query(),
      dave.connectionInfo.query(),
      erin.connectionInfo.query(),
    ]);
    expect(first).toEqual({ id: second.id, transport: 'ws', open: true });
    expect(other.id).not.toBe(first.id);
  });
});

describe('origin allow-list', () => {
  const upgradeStatus = (url: string, origin: string) =>
    new Promise<number>((resolve) => {
      const socket = new WebSocket(url, { headers: { origin } });
      socket.on('open', () => {
        resolve(101);
        socket.close();
      });
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('error', () => {});
    });

  it('refuses cross-origin browsers by default and allows same-origin ones', async () => {
    await using server = await startTestServer();
    expect(await upgradeStatus(server.wsUrl, 'http://evil.example')).toBe(403);
    expect(await upgradeStatus(server.wsUrl, `http://127.0.0.1:${server.port}`)).toBe(101);
    expect(server.server.metrics.refusedOrigin).toBe(1);
  });

  it('allows exactly the listed origins', async () => {
    await using server = await startTestServer({ allowedOrigins: ['https://app.example'] });
    expect(await upgradeStatus(server.wsUrl, 'https://app.example')).toBe(101);
    expect(await upgradeStatus(server.wsUrl, 'https://app.example.evil')).toBe(403);
  });

  it('refuses upgrades on other paths with 404', async () => {
    await using server = await startTestServer();
    expect(
      await upgradeStatus(
        `ws://127.0.0.1:${server.port}/elsewhere`,
        `http://127.0.0.1:${server.port}`,
      ),
    ).toBe(404);
  });
});
