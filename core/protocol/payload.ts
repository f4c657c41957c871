/**
 * Sized payloads, the byte runs that follow a `:put` or `FILE` line: where their bytes come
 * from, and the piece size both sides move them in.
 * @module
 */

/** Bytes a payload is read and written in at most: large enough that a read is not per line. */
export const PAYLOAD_PIECE_BYTES = 256 * 1024;

/** Where an outgoing payload's bytes come from; `Deno.FsFile` fits. */
export interface PayloadSource {
  /** Reads into `buffer`; resolves with the byte count, or `null` at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Reads from `source` until `buffer` is full or the source ends; returns the bytes read. */
export async function readFully(source: PayloadSource, buffer: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const count = await source.read(buffer.subarray(filled));
    if (count === null) break;
    filled += count;
  }
  return filled;
}
