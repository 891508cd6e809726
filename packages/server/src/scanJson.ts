/** What {@link scanJson} learns of a frame without parsing it. */
export interface JsonScan {
  /** `[`/`{` nest deeper than the limit somewhere (outside strings). */
  tooDeep: boolean;
  /** Elements of a top-level array (a batch's calls), else 1. */
  items: number;
}

/**
 * One linear pass over a JSON text that counts nesting depth outside strings, stopping as soon
 * as it passes `maxDepth`, and counts a top-level array's elements. It runs before `JSON.parse`,
 * so a frame nested 100,000 levels deep costs a scan (about a millisecond per MB) instead of a
 * parse and everything after it, and a batch is priced by its calls before it is parsed. It
 * does not validate: text it passes may still fail to parse.
 */
export function scanJson(text: string, maxDepth: number): JsonScan {
  let depth = 0;
  let items = 0;
  let topArray = false;
  let inString = false;
  let sawValue = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    switch (c) {
      case 0x22:
        inString = true;
        if (depth === 1) sawValue = true;
        break;
      case 0x5b:
      case 0x7b:
        if (depth === 0 && c === 0x5b) topArray = true;
        else if (depth === 1) sawValue = true;
        if (++depth > maxDepth) return { tooDeep: true, items: 1 };
        break;
      case 0x5d:
      case 0x7d:
        depth--;
        break;
      case 0x2c:
        if (depth === 1) items++;
        break;
      case 0x20:
      case 0x0a:
      case 0x0d:
      case 0x09:
        break;
      default:
        if (depth === 1) sawValue = true;
    }
  }
  return { tooDeep: false, items: topArray ? items + (sawValue ? 1 : 0) : 1 };
}
