/**
 * Flood tools for tests that put a server under load: a reader that counts numbered messages
 * without keeping them, and a writer that sends numbered lines until told to stop. Both work on
 * raw sockets, so thousands of lines a second cost the test process little.
 * @module
 */

import { readByteLines } from "./_byte_lines.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Reads a connection to its end, counting the lines that start with `prefix` followed by a
 * number (`MSG flood * :17`) and checking those numbers run 1, 2, 3 … with no gap. Every other
 * line is kept (a few: `HELLO`, `JOIN`, `BYE`).
 */
export class NumberedReader {
  /** Numbered lines seen. */
  count = 0;
  /** The first number out of order, if any. */
  outOfOrder: number | undefined;
  /** The lines that were not numbered messages, in order. */
  readonly others: string[] = [];
  /** Resolves when the connection has ended (closed, reset or failed). */
  readonly ended: Promise<void>;
  readonly #conn: Deno.Conn;
  readonly #prefix: Uint8Array;

  /** Starts reading `conn` at once. */
  constructor(conn: Deno.Conn, prefix: string) {
    this.#conn = conn;
    this.#prefix = encoder.encode(prefix);
    this.ended = this.#read();
  }

  /** The last line that was not a numbered message (`BYE …` once the server said goodbye). */
  get last(): string | undefined {
    return this.others.at(-1);
  }

  async #read(): Promise<void> {
    // A reset ends the reading as a close does; `last` tells what the server said before.
    await readByteLines(this.#conn, (bytes, start, end) => this.#line(bytes, start, end), {
      bufferBytes: 256 * 1024,
    });
  }

  #line(bytes: Uint8Array, start: number, end: number): void {
    const prefix = this.#prefix;
    let i = 0;
    while (i < prefix.length && bytes[start + i] === prefix[i]) i++;
    if (i < prefix.length || start + i >= end) {
      this.others.push(decoder.decode(bytes.subarray(start, end)));
      return;
    }
    let number = 0;
    for (let at = start + i; at < end && bytes[at]! >= 0x30 && bytes[at]! <= 0x39; at++) {
      number = number * 10 + (bytes[at]! - 0x30);
    }
    this.count++;
    if (number !== this.count) this.outOfOrder ??= number;
  }
}

/**
 * Sends `1\n2\n3\n…` (each number followed by `pad`, which should start with a space) in writes
 * of `perWrite` lines until `stop()` is called, `max` lines are sent, or the connection fails.
 * `sent` counts the lines the socket took.
 */
export class NumberedWriter {
  /** Lines handed to the socket. */
  sent = 0;
  /** Resolves when the writer has stopped. */
  readonly done: Promise<void>;
  #stopped = false;

  /** Starts writing to `conn` at once. */
  constructor(conn: Deno.Conn, options: { max: number; perWrite: number; pad?: string }) {
    this.done = this.#write(conn, options.max, options.perWrite, options.pad ?? "");
  }

  /** Stops after the write in progress. */
  stop(): void {
    this.#stopped = true;
  }

  async #write(conn: Deno.Conn, max: number, perWrite: number, pad: string): Promise<void> {
    try {
      while (!this.#stopped && this.sent < max) {
        let text = "";
        const first = this.sent + 1;
        for (let n = first; n < first + perWrite && n <= max; n++) text += `${n}${pad}\n`;
        const bytes = encoder.encode(text);
        for (let offset = 0; offset < bytes.length;) {
          offset += await conn.write(bytes.subarray(offset));
        }
        this.sent = Math.min(max, first + perWrite - 1);
      }
    } catch {
      // The server closed the connection: the writer stops.
    }
  }
}

/**
 * Connects to `port`, sends `lines` (the name first, then commands) and starts a
 * {@linkcode NumberedReader} counting `prefix`; resolves once `ready` has arrived.
 */
export async function floodPeer(
  port: number,
  lines: string[],
  prefix: string,
  ready: string,
): Promise<{ conn: Deno.TcpConn; reader: NumberedReader }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const reader = new NumberedReader(conn, prefix);
  await conn.write(encoder.encode(lines.map((line) => `${line}\n`).join("")));
  const deadline = Date.now() + 5000;
  while (!reader.others.some((line) => line.startsWith(ready))) {
    if (Date.now() > deadline) throw new Error(`no "${ready}" line: ${reader.others.join(" | ")}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return { conn, reader };
}
