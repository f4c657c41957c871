/**
 * Escaping of message text for the request log, from UTF-8 bytes to UTF-8 bytes, so that the text
 * of every relayed message can go into `server.log` without a string per line. It makes inert the
 * same characters as `escapeUnsafe` (`escape.ts`): C0 controls but tab (so `\n`, `\r`, ESC), DEL, C1
 * controls, the Unicode line and paragraph separators and the bidirectional overrides and
 * isolates. In text lines they are written exactly as `escapeUnsafe` writes them
 * (`\n`, `\x1b`, `\u202e`); in JSON lines as JSON escapes (`\n`, `\u001b`, `\u202e`, and `\"`,
 * `\\`), so the line stays valid JSON, parses back to the exact text, and shows nothing raw on a
 * terminal.
 *
 * Most text needs none of this: {@linkcode isPlainAscii} proves it four bytes at a time and the
 * caller copies the bytes as they are. Only text with a byte outside printable ASCII goes through
 * {@linkcode writeEscaped}, byte by byte (and, for invalid UTF-8, which the server never logs, by
 * way of a decoded string).
 *
 * @example
 * ```ts
 * import { isPlainAscii, MAX_ESCAPED_GROWTH, writeEscaped } from "./escape_bytes.ts";
 * const text = new TextEncoder().encode("hi\x1b[2J");
 * console.assert(!isPlainAscii(text, undefined, 0, text.length, "text"));
 * const out = new Uint8Array(text.length * MAX_ESCAPED_GROWTH);
 * const end = writeEscaped(out, 0, text, 0, text.length, "text");
 * console.assert(new TextDecoder().decode(out.subarray(0, end)) === "hi\\x1b[2J");
 * ```
 * @module
 */

import { isUtf8 } from "node:buffer";

/** The two file formats: text lines, or JSON Lines (the text inside a JSON string). */
export type EscapeFormat = "text" | "json";

