/**
 * Bytes as test peers see them: a connection read as lines of bytes, without decoding (for
 * readers that must see exactly what the server sent, or count many thousands of lines), and
 * byte arrays joined.
 * @module
 */

const NEWLINE = 0x0a;

/**
 * Reads `conn` to its end and calls `onLine(bytes, start, end)` for every complete line
 * (`bytes[start, end)`, without its newline; valid until the next read) and `onChunk` after each
 * read. A reset ends the reading as a close does. Resolves with the bytes of an unterminated last
 * line (empty when the stream ended with a newline).
 */
export async function readByteLines(
  conn: { read(buffer: Uint8Array): Promise<number | null> },
  onLine: (bytes: Uint8Array, start: number, end: number) => void,
  options: { bufferBytes?: number; onChunk?: () => void } = {},
): Promise<Uint8Array> {
  const buffer = new Uint8Array(options.bufferBytes ?? 64 * 1024);
  let carry = new Uint8Array(0);
  try {
    for (;;) {
      const count = await conn.read(buffer);
      if (count === null) break;
      let bytes = buffer.subarray(0, count);
      if (carry.length > 0) {
        const joined = new Uint8Array(carry.length + count);
        joined.set(carry);
        joined.set(bytes, carry.length);
        bytes = joined;
      }
      let start = 0;
      for (let end = bytes.indexOf(NEWLINE); end >= 0; end = bytes.indexOf(NEWLINE, start)) {
        onLine(bytes, start, end);
        start = end + 1;
      }
      carry = bytes.slice(start);
      options.onChunk?.();
    }
  } catch {
    // A reset ends the stream like a close; what arrived before it was seen.
  }
  return carry;
}

/** Joins byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
