import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * What answers a question: an async generator of text chunks. It must stop when `signal`
 * aborts (the asker cancelled), and should be deterministic for a given question so that a
 * restarted bot can pick an interrupted reply up where it stopped.
 */
export type Brain = (question: string, signal: AbortSignal) => AsyncIterable<string>;

interface Section {
  file: string;
  heading: string;
  /** Its Markdown blocks (paragraphs, lists, tables, fenced code), as written. */
  blocks: string[];
  /** Words of its prose (code left out). */
  words: Set<string>;
  /** Words of the heading and the file name, which count more. */
  titleWords: Set<string>;
}

const stopWords = new Set(
  'a an and are as at be by can do does for from how i in is it me my of on or the to what when where which who why will with you your'.split(
    ' ',
  ),
);
const wordsOf = (text: string) =>
  text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 1 && !stopWords.has(w));

const fenceLine = /^\s*(`{3,}|~{3,})/;

/**
 * Markdown cut into blocks at blank lines, each as written: a fenced code block stays one
 * block whatever blank lines it holds, and a table or a list keeps its lines.
 */
export function markdownBlocks(text: string): string[] {
  const blocks: string[] = [];
  let lines: string[] = [];
  let fence: string | null = null;
  const flush = () => {
    const block = lines.join('\n').replace(/\s+$/, '');
    if (block.trim()) blocks.push(block);
    lines = [];
  };
  for (const line of text.split('\n')) {
    const marker = fenceLine.exec(line)?.[1];
    if (fence !== null) {
      lines.push(line);
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) {
        // A closing fence has nothing after its marker.
        if (!line.trim().slice(marker.length)) fence = null;
      }
    } else if (marker) {
      fence = marker;
      lines.push(line);
    } else if (line.trim() === '') {
      flush();
    } else {
      lines.push(line);
    }
  }
  flush();
  return blocks;
}

/** A line that starts a list item, a table row, a quote or a heading: it keeps its own line. */
const ownLine = /^\s*([-*+]\s|\d+[.)]\s|\||>|#)/;

/**
 * A block as a chat message shows it. Lines the docs wrap at 100 columns are joined (a chat
 * renders each newline as a break), except where a line starts a list item, a table row, a
 * quote or a heading; fenced and indented code stays as written. Links to other docs pages
 * become their text.
 */
export const forChat = (block: string) => {
  const lines = block.split('\n');
  if (fenceLine.test(block) || lines.every((l) => /^( {4}|\t)/.test(l))) return block;
  const joined: string[] = [];
  for (const line of lines) {
    if (joined.length === 0 || ownLine.test(line)) joined.push(line);
    else joined[joined.length - 1] += ` ${line.trim()}`;
  }
  return joined.join('\n').replace(/\[([^\]]+)\]\((?![a-z][a-z0-9+.-]*:|\/)[^)\s]+\)/gi, '$1');
};

/** The Markdown files of `dir` (and below), cut into sections at headings. */
function loadSections(dir: string): Section[] {
  const files = readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
    .map((entry) => join(entry.parentPath, entry.name));
  return files.flatMap((path) => {
    const file = path.slice(dir.length + 1);
    const sections: Section[] = [];
    let heading = file;
    let lines: string[] = [];
    const flush = () => {
      // Images point at files beside the docs, which a chat message cannot show.
      const blocks = markdownBlocks(lines.join('\n'))
        .filter((b) => !/^!\[[^\]]*\]\([^)]*\)$/.test(b.trim()))
        .map(forChat);
      const prose = blocks.filter((b) => !fenceLine.test(b)).join('\n');
      if (blocks.length)
        sections.push({
          file,
          heading,
          blocks,
          words: new Set(wordsOf(prose)),
          titleWords: new Set(wordsOf(`${heading} ${file.replace(/\.md$/, '')}`)),
        });
      lines = [];
    };
    let inFence = false;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (fenceLine.test(line)) inFence = !inFence;
      const match = inFence ? null : /^#{1,3}\s+(.*)$/.exec(line);
      if (match) {
        flush();
        heading = match[1]!;
      } else lines.push(line);
    }
    flush();
    return sections;
  });
}

export interface DocsBrainOptions {
  /** The folder of Markdown files it answers from. */
  docsDir: string;
  /** Pause between chunks, as a model would take to produce them. @default 40 */
  chunkDelayMs?: number;
  /** Words per chunk. @default 3 */
  wordsPerChunk?: number;
  /**
   * How long a reply grows: whole blocks (paragraphs, lists, tables, code) while they fit in
   * this many characters. The first block is always sent whole, however long, and so is a block
   * a colon introduces: nothing is cut.
   * @default 600
   */
  maxChars?: number;
}

/**
 * A local, deterministic brain: finds the docs section that shares the most words with the
 * question and streams its opening blocks, as Markdown, a few words at a time. No model, no
 * network. Chunks end at whitespace (never inside a word) and at each paragraph break.
 */
export function createDocsBrain(opts: DocsBrainOptions): Brain {
  const sections = loadSections(opts.docsDir);
  const delay = opts.chunkDelayMs ?? 40;
  const perChunk = opts.wordsPerChunk ?? 3;
  const maxChars = opts.maxChars ?? 600;
  return async function* answer(question, signal) {
    const asked = new Set(wordsOf(question));
    let best: Section | undefined;
    let bestScore = 0;
    for (const section of sections) {
      let score = 0;
      for (const word of asked) {
        if (section.words.has(word)) score += 1;
        if (section.titleWords.has(word)) score += 3;
      }
      if (score > bestScore) {
        best = section;
        bestScore = score;
      }
    }
    const reply = best
      ? `From ${best.file}, "${best.heading}":\n\n${wholeBlocks(best.blocks, maxChars)}`
      : 'I answer questions about Duplex from its docs. Try asking how reconnection works.';
    for (const chunk of chunksOf(reply, perChunk)) {
      signal.throwIfAborted();
      if (delay > 0) await sleep(delay, undefined, { signal });
      yield chunk;
    }
  };
}

/**
 * Whole blocks, as many as fit in `max` characters: at least the first, never cut, and the
 * block a colon introduces ("The contract holds:") whatever its length.
 */
export function wholeBlocks(blocks: readonly string[], max: number): string {
  let out = blocks[0] ?? '';
  for (const block of blocks.slice(1)) {
    if (out.length + block.length + 2 > max && !out.endsWith(':')) break;
    out += `\n\n${block}`;
  }
  return out;
}

/**
 * `text` in chunks of `perChunk` words, each word with the whitespace after it: joined, they
 * are `text`. A chunk also ends at a paragraph break (after a blank line), so a reply that
 * must go on in another message can break between paragraphs (see `ReplyLayout`).
 */
export function chunksOf(text: string, perChunk: number): string[] {
  const chunks: string[] = [];
  let words: string[] = [];
  for (const word of text.split(/(?<=\s)/)) {
    words.push(word);
    // "\n" alone is a blank line's end ("end.\n", "\n"): the paragraph ends here.
    if (words.length >= perChunk || /^[ \t]*\n$/.test(word)) {
      chunks.push(words.join(''));
      words = [];
    }
  }
  if (words.length) chunks.push(words.join(''));
  return chunks;
}
