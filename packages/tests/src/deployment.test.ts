import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { DuplexClientError } from '@duplex/client';
import { createDuplexServer } from '@duplex/server';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { appRouter, testClient, tokenAuth } from './fixtures';
import { collector, sleep } from './helpers';
import { makeSelfSignedCert } from './tlsCert';

const listen = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
/** GET over plain HTTP: the status and the body. */
const fetchText = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
};

describe('TLS', () => {
  let cert: Awaited<ReturnType<typeof makeSelfSignedCert>>;
  beforeAll(async () => {
    cert = await makeSelfSignedCert();
  });
  afterAll(() => cert?.remove());

  it('serves https and wss to a Node client that trusts the certificate', async () => {
    await using server = createDuplexServer({
      router: appRouter,
      authenticate: tokenAuth,
      tls: { key: cert.key, cert: cert.cert },
      onError: () => {},
    });
    const { port, url } = await server.listen(0);
    expect(url).toBe(`https://127.0.0.1:${port}`);
    await using client = testClient(`wss://127.0.0.1:${port}/trpc`, { tls: { ca: cert.cert } });
    expect(await client.whoami.query()).toEqual({ id: 'alice', name: 'User alice' });
    const events = collector<unknown>();
    client.onEvent.subscribe({ channel: 'tls' }, { onData: ({ data }) => events.push(data) });
    await sleep(100);
    await server.broker.publish('tls', { over: 'wss' });
    await expect.poll(() => events.items).toEqual([{ over: 'wss' }]);

    const health = await new Promise<string>((resolve, reject) => {
      httpsRequest(`${url}/healthz`, { ca: cert.cert }, (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      })
        .on('error', reject)
        .end();
    });
    expect(JSON.parse(health)).toEqual({ status: 'ok' });
  });

  it('refuses a certificate the client does not trust, and never opens', async () => {
    await using server = createDuplexServer({
      router: appRouter,
      authenticate: tokenAuth,
      tls: { key: cert.key, cert: cert.cert },
      onError: () => {},
    });
    const { port } = await server.listen(0);
    await using client = testClient(`wss://127.0.0.1:${port}/trpc`);
    const states = new Set<string>();
    client.$status.subscribe((s) => states.add(s.state));
    await sleep(500);
    expect(states.has('open')).toBe(false);
    expect(server.connections).toBe(0);
  });
});

describe('attached to an existing server', () => {
  it('shares a node:http server with the app’s routes and its own WebSocket path', async () => {
    const app = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`app: ${req.url}`);
    });
    const appSockets = new WebSocketServer({ noServer: true });
    app.on('upgrade', (req, socket, head) => {
      if (req.url === '/app-ws') {
        appSockets.handleUpgrade(req, socket, head, (ws) => ws.send('hello from the app'));
      }
    });
    const duplex = createDuplexServer({
      router: appRouter,
      authenticate: tokenAuth,
      server: app,
      onError: () => {},
    });
    const port = await listen(app);
    const base = `http://127.0.0.1:${port}`;
    try {
      expect(await fetchText(`${base}/hello`)).toEqual({ status: 200, body: 'app: /hello' });
      await using client = testClient(`ws://127.0.0.1:${port}/trpc`);
      expect(await client.whoami.query()).toEqual({ id: 'alice', name: 'User alice' });
      const viaHttp = await fetch(`${base}/trpc/whoami`, {
        headers: { authorization: 'Bearer user:bob' },
      });
      expect(await viaHttp.json()).toMatchObject({ result: { data: { json: { id: 'bob' } } } });
      const appWs = new WebSocket(`ws://127.0.0.1:${port}/app-ws`);
      const greeting = await new Promise<string>((resolve) =>
        appWs.once('message', (data) => resolve(String(data))),
      );
      expect(greeting).toBe('hello from the app');
      appWs.close();
      await expect(duplex.listen(0)).rejects.toThrow('attached to your server');

      // Detached on close: the app's server keeps serving, now every path.
      await client.$close();
      await duplex.close({ drainTimeoutMs: 0 });
      expect(app.listening).toBe(true);
      expect(await fetchText(`${base}/trpc/whoami`)).toEqual({
        status: 200,
        body: 'app: /trpc/whoami',
      });
    } finally {
      appSockets.close();
      await closeServer(app);
    }
  });

  it('mounts on an Express app: both answer on one port, and auth still applies', async () => {
    const app = express();
    app.get('/api/hello', (_req, res) => {
      res.json({ hello: 'from express' });
    });
    const server = createServer(app);
    await using duplex = createDuplexServer({
      router: appRouter,
      authenticate: tokenAuth,
      server,
      onError: () => {},
    });
    const port = await listen(server);
    try {
      const hello = await fetch(`http://127.0.0.1:${port}/api/hello`);
      expect(await hello.json()).toEqual({ hello: 'from express' });
      await using client = testClient(`ws://127.0.0.1:${port}/trpc`);
      expect(await client.whoami.query()).toEqual({ id: 'alice', name: 'User alice' });
      await using stranger = testClient(`ws://127.0.0.1:${port}/trpc`, { token: 'nobody' });
      const refused = await stranger.whoami.query().catch((e: unknown) => e);
      expect((refused as DuplexClientError).code).toBe('UNAUTHORIZED');
      // Express's own 404 for what neither owns.
      expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
      expect(duplex.connections).toBe(1);
    } finally {
      await closeServer(server);
    }
  });

  it('refuses TLS or static files when attached, since those are the app server’s', () => {
    const server = createServer();
    expect(() =>
      createDuplexServer({ router: appRouter, authenticate: tokenAuth, server, staticDir: '.' }),
    ).toThrow('with `server` (attached), TLS and static files are the app server’s');
  });
});
