/**
 * Byte-level line framing: turns a stream of chunks into lines without ever decoding or
 * buffering more than one line. The maximum line length is enforced before bytes are kept, so
 * a flood without newlines costs at most `maxLineBytes` of memory.
 * @module
 */

/** Returned by {@linkcode LineParser.next} for a line longer than the limit (already skipped). */
export const TOO_LONG: unique symbol = Symbol("line-too-long");

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const EMPTY = new Uint8Array(0);
/**
 * From this many unscanned bytes on, newlines are found in a decoded copy of the chunk. V8's
 * `Uint8Array.prototype.indexOf` compares byte by byte (about 0.5 ns a byte here), while a one-byte
 * string is searched with `memchr`: decoding 64 KiB and scanning it costs 8 µs against 34 µs for
 * 1 KiB lines. Below this size the decoding call costs more than it saves.
 */
const TEXT_SCAN_MIN_BYTES = 1024;
/**
 * Bytes decoded at a time. Windows keep the strings in V8's young generation: decoding whole
 * 256 KiB chunks made strings too big for it, and the garbage collector took a sixth of the time.
 */
const TEXT_WINDOW_BYTES = 16 * 1024;
/** Keeps a leading byte-order mark (as U+FEFF) so offsets are not shifted by it. */
const scanDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * A pull parser: `push` a chunk, then call `next` until it returns `null`. Pulling (rather than
 * callbacks) lets the caller pause between lines, e.g. for rate limiting, without copying the
 * rest of the chunk.
 *
 * Lines are returned without their `\n` (and without a `\r` before it). A returned line is a
 * view into the pushed chunk unless {@linkcode LineParser.carried} is true; it stays valid
 * only while the caller keeps that chunk unmodified.
 *
 * @example
 * ```ts
 * import { LineParser } from "./line_parser.ts";
 * const parser = new LineParser(1024);
 * parser.push(new TextEncoder().encode("hello\r\nwor"));
 * console.assert(new TextDecoder().decode(parser.next() as Uint8Array) === "hello");
 * console.assert(parser.next() === null); // "wor" is kept until its newline arrives
 * ```
 */
export class LineParser {
  readonly #maxLineBytes: number;
  #chunk: Uint8Array = EMPTY;
  #pos = 0;
  #carry: Uint8Array | null = null;
  #carryLength = 0;
  #discarding = false;
  #payloadRemaining = 0;
  /**
   * Bytes `#textStart` to `#textEnd` of the chunk, decoded, when every UTF-16 unit came from
   * exactly one byte (ASCII, or single bytes replaced by U+FFFD): string offsets are then byte
   * offsets. `undefined` when no window is decoded yet, `null` once a window did not map one to
   * one (the rest of the chunk is searched byte by byte).
   */
  #text: string | null | undefined;
  #textStart = 0;
  #textEnd = 0;
  /** True when the last line returned was assembled from more than one chunk (a copy). */
  carried = false;

  /**
   * Creates a parser for lines of at most `maxLineBytes`.
   * @param maxLineBytes longest line accepted, without its line ending
   */
  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** Offset in the current chunk just past the last line returned (its `\n` included). */
  get position(): number {
    return this.#pos;
  }

  /** Bytes of the current chunk not yet consumed. */
  get remaining(): number {
    return this.#chunk.length - this.#pos;
  }

  /** True while part of a line is held, waiting for its end. */
  get hasPartialLine(): boolean {
    return this.#carryLength > 0 || this.#discarding;
  }

  /** Gives the parser the next chunk. The previous chunk must have been consumed. */
  push(chunk: Uint8Array): void {
    this.#chunk = chunk;
    this.#pos = 0;
    this.#text = undefined;
  }