/** The most bytes {@linkcode writeEscaped} writes per byte of text (`\u001b` for one byte). */
export const MAX_ESCAPED_GROWTH = 6;

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const HEX = new TextEncoder().encode("0123456789abcdef");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** True for a byte copied as it is: printable ASCII (and, in JSON, neither `"` nor `\`). */
function plainByte(byte: number, json: boolean): boolean {
  return byte >= 0x20 && byte < 0x7f && !(json && (byte === QUOTE || byte === BACKSLASH));
}

/**
 * True when `bytes[start, end)` are all printable ASCII (for `"json"`, without `"` and `\`):
 * text that goes into a line as it is. `words` is `bytes` seen as 32-bit words (`bytes.byteOffset`
 * a multiple of 4) or undefined; with it, the middle of the range is checked four bytes at a
 * time, twice as fast as byte by byte on 1 KiB lines.
 */
export function isPlainAscii(
  bytes: Uint8Array,
  words: Uint32Array | undefined,
  start: number,
  end: number,
  format: EscapeFormat,
): boolean {
  const json = format === "json";
  let i = start;
  const firstWord = (start + 3) >> 2;
  const lastWord = end >> 2;
  if (words !== undefined && lastWord > firstWord) {
    for (; i < firstWord << 2; i++) if (!plainByte(bytes[i] as number, json)) return false;
    // Per word, the high bit of a byte is set in `flags` when that byte is below 0x20 (x - 0x20
    // borrows, x itself < 0x80), above 0x7e (x + 1 reaches 0x80) or at 0x80 and up; in JSON also
    // when it is `"` or `\` (x XOR c is 0 and borrows). A borrow can only flag a byte above a
    // byte that matched, so "any byte flagged" is exact.
    if (json) {
      for (let w = firstWord; w < lastWord; w++) {
        const x = words[w] as number;
        const q = x ^ 0x22222222;
        const b = x ^ 0x5c5c5c5c;
        const flags = ((x - 0x20202020) & ~x) | (x + 0x01010101) | x |
          ((q - 0x01010101) & ~q) | ((b - 0x01010101) & ~b);
        if ((flags & 0x80808080) !== 0) return false;
      }
    } else {
      for (let w = firstWord; w < lastWord; w++) {
        const x = words[w] as number;
        if ((((x - 0x20202020) & ~x) | (x + 0x01010101) | x) & 0x80808080) return false;
      }
    }
    i = lastWord << 2;
  }
  for (; i < end; i++) if (!plainByte(bytes[i] as number, json)) return false;
  return true;
}

/**
 * Writes `bytes[start, end)` into `out` at `at`, escaped for a `format` line, and returns where
 * it ended. `out` must have room for {@linkcode MAX_ESCAPED_GROWTH} bytes per byte of text. Valid
 * UTF-8 is copied but for the characters to escape; invalid UTF-8 is first decoded with U+FFFD
 * in place of each bad sequence, so a JSON line is always valid JSON.
 */
export function writeEscaped(
  out: Uint8Array,
  at: number,
  bytes: Uint8Array,
  start: number,
  end: number,
  format: EscapeFormat,
): number {
  let source = bytes;
  let i = start;
  let stop = end;
  const view = bytes.subarray(start, end);
  if (!isUtf8(view)) {
    source = encoder.encode(decoder.decode(view));
    i = 0;
    stop = source.length;
  }
  const json = format === "json";
  let o = at;
  while (i < stop) {
    const byte = source[i] as number;
    if (byte < 0x80) {
      if (plainByte(byte, json) || (byte === 0x09 && !json)) {
        out[o++] = byte;
      } else {
        o = json ? writeJsonEscape(out, o, byte) : writeTextEscape(out, o, byte);
      }
      i++;
      continue;
    }
    const next = source[i + 1] ?? 0;
    if (byte === 0xc2 && next >= 0x80 && next <= 0x9f) {
      // A C1 control, U+0080–U+009F.
      o = json ? writeUnicodeEscape(out, o, next) : writeTextEscape(out, o, next);
      i += 2;
      continue;
    }
    if (byte === 0xe2) {
      const third = source[i + 2] ?? 0;
      if (
        (next === 0x80 && third >= 0xa8 && third <= 0xae) ||
        (next === 0x81 && third >= 0xa6 && third <= 0xa9)
      ) {
        // U+2028/U+2029 (separators), U+202A–U+202E and U+2066–U+2069 (bidirectional).
        o = writeUnicodeEscape(out, o, 0x2000 | ((next & 0x3f) << 6) | (third & 0x3f));
        i += 3;
        continue;
      }
    }
    out[o++] = byte;
    i++;
  }
  return o;
}

/** `\n`, `\r`, `\x1b` or `\xhh`, as `escapeUnsafe` (LogTape's sanitizer) writes them. */
function writeTextEscape(out: Uint8Array, o: number, code: number): number {
  out[o++] = BACKSLASH;
  if (code === 0x0a) {
    out[o++] = 0x6e; // n
  } else if (code === 0x0d) {
    out[o++] = 0x72; // r
  } else {
    out[o++] = 0x78; // x
    out[o++] = HEX[code >> 4] as number;
    out[o++] = HEX[code & 15] as number;
  }
  return o;
}

/** What `JSON.stringify` writes for a byte below 0x80 (`\"`, `\\`, `\n`, `\u001b` …), and `\u007f`. */
function writeJsonEscape(out: Uint8Array, o: number, code: number): number {
  const short = code === QUOTE || code === BACKSLASH ? code : code === 0x08
    ? 0x62 // b
    : code === 0x09
    ? 0x74 // t
    : code === 0x0a
    ? 0x6e // n
    : code === 0x0c
    ? 0x66 // f
    : code === 0x0d
    ? 0x72 // r
    : 0;
  if (short === 0) return writeUnicodeEscape(out, o, code);
  out[o++] = BACKSLASH;
  out[o++] = short;
  return o;
}

/** `\uhhhh`. */
function writeUnicodeEscape(out: Uint8Array, o: number, code: number): number {
  out[o++] = BACKSLASH;
  out[o++] = 0x75; // u
  out[o++] = HEX[(code >> 12) & 15] as number;
  out[o++] = HEX[(code >> 8) & 15] as number;
  out[o++] = HEX[(code >> 4) & 15] as number;
  out[o++] = HEX[code & 15] as number;
  return o;
}
