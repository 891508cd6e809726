/**
 * How a reply longer than one chat message is laid out over several (issue 18: replies were
 * cut mid-word). A reply goes out as its brain's chunks, each appended whole (a chunk longer
 * than half a message is first cut at whitespace). A new message starts:
 *
 * - at a paragraph break (a blank line outside a fenced code block) once the message holds
 *   half of `maxChars`, or
 * - before a chunk that would take it past `maxChars`.
 *
 * So nothing is cut inside a word (unless one "word" is longer than half a message), a
 * paragraph or code block of up to half a message is never broken (the brain's chunks end at
 * paragraph breaks), and every message but the last holds at least half of `maxChars`: a
 * finished message shorter than that was the whole reply, which lets a bot that answers a
 * question again tell a reply it finished from one it must continue.
 */
export class ReplyLayout {
  /** A message this long or longer ends at the next paragraph break. */
  readonly splitAt: number;
  /** The longest piece a chunk goes out as. */
  readonly pieceMax: number;
  private length = 0;
  /** The current message's last (incomplete) line, and whether a code fence is open. */
  private line = '';
  private previousLineBlank = false;
  private inFence = false;

  constructor(readonly maxChars: number) {
    this.splitAt = Math.floor(maxChars / 2);
    this.pieceMax = maxChars - this.splitAt;
  }

  /** The pieces `chunk` goes out as: itself, or cut at whitespace into pieces of `pieceMax`. */
  pieces(chunk: string): string[] {
    if (chunk.length <= this.pieceMax) return [chunk];
    const out: string[] = [];
    let current = '';
    for (const word of chunk.split(/(?<=\s)/)) {
      if (current && current.length + word.length > this.pieceMax) {
        out.push(current);
        current = '';
      }
      if (word.length <= this.pieceMax) {
        current += word;
        continue;
      }
      // One word longer than a piece: cut between code points.
      const points = Array.from(word);
      for (let i = 0; i < points.length; ) {
        let piece = '';
        while (i < points.length && (!piece || piece.length + points[i]!.length <= this.pieceMax))
          piece += points[i++];
        out.push(piece);
      }
    }
    if (current) out.push(current);
    return out;
  }

  /** Whether `piece` must start a new message rather than go on in the current one. */
  startsNewMessage(piece: string): boolean {
    if (this.length === 0) return false;
    if (this.length + piece.length > this.maxChars) return true;
    return this.length >= this.splitAt && this.atParagraphBreak();
  }

  /** Counts `piece` into the current message. */
  add(piece: string): void {
    this.length += piece.length;
    const lines = (this.line + piece).split('\n');
    this.line = lines.pop()!;
    for (const line of lines) {
      if (/^\s*(`{3,}|~{3,})/.test(line)) this.inFence = !this.inFence;
      this.previousLineBlank = line.trim() === '';
    }
  }

  /** Starts counting a new message. */
  newMessage(): void {
    this.length = 0;
    this.line = '';
    this.previousLineBlank = false;
    this.inFence = false;
  }

  /** Whether a finished message with `text` may have been continued in another (see above). */
  mayContinue(text: string): boolean {
    return text.length >= this.splitAt;
  }

  private atParagraphBreak(): boolean {
    return !this.inFence && this.line.trim() === '' && this.previousLineBlank;
  }
}

/** `chunks` laid out as {@link ReplyLayout} sends them: each message's pieces. */
export function layoutReply(chunks: Iterable<string>, maxChars: number): string[][] {
  const layout = new ReplyLayout(maxChars);
  const messages: string[][] = [[]];
  for (const chunk of chunks) {
    for (const piece of layout.pieces(chunk)) {
      if (layout.startsNewMessage(piece)) {
        layout.newMessage();
        messages.push([]);
      }
      layout.add(piece);
      messages.at(-1)!.push(piece);
    }
  }
  return messages;
}
