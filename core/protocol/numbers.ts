/**
 * Numbers and hashes as `sb/1` writes them. Strict on purpose: after a `FILE` line or a `:put`
 * this many bytes are read as data, so a doubtful size is no size.
 * @module
 */

const WIRE_NUMBER = /^[0-9]{1,15}$/;
const SHA256 = /^[0-9a-fA-F]{64}$/;

/**
 * A whole number as the wire writes it (payload sizes, offer ids, sequence numbers): 1 to 15
 * decimal digits, so it is exact in a JavaScript number; otherwise `undefined`.
 */
export function parseWireNumber(word: string | undefined): number | undefined {
  return word !== undefined && WIRE_NUMBER.test(word) ? Number(word) : undefined;
}

/** A SHA-256 as written on the wire, lower-cased, or `undefined` if it is not 64 hex digits. */
export function parseSha256(word: string | undefined): string | undefined {
  return word !== undefined && SHA256.test(word) ? word.toLowerCase() : undefined;
}
