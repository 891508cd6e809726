import { describe, expect, it, vi } from 'vitest';
import { expiringAuth, startTestServer, testClient, tokenIssuer } from './fixtures';
import { collector, sleep } from './helpers';
import { nginxAvailable, startNginx } from './nginx';

const hasNginx = nginxAvailable('the reverse-proxy suite');

describe.skipIf(!hasNginx)('behind nginx', () => {
  it('runs over WebSocket through a proxy that passes upgrades, and resumes across a restart', async () => {
    await using server = await startTestServer();
    await using proxy = await startNginx({ upstreamPort: server.port, websocket: true });
    await using client = testClient(`ws://127.0.0.1:${proxy.port}/trpc`);
    expect(await client.whoami.query()).toEqual({ id: 'alice', name: 'User alice' });
    const seen = collector<{ n: number }>();
    client.onEvent.subscribe(
      { channel: 'proxied' },
      { onData: ({ data }) => seen.push(data as { n: number }) },
    );
    await sleep(100);
    const total = 120;
    for (let n = 0; n < total; n++) {
      if (n === 40) void server.restart();
      await server.broker.publish('proxied', { n });
      await sleep(5);
    }
    await vi.waitFor(() => expect(seen.items).toHaveLength(total), { timeout: 15_000 });
    expect(seen.items.map((e) => e.n)).toEqual(Array.from({ length: total }, (_, n) => n));
    expect(server.server.connections).toBe(1);
  });

  it('with nginx defaults the upgrade is stripped: the socket never opens, plain HTTP works', async () => {
    await using server = await startTestServer();
    await using proxy = await startNginx({ upstreamPort: server.port, websocket: false });
    await using client = testClient(`ws://127.0.0.1:${proxy.port}/trpc`, {
      transport: 'websocket',
    });
    const states = new Set<string>();
    client.$status.subscribe((s) => states.add(s.state));
    await sleep(500);
    expect(states.has('open')).toBe(false);
    expect(server.server.connections).toBe(0);
    const res = await fetch(`${proxy.url}/trpc/whoami`, {
      headers: { authorization: 'Bearer user:bob' },
    });
    expect(await res.json()).toMatchObject({ result: { data: { json: { id: 'bob' } } } });
  });
});

describe.skipIf(!hasNginx)('falling back to HTTP behind nginx defaults', () => {
  it('falls back to HTTP and SSE: calls work, events arrive live and resume across a restart', async () => {
    await using server = await startTestServer();
    await using proxy = await startNginx({ upstreamPort: server.port, websocket: false });
    await using client = testClient(`ws://127.0.0.1:${proxy.port}/trpc`);
    expect(await client.whoami.query()).toEqual({ id: 'alice', name: 'User alice' });
    expect(client.$transport.get()).toBe('http');
    expect(client.$status.get()).toEqual({ state: 'open', transport: 'http' });
    const seen = collector<{ n: number }>();
    client.onEvent.subscribe(
      { channel: 'fallback' },
      { onData: ({ data }) => seen.push(data as { n: number }) },
    );
    // Live once a probe event comes through the event stream.
    await vi.waitFor(async () => {
      await server.broker.publish('fallback', { n: -1 });
      expect(seen.items.length).toBeGreaterThan(0);
    });
    const total = 60;
    for (let n = 0; n < total; n++) {
      if (n === 20) void server.restart();
      await server.broker.publish('fallback', { n });
      await sleep(10);
    }
    const sent = () => seen.items.filter((e) => e.n >= 0).map((e) => e.n);
    await vi.waitFor(() => expect(sent()).toHaveLength(total), { timeout: 20_000 });
    expect(sent()).toEqual(Array.from({ length: total }, (_, n) => n));
    expect(client.$transport.get()).toBe('http');
  });

  it('moves back to the WebSocket once the proxy passes upgrades, losing and repeating nothing', async () => {
    await using server = await startTestServer();
    await using proxy = await startNginx({ upstreamPort: server.port, websocket: false });
    await using client = testClient(`ws://127.0.0.1:${proxy.port}/trpc`);
    await client.whoami.query();
    expect(client.$transport.get()).toBe('http');
    const seen = collector<{ n: number }>();
    client.onEvent.subscribe(
      { channel: 'back' },
      { onData: ({ data }) => seen.push(data as { n: number }) },
    );
    await vi.waitFor(async () => {
      await server.broker.publish('back', { n: -1 });
      expect(seen.items.length).toBeGreaterThan(0);
    });
    const total = 80;
    for (let n = 0; n < total; n++) {
      if (n === 20) await proxy.reconfigure({ websocket: true });
      await server.broker.publish('back', { n });
      await sleep(20);
    }
    await vi.waitFor(() => expect(client.$transport.get()).toBe('websocket'), { timeout: 15_000 });
    await server.broker.publish('back', { n: total });
    const sent = () => seen.items.filter((e) => e.n >= 0).map((e) => e.n);
    await vi.waitFor(() => expect(sent()).toHaveLength(total + 1), { timeout: 15_000 });
    expect(sent()).toEqual(Array.from({ length: total + 1 }, (_, n) => n));
    expect(server.server.connections).toBe(1);
  });

  it('stops on a refused token over HTTP as it does on the WebSocket', async () => {
    await using server = await startTestServer();
    await using proxy = await startNginx({ upstreamPort: server.port, websocket: false });
    await using client = testClient(`ws://127.0.0.1:${proxy.port}/trpc`, { token: 'nobody' });
    const error = await client.whoami.query().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', retryable: false });
    expect(client.$status.get().state).toBe('unauthorized');
  });

  it('refreshes an expiring token on the event stream without losing events', async () => {
    const ttlMs = 600;
    await using server = await startTestServer({ authenticate: expiringAuth });
    const issuer = tokenIssuer(ttlMs);
    await using client = testClient(`ws://127.0.0.1:${server.port}/trpc`, {
      transport: 'http',
      token: issuer.token,
    });
    const seen = collector<{ n: number }>();
    client.onEvent.subscribe(
      { channel: 'expiring' },
      { onData: ({ data }) => seen.push(data as { n: number }) },
    );
    await vi.waitFor(async () => {
      await server.broker.publish('expiring', { n: -1 });
      expect(seen.items.length).toBeGreaterThan(0);
    });
    const total = 100;
    for (let n = 0; n < total; n++) {
      await server.broker.publish('expiring', { n });
      await sleep(20);
    }
    const sent = () => seen.items.filter((e) => e.n >= 0).map((e) => e.n);
    await vi.waitFor(() => expect(sent()).toHaveLength(total), { timeout: 15_000 });
    expect(sent()).toEqual(Array.from({ length: total }, (_, n) => n));
    expect(issuer.issued).toBeGreaterThanOrEqual(3);
    expect(client.$status.get()).toEqual({ state: 'open', transport: 'http' });
  });
});
