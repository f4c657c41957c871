/**
 * Files written and read with their SHA-256 computed on the way: uploads and downloads on both
 * sides of a transfer, and the hash of a file already on disk.
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { join } from "node:path";

/** Bytes gathered before one disk write: far fewer system calls than one per socket read. */
const WRITE_BUFFER_BYTES = 256 * 1024;

/**
 * A temporary file that hashes what is written to it. `write` never throws: a failure is kept
 * and reported by {@linkcode HashingFile.finish}, and later pieces are dropped.
 */
export class HashingFile {
  /** Where the bytes go. */
  readonly path: string;
  readonly #file: Deno.FsFile;
  readonly #hash: Hash = createHash("sha256");
  #buffer: Uint8Array | undefined;
  #filled = 0;
  #error: unknown;
  #closed = false;
  /** Bytes taken so far. */
  written = 0;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /** Creates a new, hidden file in `dir` (never an existing one). */
  static async create(dir: string, prefix: string): Promise<HashingFile> {
    const path = join(dir, `${prefix}${crypto.randomUUID()}.part`);
    const file = await Deno.open(path, { write: true, createNew: true, mode: 0o644 });
    return new HashingFile(path, file);
  }

  /**
   * Hashes one piece and copies it to the write buffer; resolves once it is taken, which is
   * after a disk write whenever the buffer fills (the caller waits for the disk, not memory).
   */
  async write(piece: Uint8Array): Promise<void> {
    this.written += piece.length;
    if (this.#error !== undefined || this.#closed) return;
    this.#hash.update(piece);
    const buffer = this.#buffer ??= new Uint8Array(WRITE_BUFFER_BYTES);
    let offset = 0;
    while (offset < piece.length) {
      const take = Math.min(buffer.length - this.#filled, piece.length - offset);
      buffer.set(piece.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
      if (this.#filled === buffer.length) await this.#flush();
    }
  }

  /** Flushes to disk and closes; resolves with the hash, or the first write error. */
  async finish(): Promise<{ sha256: string } | { error: unknown }> {
    if (this.#error === undefined && !this.#closed) {
      await this.#flush();
      try {
        await this.#file.syncData();
      } catch (error) {
        this.#error = error;
      }
    }
    this.#close();
    if (this.#error !== undefined) return { error: this.#error };
    return { sha256: this.#hash.digest("hex") };
  }

  /** Closes and deletes the file (a broken, refused or corrupted transfer leaves nothing). */
  async discard(): Promise<void> {
    this.#close();
    await removeQuietly(this.path);
  }

  async #flush(): Promise<void> {
    const buffer = this.#buffer;
    if (buffer === undefined || this.#filled === 0 || this.#error !== undefined) return;
    try {
      let offset = 0;
      while (offset < this.#filled) {
        offset += await this.#file.write(buffer.subarray(offset, this.#filled));
      }
    } catch (error) {
      this.#error = error;
    }
    this.#filled = 0;
  }

  #close(): void {
    this.#buffer = undefined;
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#file.close();
    } catch {
      // Already closed.
    }
  }
}

/** Removes a file, ignoring one that is already gone. */
export async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Bytes a file is hashed in. */
const HASH_PIECE_BYTES = 1024 * 1024;

/** SHA-256 and size of what `file` holds from its current position, read in 1 MiB pieces. */
export async function hashStream(
  file: { read(buffer: Uint8Array): Promise<number | null> },
  onProgress?: (bytes: number) => void,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  const buffer = new Uint8Array(HASH_PIECE_BYTES);
  let size = 0;
  for (;;) {
    const count = await file.read(buffer);
    if (count === null) break;
    hash.update(buffer.subarray(0, count));
    size += count;
    onProgress?.(size);
  }
  return { sha256: hash.digest("hex"), size };
}

/** SHA-256 of the file at `path`. */
export async function hashFile(path: string): Promise<string> {
  using file = await Deno.open(path);
  return (await hashStream(file)).sha256;
}
