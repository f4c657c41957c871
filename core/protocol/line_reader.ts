/**
 * Reads server lines from a connection, one at a time, with a timeout: the small client-side
 * counterpart of the server's framing, used by the `shutdown` program and tools.
 * @module
 */

import { LineParser, TOO_LONG } from "./line_parser.ts";
import { SwitchboardError } from "./errors.ts";
import { withTimeout } from "../util/time.ts";

/** Anything lines are read from: a `ByteStream`, a `Deno.Conn`. */
export interface Readable {
  /** Reads into `buffer`; resolves with the byte count, or `null` at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
}

const decoder = new TextDecoder();

/**
 * Pulls lines from a `Deno.Conn`.
 *
 * @example
 * ```ts
 * import { LineReader } from "./line_reader.ts";
 * import { startServer } from "../server/server.ts";
 * await using server = await startServer({ port: 0 });
 * using conn = await Deno.connect({ port: server.addr.port });
 * const hello = await new LineReader(conn).next(1000);
 * console.assert(hello?.startsWith("HELLO "));
 * ```
 */
export class LineReader {
  readonly #conn: Readable;
  readonly #parser: LineParser;
  readonly #buffer = new Uint8Array(16 * 1024);
  #ended = false;

  /**
   * Reads lines from `conn`.
   * @param maxLineBytes longest line accepted @default {1048576}
   */
  constructor(conn: Readable, maxLineBytes = 1024 * 1024) {
    this.#conn = conn;
    this.#parser = new LineParser(maxLineBytes);
  }

  /**
   * The next line, or `null` once the peer has closed. Rejects with a `SwitchboardError` coded
   * `timeout` after `timeoutMs`, or `line-too-long`.
   */
  async next(timeoutMs: number): Promise<string | null> {
    for (;;) {
      const line = this.#parser.next();
      if (line === TOO_LONG) {
        throw new SwitchboardError("line-too-long", "the server sent an over-long line");
      }
      if (line !== null) return decoder.decode(line);
      if (this.#ended) return null;
      const count = await withTimeout(
        this.#conn.read(this.#buffer),
        timeoutMs,
        () => new SwitchboardError("timeout", `no answer within ${timeoutMs / 1000} s`),
      );
      if (count === null) {
        this.#ended = true;
        const tail = this.#parser.takePartial();
        return tail === null || tail === TOO_LONG ? null : decoder.decode(tail);
      }
      // The parser keeps views into the buffer only until the next read; copy to be safe.
      this.#parser.push(this.#buffer.slice(0, count));
    }
  }
}
