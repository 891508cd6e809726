import { describe, expect, it } from 'vitest';
import { chunksOf } from './brain';
import { layoutReply, ReplyLayout } from './replyParts';

const paragraph = (n: number, words: number) =>
  Array.from({ length: words }, (_, i) => `p${n}w${i}`).join(' ');
/** Six paragraphs of about 100 characters, in the brain's chunks (3 words, and at each break). */
const reply = Array.from({ length: 6 }, (_, n) => paragraph(n, 20)).join('\n\n');

describe('a reply laid out over several messages', () => {
  it('keeps a reply that fits whole, in one message', () => {
    expect(layoutReply(chunksOf(reply, 3), 10_000)).toEqual([chunksOf(reply, 3)]);
  });

  it('breaks between paragraphs, loses and repeats nothing, and fills each message', () => {
    const max = 300;
    const messages = layoutReply(chunksOf(reply, 3), max).map((m) => m.join(''));
    expect(messages.length).toBeGreaterThan(1);
    expect(messages.join('')).toBe(reply);
    for (const [i, text] of messages.entries()) {
      expect(text.length).toBeLessThanOrEqual(max);
      if (i < messages.length - 1) {
        // Every message but the last ends a paragraph and holds at least half the limit.
        expect(text).toMatch(/\n\n$/);
        expect(text.length).toBeGreaterThanOrEqual(new ReplyLayout(max).splitAt);
      }
    }
    expect(messages[1]).toMatch(/^p\d+w0 /);
  });

  it('breaks a paragraph longer than a message between words, never inside one', () => {
    const long = paragraph(0, 200);
    const messages = layoutReply(chunksOf(long, 3), 300).map((m) => m.join(''));
    expect(messages.join('')).toBe(long);
    for (const text of messages.slice(0, -1)) expect(text).toMatch(/ $/);
  });

  it('never breaks inside a fenced code block at a blank line in it', () => {
    const code = ['```ts', ...Array.from({ length: 12 }, (_, i) => `const x${i} = ${i};\n`), '```'];
    const text = `${paragraph(0, 50)}\n\n${code.join('\n')}\n\n${paragraph(1, 10)}`;
    const messages = layoutReply(chunksOf(text, 3), 600).map((m) => m.join(''));
    expect(messages.join('')).toBe(text);
    // Past half the limit inside the block, at its blank lines: the break waits for its end.
    expect(messages).toEqual([`${paragraph(0, 50)}\n\n${code.join('\n')}\n\n`, paragraph(1, 10)]);
  });

  it('cuts a chunk longer than half a message at whitespace, and a huge word between code points', () => {
    const layout = new ReplyLayout(20);
    expect(layout.pieceMax).toBe(10);
    expect(layout.pieces('aaaa bbbb cccc')).toEqual(['aaaa bbbb ', 'cccc']);
    expect(layout.pieces('😀'.repeat(8)).join('')).toBe('😀'.repeat(8));
    expect(layout.pieces('😀'.repeat(8)).every((p) => p.length <= 10)).toBe(true);
  });

  it('tells a finished message that was the whole reply from one that may go on', () => {
    const layout = new ReplyLayout(300);
    expect(layout.mayContinue('x'.repeat(149))).toBe(false);
    expect(layout.mayContinue('x'.repeat(150))).toBe(true);
  });
});
