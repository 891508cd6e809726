import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuplexRoute } from '@duplex/server';
import { describe, expect, it, vi } from 'vitest';
import { startTestServer, testClient } from './fixtures';
import { sleep } from './helpers';

/** A raw TCP connection to the server, with everything it has received so far. */
async function openSocket(port: number) {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('latin1');
  const state = { socket, received: '', closed: false };
  socket.on('data', (chunk: string) => {
    state.received += chunk;
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    state.closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return state;
}

/** Sends one request (with `Connection: close` unless it says otherwise) and returns the answer. */
async function rawRequest(port: number, head: string): Promise<string> {
  const state = await openSocket(port);
  const connection = /\r\nConnection:/i.test(head) ? '' : 'Connection: close\r\n';
  state.socket.write(`${head}\r\nHost: 127.0.0.1\r\n${connection}\r\n`);
  await new Promise((resolve) => state.socket.once('close', resolve));
  return state.received;
}

/** Sends `GET /healthz` on a kept-alive socket and waits for its answer. */
async function healthOn(state: Awaited<ReturnType<typeof openSocket>>) {
  const before = state.received.length;
  state.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  await vi.waitFor(() => expect(state.received.slice(before)).toContain('{"status":"ok"}'));
  return state.received.slice(before);
}

const healthy = async (httpUrl: string) => {
  const res = await fetch(`${httpUrl}/healthz`);
  return res.status;
};

async function staticDirWith(files: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'duplex-hostile-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

describe('hostile HTTP clients', () => {
  it('drops a static response whose file fails mid-serve and keeps serving', async () => {
    const dir = await staticDirWith({ 'gone.txt': 'soon gone', 'kept.txt': 'still here' });
    const onError = vi.fn();
    await using server = await startTestServer({ staticDir: dir, onError });
    // The file list is read at startup: this file is known, then fails to open.
    await rm(join(dir, 'gone.txt'));
    await expect(fetch(`${server.httpUrl}/gone.txt`).then((r) => r.text())).rejects.toThrow();
    const kept = await fetch(`${server.httpUrl}/kept.txt`);
    expect(await kept.text()).toBe('still here');
    expect(await healthy(server.httpUrl)).toBe(200);
    await rm(dir, { recursive: true });
  });

  it('serves the whole file for a range it cannot satisfy instead of throwing', async () => {
    const dir = await staticDirWith({ 'a.txt': '0123456789' });
    await using server = await startTestServer({ staticDir: dir });
    const res = await fetch(`${server.httpUrl}/a.txt`, { headers: { Range: 'bytes=5-2' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('0123456789');
    const part = await fetch(`${server.httpUrl}/a.txt`, { headers: { Range: 'bytes=2-4' } });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe('234');
    await rm(dir, { recursive: true });
  });

  it('answers 400 to a request target URL refuses, for requests and upgrades', async () => {
    const onError = vi.fn();
    await using server = await startTestServer({ onError });
    expect(await rawRequest(server.port, 'GET // HTTP/1.1')).toMatch(/^HTTP\/1\.1 400 /);
    const upgrade = await rawRequest(
      server.port,
      'GET //[ HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    );
    expect(upgrade).toMatch(/^HTTP\/1\.1 404 /);
    expect(await healthy(server.httpUrl)).toBe(200);
    expect(onError).not.toHaveBeenCalled();
  });

  it('destroys sockets over maxHttpConnections as accepted and keeps serving the others', async () => {
    await using server = await startTestServer({ limits: { maxHttpConnections: 2 } });
    const held = [await openSocket(server.port), await openSocket(server.port)];
    for (const state of held) await healthOn(state);
    const refused = await openSocket(server.port);
    refused.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await vi.waitFor(() => expect(refused.closed).toBe(true));
    expect(refused.received).toBe('');
    expect(server.server.metrics.refusedSockets).toBe(1);
    expect(await healthOn(held[0] as (typeof held)[0])).toMatch(/^HTTP\/1\.1 200 /);
    held[1]?.socket.destroy();
    await vi.waitFor(async () => expect(await healthy(server.httpUrl)).toBe(200));
    for (const state of held) state.socket.destroy();
  });

  it('caps sockets per client address, WebSocket and HTTP together', async () => {
    await using server = await startTestServer({ limits: { maxConnectionsPerIp: 2 } });
    await using client = testClient(server.wsUrl);
    await client.whoami.query();
    const held = await openSocket(server.port);
    await healthOn(held);
    const refused = await openSocket(server.port);
    await vi.waitFor(() => expect(refused.closed).toBe(true));
    expect(server.server.metrics.refusedSockets).toBe(1);
    await expect(client.whoami.query()).resolves.toMatchObject({ id: 'alice' });
    expect(await healthOn(held)).toMatch(/^HTTP\/1\.1 200 /);
    held.socket.destroy();
  });

  it('destroys a socket that pipelines past maxPipelinedRequests without reading', async () => {
    let served = 0;
    const big: DuplexRoute = {
      prefix: '/big',
      handle: (_req, res) => {
        served++;
        res.end('x'.repeat(256 * 1024));
      },
    };
    await using server = await startTestServer({
      routes: [big],
      limits: { maxPipelinedRequests: 4 },
    });
    const state = await openSocket(server.port);
    state.socket.pause();
    state.socket.write('GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(500));
    await vi.waitFor(() => expect(server.server.metrics.closedPipelining).toBe(1));
    expect(served).toBeLessThanOrEqual(4);
    // What reached the socket before it was destroyed is all the peer ever gets.
    state.socket.resume();
    await vi.waitFor(() => expect(state.closed).toBe(true));
    expect(state.received.length).toBeLessThan(5 * 256 * 1024);
    expect(await healthy(server.httpUrl)).toBe(200);
  });

  it('answers pipelined static requests in order, each file whole, opening each in its turn', async () => {
    const staticDir = await staticDirWith({ 'a.txt': 'a'.repeat(100_000), 'b.txt': 'bbb' });
    try {
      await using server = await startTestServer({ staticDir });
      const state = await openSocket(server.port);
      const get = (name: string) => `GET /${name} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
      state.socket.write(get('b.txt') + get('a.txt') + get('b.txt') + get('missing.txt'));
      await vi.waitFor(() => expect(state.received).toContain('Not found'));
      const bodies = state.received.split(/HTTP\/1\.1 /).slice(1);
      expect(bodies.map((b) => b.slice(0, 3))).toEqual(['200', '200', '200', '404']);
      expect(bodies[0]!.endsWith('\r\n\r\nbbb')).toBe(true);
      expect(bodies[1]!.endsWith(`\r\n\r\n${'a'.repeat(100_000)}`)).toBe(true);
      expect(bodies[2]!.endsWith('\r\n\r\nbbb')).toBe(true);
      state.socket.destroy();
    } finally {
      await rm(staticDir, { recursive: true });
    }
  });

  it('answers 405 with Allow to methods other than GET and HEAD, and reports nothing', async () => {
    const dir = await staticDirWith({ 'a.txt': 'a' });
    const onError = vi.fn();
    await using server = await startTestServer({ staticDir: dir, onError });
    for (const [method, path] of [
      ['POST', '/healthz'],
      ['DELETE', '/metrics'],
      ['PUT', '/a.txt'],
    ] as const) {
      const res = await fetch(`${server.httpUrl}${path}`, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
    }
    const head = await fetch(`${server.httpUrl}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    // A body cut off mid-upload, and garbage that is not HTTP, are the client's problem.
    const cut = await openSocket(server.port);
    cut.socket.write(
      'POST /trpc/boom HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"js',
    );
    await sleep(50);
    cut.socket.destroy();
    await sleep(50);
    expect(await rawRequest(server.port, 'NOT HTTP AT ALL')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await healthy(server.httpUrl)).toBe(200);
    expect(onError).not.toHaveBeenCalled();
    await rm(dir, { recursive: true });
  });
});
