/**
 * Byte-level tests on received lines, so the hot path never decodes a plain chat line.
 * @module
 */

import { isUtf8 } from "node:buffer";
import { TOO_LONG } from "../protocol/line_parser.ts";

/** `:` — a line starting with one is a command (`::` starts a message with one colon). */
export const COLON = 0x3a;
/** `\n`, the end of every line. */
export const NEWLINE = 0x0a;
/** `\r`, dropped before a line's `\n`. */
export const CARRIAGE_RETURN = 0x0d;

/**
 * Whether the first `length` bytes of `chunk` are valid UTF-8. A short all-ASCII prefix (a typed
 * line, an echo round trip) is checked here: cheaper than the call into the runtime.
 */
export function isUtf8Prefix(chunk: Uint8Array, length: number): boolean {
  if (length <= 256) {
    let i = 0;
    while (i < length && (chunk[i] as number) < 0x80) i++;
    if (i === length) return true;
  }
  return isUtf8(length === chunk.length ? chunk : chunk.subarray(0, length));
}

/** True for a line that is a lobby message: not a command (`::text` is a message), not `exit`. */
export function isLobbyLine(line: Uint8Array | typeof TOO_LONG): boolean {
  return line !== TOO_LONG && line.length > 0 && (line[0] !== COLON || line[1] === COLON) &&
    !isExit(line);
}

/** True for a line that is a command: one colon first (`::text` is a message). */
export function isCommandLine(line: Uint8Array): boolean {
  return line.length > 0 && line[0] === COLON && line[1] !== COLON;
}

/** True for the line `exit` in any case. */
export function isExit(line: Uint8Array): boolean {
  return line.length === 4 && (line[0]! | 0x20) === 0x65 && (line[1]! | 0x20) === 0x78 &&
    (line[2]! | 0x20) === 0x69 && (line[3]! | 0x20) === 0x74;
}
