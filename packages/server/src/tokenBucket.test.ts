import { describe, expect, it } from 'vitest';
import { createTokenBucket } from './tokenBucket';

describe('createTokenBucket', () => {
  it('allows a burst up to capacity, then refills at the rate', () => {
    let now = 0;
    const bucket = createTokenBucket({ ratePerSecond: 10, capacity: 5, now: () => now });
    for (let i = 0; i < 5; i++) expect(bucket.take(1)).toBe(true);
    expect(bucket.take(1)).toBe(false);
    now += 1_000;
    expect(bucket.take(1)).toBe(true);
  });

  it('goes into debt on refused takes, and recovers after a pause', () => {
    let now = 0;
    const bucket = createTokenBucket({ ratePerSecond: 10, capacity: 5, now: () => now });
    bucket.take(5);
    for (let i = 0; i < 8; i++) bucket.take(1);
    expect(bucket.debt).toBe(8);
    now += 2_000;
    expect(bucket.debt).toBe(8);
    expect(bucket.take(1)).toBe(true);
  });

  it('charges a batch its full cost', () => {
    const bucket = createTokenBucket({ ratePerSecond: 1, capacity: 10, now: () => 0 });
    expect(bucket.take(10)).toBe(true);
    expect(bucket.take(1)).toBe(false);
  });
});
