import { describe, expect, it } from 'vitest';
import { inVersionRange } from './versionRange';

describe('inVersionRange', () => {
  const range = { min: [8, 18, 0], belowMajor: 9 } as const;

  it('takes the minimum and everything above it below the next major', () => {
    for (const v of ['8.18.0', '8.18.3', '8.23.0', '8.100.1'])
      expect(inVersionRange(v, range)).toBe(true);
  });

  it('refuses versions below the minimum, at or past the excluded major, and non-versions', () => {
    for (const v of ['8.17.9', '7.99.0', '9.0.0', '10.1.0', 'next', ''])
      expect(inVersionRange(v, range)).toBe(false);
  });

  it('compares the patch only when major and minor equal the minimum', () => {
    const patchRange = { min: [11, 22, 1], belowMajor: 12 } as const;
    expect(inVersionRange('11.22.0', patchRange)).toBe(false);
    expect(inVersionRange('11.22.1', patchRange)).toBe(true);
    expect(inVersionRange('11.23.0', patchRange)).toBe(true);
    expect(inVersionRange('11.25.2-canary.3', patchRange)).toBe(true);
  });
});
