import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { chunksOf, createDocsBrain, forChat, markdownBlocks, wholeBlocks } from './brain';

const docsDir = fileURLToPath(new URL('../../../docs', import.meta.url));
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function ask(dir: string, question: string, opts: { maxChars?: number } = {}) {
  const chunks: string[] = [];
  const brain = createDocsBrain({ docsDir: dir, chunkDelayMs: 0, ...opts });
  for await (const chunk of brain(question, new AbortController().signal)) chunks.push(chunk);
  return { chunks, text: chunks.join('') };
}

async function docs(files: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'duplex-brain-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const table =
  '| limit | default |\n| --- | --- |\n| `maxTextLength` | 4,000 |\n| `sendBurst` | 10 |';
const code = '```ts\nconst a = 1;\n\nconst b = 2;\n```';

describe('the docs brain', () => {
  it('answers with whole paragraphs, never cut mid-word, however long the first one is', async () => {
    // The reply used to stop at 600 characters with "…", in the middle of a word.
    const long = Array.from({ length: 120 }, (_, i) => `word${i}`).join(' ');
    const dir = await docs({ 'guide.md': `# Reconnection\n\n${long}\n\nA second paragraph.\n` });
    const { text } = await ask(dir, 'how does reconnection work?');
    expect(text).toBe(`From guide.md, "Reconnection":\n\n${long}`);
    expect(text).not.toContain('…');
  });

  it('joins the lines the docs wrap, as a chat shows each newline as a break', async () => {
    const wrapped = 'Reconnection resumes every\nsubscription from its last event\nid.';
    const list = '- one item that goes\n  on and on\n- two';
    const dir = await docs({ 'guide.md': `# Reconnection\n\n${wrapped}\n\n${list}\n` });
    const { text } = await ask(dir, 'how does reconnection work?');
    expect(text).toBe(
      'From guide.md, "Reconnection":\n\nReconnection resumes every subscription from its last event id.\n\n- one item that goes on and on\n- two',
    );
  });

  it('keeps tables, lists and fenced code as Markdown, line by line', async () => {
    const list = '- one\n- two';
    const dir = await docs({
      'limits.md': `# Limits and defaults\n\nThe limits:\n\n${table}\n\n${list}\n\n${code}\n`,
    });
    const { text } = await ask(dir, 'what are the limits?', { maxChars: 2_000 });
    expect(text).toBe(
      `From limits.md, "Limits and defaults":\n\nThe limits:\n\n${table}\n\n${list}\n\n${code}`,
    );
  });

  it('reads a # in a code block as code, not as a heading', async () => {
    const shell = '```sh\n# start the server\nnpm start\n```';
    const dir = await docs({ 'start.md': `# Starting\n\nRun it:\n\n${shell}\n` });
    const { text } = await ask(dir, 'how do I start?', { maxChars: 2_000 });
    expect(text).toBe(`From start.md, "Starting":\n\nRun it:\n\n${shell}`);
  });

  it('streams chunks that end at whitespace and at each paragraph break', async () => {
    const { chunks, text } = await ask(docsDir, 'how does reconnection work?');
    expect(text).toContain('reconnection.md');
    for (const chunk of chunks.slice(0, -1)) expect(chunk).toMatch(/\s$/);
    // Every paragraph break of the reply falls between two chunks.
    let at = 0;
    const ends = new Set(chunks.map((c) => (at += c.length)));
    for (const match of text.matchAll(/\n\n/g)) expect(ends.has(match.index + 2)).toBe(true);
  });

  it('answers every docs question with whole blocks of the section, as written', async () => {
    for (const question of [
      'how does reconnection work?',
      'what are the limits and their defaults?',
      'how do I mount the chat module?',
      'explain the delivery contract in detail',
      'how do tokens refresh?',
    ]) {
      const { text } = await ask(docsDir, question);
      const [, file, body] = /^From (.+?), ".*?":\n\n([\s\S]*)$/.exec(text) ?? [];
      expect(body, question).toBeTruthy();
      // Each block is one of the file's blocks (links to other pages shown as their text).
      const source = markdownBlocks(await readFile(join(docsDir, file!), 'utf8')).map(forChat);
      for (const block of markdownBlocks(body!)) expect(source, question).toContain(block);
    }
  });
});

describe('Markdown blocks', () => {
  it('cuts at blank lines outside fenced code only', () => {
    expect(markdownBlocks(`a\nb\n\n${code}\n\n\n${table}\n`)).toEqual(['a\nb', code, table]);
  });

  it('takes whole blocks while they fit, and the first one always', () => {
    expect(wholeBlocks(['x'.repeat(50), 'y'], 10)).toBe('x'.repeat(50));
    expect(wholeBlocks(['aa', 'bb', 'cc'], 8)).toBe('aa\n\nbb');
    // What a colon announces comes with it.
    expect(wholeBlocks(['It holds:', 'x'.repeat(50), 'more'], 20)).toBe(
      `It holds:\n\n${'x'.repeat(50)}`,
    );
  });

  it('chunks text into words with their whitespace, joined back exactly', () => {
    const text = 'one two three four\n\nfive';
    expect(chunksOf(text, 3)).toEqual(['one two three ', 'four\n\n', 'five']);
    expect(chunksOf(text, 3).join('')).toBe(text);
  });
});
