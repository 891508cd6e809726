import { createMemoryBroker } from '@duplex/server';
import { describe, expect, it, vi } from 'vitest';
import { startTestServer, testClient } from './fixtures';
import { collector, deferred } from './helpers';

type Event = { id: string; data: { n: number } };

describe('failover between nodes', () => {
  it('moves to the next listed node when its node goes away, and resumes there', async () => {
    // Two nodes on one broker, as two processes on one Redis would be.
    const broker = createMemoryBroker();
    await using a = await startTestServer({ broker });
    await using b = await startTestServer({ broker });
    await using client = testClient('', { url: [a.wsUrl, b.wsUrl] });
    const seen = collector<Event>();
    const started = deferred();
    client.onEvent.subscribe(
      { channel: 'room' },
      { onData: (e) => seen.push(e as Event), onStarted: () => started.resolve() },
    );
    await started.promise;
    expect([a.server.connections, b.server.connections]).toEqual([1, 0]);
    await broker.publish('room', { n: 1 });
    await vi.waitFor(() => expect(seen.items).toHaveLength(1));

    await a.stop();
    // Published while the client is between nodes: replayed on the other one.
    await broker.publish('room', { n: 2 });
    await broker.publish('room', { n: 3 });
    await vi.waitFor(() => expect(b.server.connections).toBe(1));
    await vi.waitFor(() => expect(seen.items.map((e) => e.data.n)).toEqual([1, 2, 3]));
    await broker.publish('room', { n: 4 });
    await vi.waitFor(() => expect(seen.items.map((e) => e.data.n)).toEqual([1, 2, 3, 4]));
    expect(await client.whoami.query()).toMatchObject({ id: 'alice' });
  });

  it('asks a URL function where to go before every attempt', async () => {
    await using a = await startTestServer();
    await using b = await startTestServer();
    const asked: (string | null)[] = [];
    await using client = testClient('', {
      url: ({ previousUrl }) => {
        asked.push(previousUrl);
        return previousUrl === a.wsUrl ? b.wsUrl : a.wsUrl;
      },
    });
    expect(await client.whoami.query()).toMatchObject({ id: 'alice' });
    await a.stop();
    await vi.waitFor(() => expect(b.server.connections).toBe(1));
    expect(asked.slice(0, 2)).toEqual([null, a.wsUrl]);
  });
});
