/**
 * Small byte arrays cut from shared slabs. Each `new Uint8Array` in Deno allocates a backing
 * store outside the JavaScript heap and registers it with the collector: about 1.3 µs, ten times
 * what encoding a 60-byte line into a slab and taking a view of it costs (0.13 µs). Under
 * connection churn the server's own lines (`WELCOME`, `SESSION`, `JOIN`, `LEAVE`, `BYE`) and the
 * small writes its queues join were 4 % of its time.
 *
 * A piece is a view of a slab and is never reused, so it stays valid for as long as anyone holds
 * it; a slab is freed once no piece of it is held. Use it for short-lived bytes (lines on their way
 * to a socket): a piece kept for long keeps its whole slab (16 KiB) alive with it.
 * @module
 */

const encoder = new TextEncoder();

/** Bytes per slab. */
const SLAB_BYTES = 16 * 1024;
/** Pieces larger than this get arrays of their own (UTF-16 units × 3 for text). */
const MAX_PIECE_BYTES = 2 * 1024;

let slab = new Uint8Array(SLAB_BYTES);
let used = 0;

/**
 * `size` bytes for the caller to fill: a fresh view of a slab, or an array of its own when
 * `size` is over 2 KiB. The bytes are zero.
 *
 * @example
 * ```ts
 * import { takeBytes } from "./byte_slab.ts";
 * const bytes = takeBytes(3);
 * bytes.set([1, 2, 3]);
 * console.assert(bytes.length === 3);
 * ```
 */
export function takeBytes(size: number): Uint8Array {
  if (size > MAX_PIECE_BYTES) return new Uint8Array(size);
  makeRoom(size);
  const start = used;
  used += size;
  return slab.subarray(start, used);
}

/**
 * `text` in UTF-8, as `new TextEncoder().encode(text)` gives it, in a view of a slab when it is
 * short (up to 682 UTF-16 units).
 *
 * @example
 * ```ts
 * import { encodeText } from "./byte_slab.ts";
 * console.assert(new TextDecoder().decode(encodeText("JOIN alice\n")) === "JOIN alice\n");
 * ```
 */
export function encodeText(text: string): Uint8Array {
  const room = text.length * 3;
  if (room > MAX_PIECE_BYTES) return encoder.encode(text);
  makeRoom(room);
  const start = used;
  used += encoder.encodeInto(text, start === 0 ? slab : slab.subarray(start)).written;
  return slab.subarray(start, used);
}

/** Starts a fresh slab when the current one has less than `size` bytes left. */
function makeRoom(size: number): void {
  if (size > SLAB_BYTES - used) {
    slab = new Uint8Array(SLAB_BYTES);
    used = 0;
  }
}
