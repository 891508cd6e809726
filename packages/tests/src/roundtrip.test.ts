import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuplexClientError, isGap } from '@duplex/client';
import { createDuplexServer, createMemoryBroker } from '@duplex/server';
import { describe, expect, it, vi } from 'vitest';
import { appRouter, startTestServer, testClient, tokenAuth } from './fixtures';
import { collector, deferred } from './helpers';

describe('round trips over one WebSocket', () => {
  it('answers queries and mutations with superjson types intact', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    const at = new Date('2026-01-02T03:04:05Z');
    const echoed = await client.echo.query({ text: 'héllo', at });
    expect(echoed).toEqual({ text: 'héllo', at, length: 5 });
    expect(echoed.at).toBeInstanceOf(Date);
    const id = await client.publish.mutate({ channel: 'x', n: 1 });
    expect(id).toMatch(/:1$/);
    expect(server.server.connections).toBe(1);
  });

  it('streams subscription events as tracked { id, data }', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    const seen = collector<{ id: string; data: unknown }>();
    const started = deferred();
    const sub = client.onEvent.subscribe(
      { channel: 'room' },
      { onData: seen.push, onStarted: () => started.resolve() },
    );
    await started.promise;
    const ids = [];
    for (let n = 0; n < 3; n++) ids.push(await server.broker.publish('room', { n }));
    await vi.waitFor(() => expect(seen.items).toHaveLength(3));
    expect(seen.items).toEqual(ids.map((id, n) => ({ id, data: { n } })));
    sub.unsubscribe();
  });

  it('rejects invalid input with BAD_REQUEST and carries on', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    const error = await client.echo
      .query({ text: 42 as unknown as string })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DuplexClientError);
    expect(error).toMatchObject({ code: 'BAD_REQUEST', retryable: false });
    expect(await client.echo.query({ text: 'still fine' })).toMatchObject({ length: 10 });
  });

  it('reports an unknown procedure as NOT_FOUND', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    const untyped = client as unknown as { nope: { query(): Promise<unknown> } };
    await expect(untyped.nope.query()).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('never sends an unexpected error message or stack to the client', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    const error = (await client.boom.mutate().catch((e: unknown) => e)) as DuplexClientError;
    expect(error.code).toBe('SERVER_ERROR');
    expect(error.message).toBe('Internal server error');
    expect(JSON.stringify(error.shape)).not.toContain('hunter2');
    expect(JSON.stringify(error.shape)).not.toContain('.ts:');
  });

  it('passes intended errors through with their code', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    await expect(client.forbidden.query()).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: 'Not yours',
      retryable: false,
    });
  });

  it('consumes a subscription with for await, and a break unsubscribes', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    const publisher = setInterval(() => void server.broker.publish('it', { n: 1 }), 5);
    const received: { id: string; data: unknown }[] = [];
    for await (const event of client.onEvent.subscribe({ channel: 'it' })) {
      received.push(event);
      if (received.length === 3) break;
    }
    clearInterval(publisher);
    expect(received).toHaveLength(3);
    await vi.waitFor(() => expect(server.server.metrics.subscriptions).toBe(0));
  });

  it('refuses a malformed url at creation instead of retrying forever', () => {
    expect(() => testClient('localhost:3000')).toThrow(/url must use ws, wss, http or https/);
    expect(() => testClient('not a url')).toThrow(/invalid url/);
    const fromHttp = testClient('http://127.0.0.1:1/trpc');
    void fromHttp.$close();
  });

  it('fails calls made after $close() at once with CLOSED', async () => {
    await using server = await startTestServer();
    const client = testClient(server.wsUrl);
    await client.whoami.query();
    await client.$close();
    await expect(client.whoami.query()).rejects.toMatchObject({ code: 'CLOSED', retryable: false });
    const failed = deferred<unknown>();
    client.onEvent.subscribe({ channel: 'c' }, { onError: (e) => failed.resolve(e) });
    expect(await failed.promise).toMatchObject({ code: 'CLOSED' });
  });

  it('reports a request over the payload limit as PAYLOAD_TOO_LARGE without re-sending it', async () => {
    await using server = await startTestServer({ limits: { maxPayloadBytes: 2_000 } });
    await using client = testClient(server.wsUrl);
    await client.whoami.query();
    const error = await client.echo.query({ text: 'x'.repeat(5_000) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', retryable: false });
    await expect(client.whoami.query()).resolves.toMatchObject({ id: 'alice' });
    // The first socket, and the one that replaced it: no re-sends on fresh sockets.
    expect(server.server.metrics.connectionsOpened).toBe(2);
  });

  it('drops events whose id it has already delivered', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    const seen: string[] = [];
    for await (const event of client.repeats.subscribe({})) seen.push(event.id);
    expect(seen).toEqual(['e1', 'e2', 'e3']);
  });

  it('delivers a gap as a distinct event when the cursor is past retention', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    const seen = collector<{ id: string; data: unknown }>();
    client.onEvent.subscribe({ channel: 'g', lastEventId: 'gone:1' }, { onData: seen.push });
    await vi.waitFor(() => expect(seen.items).toHaveLength(1));
    expect(isGap(seen.items[0]?.data)).toBe(true);
    expect(seen.items[0]?.data).toMatchObject({ duplex: 'gap', requestedEventId: 'gone:1' });
  });
});

