import { describe, expect, it, vi } from 'vitest';
import { composedTestClient } from './composedClientFixtures';
import { startTestServer } from './fixtures';
import { collector, sleep } from './helpers';
import { nginxAvailable, startNginx } from './nginx';

const hasNginx = nginxAvailable('the composed-client fallback suite');

describe.skipIf(!hasNginx)('a composed client behind a proxy that strips upgrades', () => {
  it('falls back to HTTP and SSE: calls are logged, events arrive and resume across a restart', async () => {
    await using server = await startTestServer();
    await using proxy = await startNginx({ upstreamPort: server.port, websocket: false });
    await using composed = composedTestClient(`ws://127.0.0.1:${proxy.port}/trpc`);
    const { client, connection, logOf } = composed;
    expect(await client.whoami.query()).toEqual({ id: 'alice', name: 'User alice' });
    expect(connection.transport.get()).toBe('http');
    expect(connection.status.get()).toEqual({ state: 'open', transport: 'http' });
    expect(server.server.connections).toBe(0);
    expect(logOf('whoami').map((e) => e.outcome)).toEqual([undefined, 'data']);
    const seen = collector<number>();
    client.onEvent.subscribe(
      { channel: 'composed-fallback' },
      { onData: ({ data }) => seen.push((data as { n: number }).n) },
    );
    // Live once a probe event comes through the event stream.
    await vi.waitFor(async () => {
      await server.broker.publish('composed-fallback', { n: -1 });
      expect(seen.items.length).toBeGreaterThan(0);
    });
    const total = 60;
    for (let n = 0; n < total; n++) {
      if (n === 20) void server.restart();
      await server.broker.publish('composed-fallback', { n });
      await sleep(10);
    }
    const sent = () => seen.items.filter((n) => n >= 0);
    await vi.waitFor(() => expect(sent()).toHaveLength(total), { timeout: 20_000 });
    expect(sent()).toEqual(Array.from({ length: total }, (_, n) => n));
    expect(connection.transport.get()).toBe('http');
  });

  it('stops on a refused token over HTTP as it does on the WebSocket', async () => {
    await using server = await startTestServer();
    await using proxy = await startNginx({ upstreamPort: server.port, websocket: false });
    await using composed = composedTestClient(`ws://127.0.0.1:${proxy.port}/trpc`, {
      token: 'nobody',
    });
    const error = await composed.client.whoami.query().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', retryable: false });
    expect(composed.connection.status.get()).toEqual({ state: 'unauthorized' });
  });
});
