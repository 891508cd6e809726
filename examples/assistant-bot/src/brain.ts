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
  text: string;
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

/** The Markdown files of `dir` (and one level below), cut into sections at headings. */
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
      const text = lines
        .join('\n')
        .replace(/```[\s\S]*?```/g, '')
        .trim();
      if (text)
        sections.push({
          file,
          heading,
          text,
          words: new Set(wordsOf(text)),
          titleWords: new Set(wordsOf(`${heading} ${file.replace(/\.md$/, '')}`)),
        });
      lines = [];
    };
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const match = /^#{1,3}\s+(.*)$/.exec(line);
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
}

/**
 * A local, deterministic brain: finds the docs section that shares the most words with the
 * question and streams its opening paragraph a few words at a time. No model, no network.
 */
export function createDocsBrain(opts: DocsBrainOptions): Brain {
  const sections = loadSections(opts.docsDir);
  const delay = opts.chunkDelayMs ?? 40;
  const perChunk = opts.wordsPerChunk ?? 3;
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
      ? `From ${best.file}, "${best.heading}": ${firstParagraphs(best.text, 600)}`
      : 'I answer questions about Duplex from its docs. Try asking how reconnection works.';
    const words = reply.split(/(?<=\s)/);
    for (let i = 0; i < words.length; i += perChunk) {
      signal.throwIfAborted();
      if (delay > 0) await sleep(delay, undefined, { signal });
      yield words.slice(i, i + perChunk).join('');
    }
  };
}

/** Whole paragraphs, as many as fit in `max` characters (at least one, cut if it is longer). */
function firstParagraphs(text: string, max: number): string {
  const paragraphs = text
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter(Boolean);
  let out = paragraphs[0] ?? '';
  for (const p of paragraphs.slice(1)) {
    if (out.length + p.length + 2 > max) break;
    out += `\n\n${p}`;
  }
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}
