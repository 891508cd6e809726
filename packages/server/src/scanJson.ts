/** What {@link scanJson} learns of a frame without parsing it. */
export interface JsonScan {
  /** `[`/`{` nest deeper than the limit somewhere (outside strings). */
  tooDeep: boolean;
  /** Elements of a top-level array (a batch's calls), else 1. */
  items: number;
}

/**
 * One linear pass over a JSON frame's UTF-8 bytes that counts nesting depth outside strings,
 * stopping as soon as it passes `maxDepth`, and counts a top-level array's elements. It runs
 * before `JSON.parse`, so a frame nested 100,000 levels deep costs a scan (0.04 ms for 200 KB;
 * parsing it took 23 ms) instead of a parse and everything after it, and a batch is priced by
 * its calls before it is parsed. Bytes rather than a string: the characters it looks for are
 * ASCII, which never occur inside a multi-byte UTF-8 sequence, and reading bytes is about twice
 * as fast (a 1.3 MB array: 6 ms, `JSON.parse` 13 ms). It does not validate: a frame it passes
 * may still fail to parse.
 */
export function scanJson(bytes: Uint8Array, maxDepth: number): JsonScan {
  let depth = 0;
  let items = 0;
  let topArray = false;
  let inString = false;
  let sawValue = false;
  const length = bytes.length;
  for (let i = 0; i < length; i++) {
    const c = bytes[i] as number;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
      if (depth === 1) sawValue = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (depth === 0 && c === 0x5b) topArray = true;
      else if (depth === 1) sawValue = true;
      if (++depth > maxDepth) return { tooDeep: true, items: 1 };
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    } else if (c === 0x2c) {
      if (depth === 1) items++;
    } else if (depth === 1 && c > 0x20) {
      sawValue = true;
    }
  }
  return { tooDeep: false, items: topArray ? items + (sawValue ? 1 : 0) : 1 };
}
