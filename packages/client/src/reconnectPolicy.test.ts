import { describe, expect, it } from 'vitest';
import { createReconnectPolicy } from './reconnectPolicy';

describe('createReconnectPolicy', () => {
  it('draws the delay uniformly below a ceiling that doubles per attempt', () => {
    const high = createReconnectPolicy({
      baseDelayMs: 100,
      maxDelayMs: 10_000,
      random: () => 0.999,
    });
    expect([0, 1, 2, 3].map((a) => high.delayMs(a))).toEqual([99, 199, 399, 799]);
    const low = createReconnectPolicy({ random: () => 0 });
    expect(low.delayMs(5)).toBe(0);
  });

  it('caps the ceiling', () => {
    const policy = createReconnectPolicy({
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      random: () => 0.5,
    });
    expect(policy.delayMs(20)).toBe(15_000);
    expect(policy.delayMs(10_000)).toBe(15_000);
  });

  it('spreads clients out (full jitter)', () => {
    const policy = createReconnectPolicy({ baseDelayMs: 1_000 });
    const delays = new Set(Array.from({ length: 50 }, () => policy.delayMs(3)));
    expect(delays.size).toBeGreaterThan(40);
    for (const d of delays) expect(d).toBeLessThan(8_000);
  });
});
