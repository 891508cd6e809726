import { initTRPC } from '@trpc/server';
import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import { createFrameEncoder, WireFrame } from './frameEncoder';

const router = initTRPC.create().router({});

/** A frame's text, or what the encoder threw (a bigint without a transformer). */
function encoded(encode: () => unknown): string {
  try {
    return String(encode());
  } catch (error) {
    return `threw ${String(error)}`;
  }
}

describe('createFrameEncoder', () => {
  it('keeps the cache within cachedBytes, oldest events first, whatever the ids', () => {
    const cachedBytes = 64_000;
    const encoder = createFrameEncoder(router, { cachedBytes });
    const envelopes = Array.from({ length: 8 }, (_, i) =>
      encoder.envelope(`${i}`.repeat(2_000), undefined),
    );
    const events = Array.from({ length: 40 }, () => ({ text: 'e'.repeat(5_000) }));
    for (const [n, data] of events.entries()) {
      for (const envelope of envelopes) encoder.event(envelope, `e${n}`, data);
      expect(encoder.stats.bytes).toBeLessThanOrEqual(cachedBytes);
    }
    expect(encoder.stats.bytes).toBeGreaterThan(cachedBytes / 2);
    // The newest event is still served from the cache, the oldest was evicted.
    const { hits, misses } = encoder.stats;
    encoder.event(envelopes[0]!, 'e39', events[39]);
    expect(encoder.stats.hits).toBe(hits + 1);
    encoder.event(envelopes[0]!, 'e0', events[0]);
    expect(encoder.stats.misses).toBe(misses + 1);
  });

  it('encodes a result as message() does, byte for byte, with and without a transformer', () => {
    const superjsonRouter = initTRPC.create({ transformer: superjson }).router({});
    const values = [
      { text: 'hi' },
      { at: new Date(0), big: 1n, set: new Set([1]) },
      'text "quoted"',
      0,
      null,
      undefined,
      [1, { nested: undefined }],
    ];
    for (const encoder of [createFrameEncoder(router), createFrameEncoder(superjsonRouter)]) {
      for (const data of values) {
        for (const [id, jsonrpc] of [
          [7, undefined],
          ['a"b', '2.0'],
        ] as const) {
          const expected = encoded(() =>
            encoder.message({ id, jsonrpc, result: { type: 'data', data } }),
          );
          expect(encoded(() => encoder.result(id, jsonrpc, data))).toBe(expected);
          expect(encoded(() => encoder.data(encoder.envelope(id, jsonrpc), data))).toBe(expected);
        }
      }
    }
  });

  it('writes the same bytes with superjson as through its own serialize (the plain-JSON fast path)', () => {
    // A wrapper is not superjson itself, so it takes superjson's own path.
    const viaSuperjson = initTRPC
      .create({
        transformer: {
          serialize: (value: unknown) => superjson.serialize(value as never),
          deserialize: (value: unknown) => superjson.deserialize(value as never),
        },
      })
      .router({});
    const fast = createFrameEncoder(initTRPC.create({ transformer: superjson }).router({}));
    const slow = createFrameEncoder(viaSuperjson);
    const shared = { s: 1 };
    const values = [
      { text: 'x'.repeat(100) },
      { text: 'hi', by: 'u1', n: [1, 2.5, -3, 1e21], ok: true, none: null },
      'é漢🙂\ud800\u2028',
      -0,
      Number.NaN,
      [1, undefined],
      { a: shared, b: shared },
      JSON.parse('{"__proto__":{"x":1}}'),
      { at: new Date(0), m: new Map([['k', new Map([[1, 2]])]]) },
    ];
    for (const data of values) {
      for (const [id, jsonrpc] of [
        [7, undefined],
        ['a"b', '2.0'],
      ] as const) {
        const want = encoded(() => slow.result(id, jsonrpc, data));
        expect(encoded(() => fast.result(id, jsonrpc, data))).toBe(want);
        const frameOf = (encoder: typeof fast) =>
          encoded(() => {
            const frame = encoder.event(encoder.envelope(id, jsonrpc), 'e"1', data);
            return typeof frame === 'string' ? frame : frame.payload.toString();
          });
        expect(frameOf(fast)).toBe(frameOf(slow));
      }
    }
  });

  it('sends an event bigger than cachedBytes without keeping it', () => {
    const encoder = createFrameEncoder(router, { cachedBytes: 1_000 });
    const envelope = encoder.envelope(1, undefined);
    const frame = encoder.event(envelope, 'big', { text: 'b'.repeat(5_000) });
    expect(typeof frame === 'string' ? frame : frame.payload.toString()).toContain('bbbb');
    expect(encoder.stats.bytes).toBe(0);
  });
});

// `ws` exports it (lib/receiver.js); `@types/ws` does not declare it.
const { Receiver } = ws as unknown as {
  Receiver: new (opts: {
    isServer: boolean;
    maxPayload: number;
  }) => NodeJS.WritableStream & {
    on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
    on(event: 'error', listener: (error: Error) => void): void;
  };
};

/** What a `ws` client makes of `wire`: the messages its receiver emits, or its error. */
function receive(wire: Buffer): { text: string; isBinary: boolean }[] {
  const receiver = new Receiver({ isServer: false, maxPayload: 0 });
  const messages: { text: string; isBinary: boolean }[] = [];
  receiver.on('message', (data, isBinary) => messages.push({ text: data.toString(), isBinary }));
  receiver.on('error', (error) => {
    throw error;
  });
  receiver.write(wire);
  return messages;
}

describe('WireFrame', () => {
  // The length field changes form at 126 (16-bit) and 65,536 (64-bit): RFC 6455 5.2.
  it.each([
    [0, [0x81, 0]],
    [125, [0x81, 125]],
    [126, [0x81, 126, 0, 126]],
    [65_535, [0x81, 126, 0xff, 0xff]],
    [65_536, [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]],
    [100_000, [0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x86, 0xa0]],
  ])('frames a %i-byte payload after the header %j, and ws reads it back', (length, header) => {
    const payload = Buffer.alloc(length, 'a');
    const wire = new WireFrame(payload).wire!;
    expect([...wire.subarray(0, header.length)]).toEqual(header);
    expect(wire.subarray(header.length).equals(payload)).toBe(true);
    expect(receive(wire)).toEqual([{ text: payload.toString(), isBinary: false }]);
  });

  it('reads back as separate messages when frames are sent back to back', () => {
    const payloads = [125, 126, 65_535, 65_536].map((n) => Buffer.alloc(n, String(n % 10)));
    const wire = Buffer.concat(payloads.map((p) => new WireFrame(p).wire!));
    expect(receive(wire).map((m) => m.text)).toEqual(payloads.map((p) => p.toString()));
  });
});