describe('HTTP endpoints on the same port', () => {
  it('serves /healthz and Prometheus /metrics', async () => {
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl);
    await client.whoami.query();
    const health = await fetch(`${server.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    expect(metrics).toContain(
      '# TYPE duplex_connections gauge\nduplex_connections{transport="websocket"} 1\n',
    );
    expect(metrics).toMatch(/duplex_frames_in_total [1-9]/);
    expect(metrics).toMatch(/duplex_bytes_out_total [1-9]/);
  });

  it('answers plain HTTP queries for authenticated callers only', async () => {
    await using server = await startTestServer();
    const ok = await fetch(`${server.httpUrl}/trpc/whoami`, {
      headers: { authorization: 'Bearer user:bob' },
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ result: { data: { json: { id: 'bob' } } } });
    const refused = await fetch(`${server.httpUrl}/trpc/whoami`);
    expect(refused.status).toBe(401);
  });

  it('closes the broker it created, and leaves a broker it was given open', async () => {
    const own = createDuplexServer({ router: appRouter, authenticate: tokenAuth });
    const ownStream = own.broker.subscribe('c')[Symbol.asyncIterator]();
    const given = createMemoryBroker();
    const borrowing = createDuplexServer({
      router: appRouter,
      authenticate: tokenAuth,
      broker: given,
    });
    const givenStream = given.subscribe('c')[Symbol.asyncIterator]();
    // Both live streams start with their cursor.
    expect((await ownStream.next()).value).toMatchObject({ type: 'cursor' });
    expect((await givenStream.next()).value).toMatchObject({ type: 'cursor' });
    await Promise.all([own.close(), borrowing.close()]);
    expect(await ownStream.next()).toEqual({ value: undefined, done: true });
    await given.publish('c', 1);
    expect(await givenStream.next()).toMatchObject({ done: false, value: { data: 1 } });
    await given.close();
  });

  it('refuses HTTP bodies over maxPayloadBytes with 413', async () => {
    await using server = await startTestServer({ limits: { maxPayloadBytes: 1_000 } });
    const res = await fetch(`${server.httpUrl}/trpc/publish`, {
      method: 'POST',
      headers: { authorization: 'Bearer user:bob', 'content-type': 'application/json' },
      body: JSON.stringify({ json: { channel: 'x'.repeat(5_000), n: 1 } }),
    });
    expect(res.status).toBe(413);
  });

  it('serves subscriptions as server-sent events over plain HTTP, authenticated, unbuffered', async () => {
    await using server = await startTestServer();
    const url = `${server.httpUrl}/trpc/onEvent?input=${encodeURIComponent('{"json":{"channel":"c"}}')}`;
    // Without a token the stream says UNAUTHORIZED and ends, with no event in it.
    const refused = await (await fetch(url, { headers: { accept: 'text/event-stream' } })).text();
    expect(refused).toContain('event: serialized-error');
    expect(refused).toContain('"code":"UNAUTHORIZED"');
    expect(refused).not.toContain('id:');

    const abort = new AbortController();
    const params = encodeURIComponent(JSON.stringify({ token: 'user:bob' }));
    const res = await fetch(`${url}&connectionParams=${params}`, {
      headers: { accept: 'text/event-stream' },
      signal: abort.signal,
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    expect(res.headers.get('cache-control')).toContain('no-cache');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const publisher = setInterval(() => void server.broker.publish('c', { hello: 'sse' }), 50);
    try {
      while (!text.includes('hello')) text += (await reader.read()).value ?? '';
    } finally {
      clearInterval(publisher);
      abort.abort();
    }
    // A tracked event: the id line is what EventSource resends as Last-Event-ID.
    expect(text).toMatch(/id: \S+/);
    expect(text).toContain('"hello":"sse"');
  });

  it('serves static files with their content type and never outside the directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duplex-static-'));
    await writeFile(join(dir, 'index.html'), '<h1>hi</h1>');
    await using server = await startTestServer({ staticDir: dir });
    const page = await fetch(`${server.httpUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toBe('<h1>hi</h1>');
    const traversal = await fetch(`${server.httpUrl}/..%2f..%2f..%2fetc%2fpasswd`);
    expect(traversal.status).toBe(404);
    await rm(dir, { recursive: true });
  });

  it('refuses a staticDir that does not exist, naming it', () => {
    const missing = join(tmpdir(), 'duplex-no-such-dir');
    expect(() =>
      createDuplexServer({ router: appRouter, authenticate: tokenAuth, staticDir: missing }),
    ).toThrow(`staticDir "${missing}" is not a directory`);
  });

  it('returns 404 for unknown paths without a static directory', async () => {
    await using server = await startTestServer();
    const res = await fetch(`${server.httpUrl}/nothing-here`);
    expect(res.status).toBe(404);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