  /**
   * Returns the partial line held so far (at end of input a last line may lack its newline) and
   * forgets it, or `null` if there is none. An over-long partial line yields {@linkcode TOO_LONG}.
   */
  takePartial(): Uint8Array | typeof TOO_LONG | null {
    if (this.#discarding) {
      this.#discarding = false;
      return null;
    }
    if (this.#carryLength === 0) return null;
    return this.#finishCarried(new Uint8Array(0));
  }

  /**
   * Switches to raw mode for a sized payload: the next `bytes` bytes are returned by
   * {@linkcode LineParser.nextPayload} instead of being parsed as lines.
   */
  expectPayload(bytes: number): void {
    this.#payloadRemaining = bytes;
  }

  /** Bytes of a sized payload still expected. */
  get payloadRemaining(): number {
    return this.#payloadRemaining;
  }

  /** Returns the next piece of a sized payload from the current chunk, or `null` if none. */
  nextPayload(): Uint8Array | null {
    if (this.#payloadRemaining === 0 || this.#pos >= this.#chunk.length) return null;
    const end = Math.min(this.#chunk.length, this.#pos + this.#payloadRemaining);
    const piece = this.#chunk.subarray(this.#pos, end);
    this.#payloadRemaining -= piece.length;
    this.#pos = end;
    return piece;
  }

  /**
   * For callers that handle runs of plain lines without a view per line: the offset in the
   * current chunk of the `\n` ending the next line when that line lies wholly in the chunk
   * (nothing carried from the previous chunk, no over-long line being skipped, no payload
   * expected), else -1. Consume the line with {@linkcode LineParser.skipLine}; its length limit
   * is the caller's to check.
   */
  nextLineEnd(): number {
    if (this.#payloadRemaining > 0 || this.#carryLength > 0 || this.#discarding) return -1;
    if (this.#pos >= this.#chunk.length) return -1;
    return this.#findNewline(this.#chunk);
  }

  /** Consumes the line ending at `newline`, as returned by {@linkcode LineParser.nextLineEnd}. */
  skipLine(newline: number): void {
    this.#pos = newline + 1;
    this.carried = false;
  }

  /**
   * Returns the next complete line, {@linkcode TOO_LONG} once for each over-long line (whose
   * bytes are skipped up to its newline), or `null` when the chunk is used up.
   */
  next(): Uint8Array | typeof TOO_LONG | null {
    if (this.#payloadRemaining > 0) return null;
    const chunk = this.#chunk;
    while (this.#pos < chunk.length) {
      const newline = this.#findNewline(chunk);
      if (this.#discarding) {
        if (newline < 0) {
          this.#pos = chunk.length;
          return null;
        }
        this.#discarding = false;
        this.#pos = newline + 1;
        continue;
      }
      if (newline < 0) return this.#keepPartial(chunk);
      const start = this.#pos;
      this.#pos = newline + 1;
      if (this.#carryLength > 0) return this.#finishCarried(chunk.subarray(start, newline));
      this.carried = false;
      const end = newline > start && chunk[newline - 1] === CARRIAGE_RETURN ? newline - 1 : newline;
      if (end - start > this.#maxLineBytes) return TOO_LONG;
      return chunk.subarray(start, end);
    }
    return null;
  }

  /** Offset of the next `\n` in `chunk` from the current position, or -1. */
  #findNewline(chunk: Uint8Array): number {
    let from = this.#pos;
    for (;;) {
      let text = this.#text;
      if (text === null) return chunk.indexOf(NEWLINE, from);
      if (text === undefined || from < this.#textStart || from >= this.#textEnd) {
        // Decoded lazily, from where lines start: a payload before them is never decoded.
        const rest = chunk.length - from;
        if (rest < TEXT_SCAN_MIN_BYTES) return chunk.indexOf(NEWLINE, from);
        const end = from + Math.min(rest, TEXT_WINDOW_BYTES);
        text = scanDecoder.decode(chunk.subarray(from, end));
        if (text.length !== end - from) {
          this.#text = null;
          return chunk.indexOf(NEWLINE, from);
        }
        this.#text = text;
        this.#textStart = from;
        this.#textEnd = end;
      }
      const found = text.indexOf("\n", from - this.#textStart);
      if (found >= 0) return found + this.#textStart;
      from = this.#textEnd;
      if (from >= chunk.length) return -1;
    }
  }

  #keepPartial(chunk: Uint8Array): typeof TOO_LONG | null {
    const rest = chunk.length - this.#pos;
    // One byte more than the limit is allowed: it may be the `\r` of a `\r\n`.
    if (this.#carryLength + rest > this.#maxLineBytes + 1) {
      this.#carryLength = 0;
      this.#carry = null;
      this.#discarding = true;
      this.#pos = chunk.length;
      return TOO_LONG;
    }
    const needed = this.#carryLength + rest;
    if (this.#carry === null || this.#carry.length < needed) {
      const grown = new Uint8Array(Math.min(this.#maxLineBytes + 1, Math.max(needed, 256) * 2));
      if (this.#carry !== null) grown.set(this.#carry.subarray(0, this.#carryLength));
      this.#carry = grown;
    }
    this.#carry.set(chunk.subarray(this.#pos), this.#carryLength);
    this.#carryLength = needed;
    this.#pos = chunk.length;
    return null;
  }

  #finishCarried(tail: Uint8Array): Uint8Array | typeof TOO_LONG {
    const carry = this.#carry as Uint8Array;
    let line = new Uint8Array(this.#carryLength + tail.length);
    line.set(carry.subarray(0, this.#carryLength));
    line.set(tail, this.#carryLength);
    this.#carryLength = 0;
    // Drop a large carry buffer so an idle connection does not keep it.
    if (carry.length > 4096) this.#carry = null;
    if (line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN) {
      line = line.subarray(0, line.length - 1);
    }
    this.carried = true;
    return line.length > this.#maxLineBytes ? TOO_LONG : line;
  }
}
