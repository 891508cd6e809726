import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { startTestServer, testClient } from './fixtures';
import { openAuthedRawSocket } from './helpers';

/** mulberry32: a small seeded PRNG, so a failing run can be replayed from its seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function frames(random: () => number) {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
  const text = (max: number) =>
    Array.from({ length: Math.floor(random() * max) }, () =>
      String.fromCharCode(32 + Math.floor(random() * 0x24f)),
    ).join('');
  const value = (depth: number): unknown => {
    switch (pick(['null', 'num', 'str', 'obj', 'arr', 'bool', 'big'] as const)) {
      case 'null':
        return null;
      case 'num':
        return pick([0, -1, 1.5, 2 ** 53, Number.MAX_VALUE, -0]);
      case 'big':
        return 'x'.repeat(Math.floor(random() * 5_000));
      case 'str':
        return text(20);
      case 'bool':
        return random() < 0.5;
      case 'obj':
        return depth > 3
          ? {}
          : Object.fromEntries(
              Array.from({ length: 3 }, () => [
                pick(['json', 'meta', '__proto__', 'constructor', text(5)]),
                value(depth + 1),
              ]),
            );
      case 'arr':
        return depth > 3
          ? []
          : Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
    }
  };
  const message = () => ({
    id: pick([null, 1, 2, 'a', -5, 1.5, {}, [], undefined, 2 ** 60]),
    jsonrpc: pick([undefined, '2.0', 3]),
    method: pick([
      'query',
      'mutation',
      'subscription',
      'subscription.stop',
      'connectionParams',
      'reconnect',
      text(8),
      7,
    ]),
    params: pick([
      undefined,
      null,
      'params',
      {
        path: pick([
          'whoami',
          'echo',
          'onEvent',
          'publish',
          'boom',
          'nope',
          '__proto__',
          '',
          text(6),
        ]),
        input: value(0),
      },
      {
        path: 'onEvent',
        input: { json: { channel: text(4), lastEventId: pick([null, 'x:1', text(5), 5]) } },
        lastEventId: pick([undefined, 3, 'a:b']),
      },
      { path: 'echo', input: { json: { text: text(10) }, meta: value(1) } },
    ]),
  });
  return (): string | Buffer => {
    switch (pick(['garbage', 'json', 'message', 'batch', 'ping', 'deep', 'binary'] as const)) {
      case 'garbage':
        return text(200);
      case 'json':
        return JSON.stringify(value(0));
      case 'message':
        return JSON.stringify(message());
      case 'batch':
        return JSON.stringify(Array.from({ length: Math.floor(random() * 6) }, message));
      case 'ping':
        return pick(['PING', 'PONG', 'ping', '']);
      case 'deep':
        return `${'['.repeat(2_000)}${']'.repeat(pick([0, 2_000]))}`;
      case 'binary':
        return Buffer.from(
          Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)),
        );
    }
  };
}

describe('malformed frames', () => {
  it('survives thousands of random and invalid frames while other clients carry on', async () => {
    const seed = Number(process.env.DUPLEX_FUZZ_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    const next = frames(random);
    const serverErrors: unknown[] = [];
    await using server = await startTestServer({
      // Rate limits out of the way (the socket's and its user's): this is about parsing.
      limits: {
        callsPerSecond: 1_000_000,
        burstCalls: 1_000_000,
        userCallsPerSecond: 1_000_000,
        userBurstCalls: 1_000_000,
      },
      onError: (report) => serverErrors.push(report.error),
    });
    await using bystander = testClient(server.wsUrl);
    const frameCount = 3_000;
    let socket: WebSocket = await openAuthedRawSocket(server.wsUrl);
    let reopened = 0;
    let bystanderCalls = 0;
    for (let i = 0; i < frameCount; i++) {
      if (socket.readyState !== socket.OPEN) {
        socket = await openAuthedRawSocket(server.wsUrl);
        reopened++;
      }
      socket.send(next());
      if (i % 100 === 0) {
        expect(await bystander.echo.query({ text: `still ${i}` }), `seed ${seed}`).toMatchObject({
          text: `still ${i}`,
        });
        bystanderCalls++;
      }
    }
    socket.close();
    expect(bystanderCalls).toBe(frameCount / 100);
    const health = await fetch(`${server.httpUrl}/healthz`);
    expect(health.status, `seed ${seed}`).toBe(200);
    await expect(bystander.whoami.query()).resolves.toMatchObject({ id: 'alice' });
    expect(server.server.metrics.framesIn).toBeGreaterThanOrEqual(frameCount);
    // `boom` is the only procedure that throws an unexpected error on purpose.
    const unexpected = serverErrors.filter(
      (e) => !String((e as Error).cause ?? e).includes('hunter2'),
    );
    expect(unexpected, `seed ${seed}`).toEqual([]);
    console.info(
      `[measure] fuzz seed ${seed}: ${frameCount} frames, fuzz socket reopened ${reopened} times`,
    );
  });
});
