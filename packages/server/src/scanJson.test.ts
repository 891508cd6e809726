import { describe, expect, it } from 'vitest';
import { scanJson as scanBytes } from './scanJson';

const scanJson = (text: string, maxDepth: number) => scanBytes(Buffer.from(text), maxDepth);

describe('scanJson', () => {
  it('counts the calls of a batch and one for anything else', () => {
    expect(scanJson('[{"id":1},{"id":2,"a":[1,2,3]},{"id":3}]', 64)).toEqual({
      tooDeep: false,
      items: 3,
    });
    expect(scanJson(' [ ] ', 64).items).toBe(0);
    expect(scanJson('[1]', 64).items).toBe(1);
    expect(scanJson('{"id":1,"a":[1,2]}', 64).items).toBe(1);
    expect(scanJson('not json, at all', 64).items).toBe(1);
  });

  it('ignores brackets, commas and escaped quotes inside strings, in any script', () => {
    const text = JSON.stringify([{ text: '[[[[,,,{{{' }, { text: 'a \\" quote ] , [ 日本語 🎉' }]);
    expect(scanJson(text, 3)).toEqual({ tooDeep: false, items: 2 });
  });

  it('stops at the first level past the limit', () => {
    expect(scanJson(`${'['.repeat(65)}${']'.repeat(65)}`, 64).tooDeep).toBe(true);
    expect(scanJson(`${'['.repeat(64)}${']'.repeat(64)}`, 64).tooDeep).toBe(false);
    expect(scanJson(`{"a":${'{"b":'.repeat(70)}1${'}'.repeat(70)}}`, 64).tooDeep).toBe(true);
  });
});
