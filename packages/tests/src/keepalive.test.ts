import { describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { startTestServer, testClient } from './fixtures';
import { closeCodeOf, openRawSocket, sleep } from './helpers';

describe('keepalive', () => {
  it('terminates a peer that stops answering pings, within timeout plus one interval', async () => {
    await using server = await startTestServer({
      keepAlive: { pingIntervalMs: 50, timeoutMs: 100 },
    });
    await using healthy = testClient(server.wsUrl);
    await healthy.whoami.query();
    // A half-open peer: the socket stays up but nothing answers.
    const silent = await openRawSocket(`${server.wsUrl}?connectionParams=1`, { autoPong: false });
    silent.send(JSON.stringify({ method: 'connectionParams', data: { token: 'user:silent' } }));
    const started = performance.now();
    const code = await closeCodeOf(silent);
    const took = performance.now() - started;
    expect(code).toBe(1006);
    expect(took).toBeLessThan(1_000);
    expect(server.server.metrics.reapedDeadPeers).toBe(1);
    await sleep(300);
    expect(healthy.$status.get().state).toBe('open');
    await expect(healthy.whoami.query()).resolves.toMatchObject({ id: 'alice' });
  });

  it('lets the client drop and replace a socket to a server that went silent', async () => {
    const silentServer = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => silentServer.once('listening', resolve));
    const { port } = silentServer.address() as { port: number };
    let connections = 0;
    silentServer.on('connection', () => connections++);
    await using client = testClient(`ws://127.0.0.1:${port}/trpc`, {
      keepAlive: { intervalMs: 50, pongTimeoutMs: 50 },
    });
    await vi.waitFor(() => expect(connections).toBeGreaterThanOrEqual(2), { timeout: 3_000 });
    await client.$close();
    await new Promise((resolve) => silentServer.close(resolve));
  });
});

describe('Node client', () => {
  it('connects on Node 20 without being handed a WebSocket', async () => {
    const major = Number(process.versions.node.split('.')[0]);
    expect(major).toBeGreaterThanOrEqual(20);
    // Node 20 has no global WebSocket: the client must bring `ws` itself.
    if (major === 20) expect(typeof globalThis.WebSocket).toBe('undefined');
    await using server = await startTestServer();
    await using client = testClient(server.wsUrl, { WebSocket: undefined });
    await expect(client.whoami.query()).resolves.toMatchObject({ id: 'alice' });
  });
});
