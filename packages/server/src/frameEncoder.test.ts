import { initTRPC } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { createFrameEncoder } from './frameEncoder';

const router = initTRPC.create().router({});

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

  it('sends an event bigger than cachedBytes without keeping it', () => {
    const encoder = createFrameEncoder(router, { cachedBytes: 1_000 });
    const envelope = encoder.envelope(1, undefined);
    const frame = encoder.event(envelope, 'big', { text: 'b'.repeat(5_000) });
    expect(typeof frame === 'string' ? frame : frame.payload.toString()).toContain('bbbb');
    expect(encoder.stats.bytes).toBe(0);
  });
});
