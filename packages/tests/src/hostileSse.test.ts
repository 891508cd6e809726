import { describe, expect, it, vi } from 'vitest';
import { startTestServer } from './fixtures';

/** An open HTTP subscription to `onEvent`, read as text as it arrives. */
async function openStream(httpUrl: string, channel: string, headers: Record<string, string>) {
  const input = encodeURIComponent(JSON.stringify({ json: { channel } }));
  const abort = new AbortController();
  const res = await fetch(`${httpUrl}/trpc/onEvent?input=${input}`, {
    headers: { authorization: 'Bearer user:mallory', ...headers },
    signal: abort.signal,
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const stream = {
    res,
    text: '',
    /** Reads until `needle` has arrived. */
    async until(needle: string) {
      while (!stream.text.includes(needle)) {
        const chunk = await reader.read();
        if (chunk.done) throw new Error(`stream ended before ${needle}: ${stream.text}`);
        stream.text += chunk.value;
      }
    },
    close() {
      abort.abort();
    },
  };
  return stream;
}

/** The value of one metric line in a Prometheus text exposition. */
async function gauge(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}

const withoutAccept = {};
const withAccept = { accept: 'text/event-stream' };

describe('hostile HTTP subscriptions', () => {
  it('counts subscriptions without `Accept: text/event-stream` against the per-user cap and in /metrics', async () => {
    await using server = await startTestServer({ limits: { maxSubscriptionsPerConnection: 2 } });
    const first = await openStream(server.httpUrl, 'a', withoutAccept);
    const second = await openStream(server.httpUrl, 'b', withoutAccept);
    // tRPC streams a subscription whatever the request accepts.
    expect(first.res.headers.get('content-type')).toContain('text/event-stream');
    expect(first.res.headers.get('x-accel-buffering')).toBe('no');
    await vi.waitFor(async () =>
      expect(await gauge(server.httpUrl, 'duplex_subscriptions')).toBe(2),
    );

    const refused = await openStream(server.httpUrl, 'c', withoutAccept);
    await refused.until('TOO_MANY_REQUESTS');
    expect(refused.text).toContain('event: serialized-error');
    expect(await gauge(server.httpUrl, 'duplex_subscriptions')).toBe(2);

    first.close();
    await vi.waitFor(async () =>
      expect(await gauge(server.httpUrl, 'duplex_subscriptions')).toBe(1),
    );
    const third = await openStream(server.httpUrl, 'd', withoutAccept);
    await vi.waitFor(async () =>
      expect(await gauge(server.httpUrl, 'duplex_subscriptions')).toBe(2),
    );
    for (const stream of [second, third, refused]) stream.close();
    await vi.waitFor(async () =>
      expect(await gauge(server.httpUrl, 'duplex_subscriptions')).toBe(0),
    );
  });

  it('shares one cap between subscriptions with and without the event-stream Accept header', async () => {
    await using server = await startTestServer({ limits: { maxSubscriptionsPerConnection: 2 } });
    const plain = await openStream(server.httpUrl, 'a', withoutAccept);
    const sse = await openStream(server.httpUrl, 'b', withAccept);
    await vi.waitFor(() => expect(server.server.metrics.subscriptions).toBe(2));
    for (const headers of [withAccept, withoutAccept]) {
      const refused = await openStream(server.httpUrl, 'c', headers);
      await refused.until('TOO_MANY_REQUESTS');
      refused.close();
    }
    // Another user's budget is their own.
    const input = encodeURIComponent(JSON.stringify({ json: { channel: 'e' } }));
    const other = new AbortController();
    const res = await fetch(`${server.httpUrl}/trpc/onEvent?input=${input}`, {
      headers: { authorization: 'Bearer user:bob' },
      signal: other.signal,
    });
    expect(res.status).toBe(200);
    await vi.waitFor(() => expect(server.server.metrics.subscriptions).toBe(3));
    for (const stream of [plain, sse]) stream.close();
    other.abort();
    await vi.waitFor(() => expect(server.server.metrics.subscriptions).toBe(0));
  });
});
