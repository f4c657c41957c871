/**
 * One connection of a client: dial within a timeout, read the greeting, then hand out server
 * lines one by one and write lines in order. The link works on any {@linkcode ByteStream} (the
 * transport seam in `core/net/`): TCP by default, or whatever a {@linkcode Dialer} opens. The
 * reconnecting client in `client.ts` opens a new link for every attempt.
 *
 * Sized payloads (file transfer) go through here too: after a `FILE` line the reader takes
 * exactly that many raw bytes instead of lines, and an upload writes its command line and then
 * exactly its bytes as one uninterrupted entry of the write queue, so nothing (a `:pong`, a
 * typed line) can land in the middle. Both move one bounded piece at a time and wait for the
 * other side (the disk, the socket), so memory stays flat whatever the file's size.
 * @module
 */

import { classifyConnectError, ConnectError, refusalError, timeoutError } from "./errors.ts";
import { LineParser, TOO_LONG } from "../protocol/line_parser.ts";
import { PAYLOAD_PIECE_BYTES, type PayloadSource, readFully } from "../protocol/payload.ts";
import { describeError as describe } from "../util/describe_error.ts";
import { withTimeout } from "../util/time.ts";
import { type ByteStream, writeAll } from "../net/stream.ts";
import { dialTcp } from "../net/tcp.ts";
import { formatAddress } from "../protocol/grammar.ts";
import { type HelloEvent, parseServerLine } from "../protocol/server_line.ts";

/** Where and how patiently to connect. */
export interface LinkOptions {
  /** Server host name or address. */
  hostname: string;
  /** Server port. */
  port: number;
  /** Milliseconds for the TCP connection and the greeting together. */
  connectTimeoutMs: number;
  /** Longest server line accepted; longer ones are skipped. @default {1048576} */
  maxLineBytes?: number;
  /**
   * How to reach the server; `hostname` and `port` then only name it in messages.
   * @default {TCP to `hostname:port` (`dialTcp`)}
   */
  dial?: Dialer | undefined;
}

/**
 * Opens the byte stream to a server, for a link to greet on: TCP by default; TLS or a WebSocket
 * adapter plug in here. When `signal` aborts (the connect timeout passed) the dialer gives up,
 * and closes a stream that still connects later rather than leak it. It rejects with its
 * transport's own error; the link words it as a {@linkcode ConnectError} (`Deno.errors` such as
 * `ConnectionRefused` become `refused`, and so on).
 *
 * @example
 * ```ts
 * import type { Dialer } from "./link.ts";
 * import { dialTcp } from "../net/tcp.ts";
 * const dial: Dialer = (signal) => dialTcp("127.0.0.1", 12345, signal);
 * console.assert(typeof dial === "function");
 * ```
 */
export type Dialer = (signal: AbortSignal) => Promise<ByteStream>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * An open connection to a server that has greeted with `HELLO`.
 *
 * @example
 * ```ts
 * import { ClientLink } from "./link.ts";
 * import { startServer } from "../../mod.ts";
 * await using server = await startServer({ port: 0, logDir: "" });
 * const link = await ClientLink.open({ hostname: "127.0.0.1", port: server.addr.port, connectTimeoutMs: 1000 });
 * console.assert(link.hello.mode === "chat");
 * link.close();
 * ```
 */
export class ClientLink {
  /** The server's greeting. */
  readonly hello: HelloEvent;
  /** `host:port` of the server. */
  readonly address: string;
  readonly #conn: ByteStream;
  readonly #parser: LineParser;
  readonly #buffer = new Uint8Array(16 * 1024);
  #writing: Promise<void> = Promise.resolve();
  #payloadBuffer: Uint8Array | undefined;
  #lastActivity = Date.now();
  #closed = false;
  #ended = false;
  #error: string | undefined;

  private constructor(conn: ByteStream, parser: LineParser, hello: HelloEvent, address: string) {
    this.#conn = conn;
    this.#parser = parser;
    this.hello = hello;
    this.address = address;
  }

  /**
   * Connects and waits for the greeting. Rejects with a {@linkcode ConnectError}: `refused`,
   * `unreachable` or `timeout` for the transport part (what the dialer threw, classified); `access-denied`, `server-full` or
   * `shutting-down` when the server sends a refusal instead of `HELLO`; `not-switchboard` or
   * `closed` for anything else.
   */
  static async open(options: LinkOptions): Promise<ClientLink> {
    const address = formatAddress(options.hostname, options.port);
    const ms = options.connectTimeoutMs;
    const deadline = Date.now() + ms;
    const dial = options.dial ?? ((signal) => dialTcp(options.hostname, options.port, signal));
    const conn = await dialWithin(dial, ms, address);
    const parser = new LineParser(options.maxLineBytes ?? 1024 * 1024);
    try {
      const buffer = new Uint8Array(4096);
      for (;;) {
        const line = parser.next();
        if (line === TOO_LONG) throw notSwitchboard(address, "an over-long line");
        if (line !== null) {
          const text = decoder.decode(line);
          const event = parseServerLine(text);
          if (event.type === "hello") {
            // Lines after the greeting stay in the parser (views into `buffer`, which is not
            // reused): the link reads on from there.
            return new ClientLink(conn, parser, event, address);
          }
          if (event.type === "error") throw refusalError(event, address);
          throw notSwitchboard(address, JSON.stringify(text.slice(0, 80)));
        }
        const left = deadline - Date.now();
        if (left <= 0) throw timeoutError(address, ms);
        const count = await withTimeout(conn.read(buffer), left, () => timeoutError(address, ms));
        if (count === null) {
          throw new ConnectError(
            "closed",
            address,
            `${address} closed the connection without greeting`,
          );
        }
        parser.push(buffer.subarray(0, count));
      }
    } catch (error) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
      if (error instanceof ConnectError) throw error;
      throw classifyConnectError(error, address, ms) ??
        new ConnectError("closed", address, `${address}: ${(error as Error).message}`, {
          cause: error,
        });
    }
  }

  /**
   * When the server last showed signs of life (ms since the epoch): a byte arrived, or it took
   * a piece of an upload off the socket. A long transfer in either direction keeps a link alive.
   */
  get lastActivity(): number {
    return this.#lastActivity;
  }

  /** True once {@linkcode ClientLink.close} was called or the server closed. */
  get closed(): boolean {
    return this.#closed || this.#ended;
  }

  /**
   * The next server line, or `null` once the connection has ended (the server closed it, it
   * broke, or {@linkcode ClientLink.close} was called). Over-long lines are skipped.
   */
  async next(): Promise<string | null> {
    for (;;) {
      const line = this.#parser.next();
      if (line !== null && line !== TOO_LONG) return decoder.decode(line);
      if (line === TOO_LONG) continue;
      if (this.#ended) return null;
      let count: number | null;
      try {
        count = await this.#conn.read(this.#buffer);
      } catch (error) {
        this.#ended = true;
        if (!this.#closed) this.#error ??= describe(error);
        return null;
      }
      if (count === null) {
        this.#ended = true;
        const tail = this.#parser.takePartial();
        return tail === null || tail === TOO_LONG ? null : decoder.decode(tail);
      }
      this.#lastActivity = Date.now();
      // A fresh copy: the parser may hold views into the chunk until its lines are taken.
      this.#parser.push(this.#buffer.slice(0, count));
    }
  }

  /**
   * Reads the `size` raw bytes that follow a `FILE` line (call it right after
   * {@linkcode ClientLink.next} returned that line), handing them to `write` piece by piece. The
   * socket is not read while `write` is busy, so a slow disk slows the sender through TCP flow
   * control rather than filling memory; a piece is only valid until `write`'s promise settles.
   * Resolves with the bytes taken: fewer than `size` when the connection ended first (the
   * framing is then lost and the link is over). Line reading resumes after the last byte.
   */
  async readPayload(
    size: number,
    write: (piece: Uint8Array) => Promise<void> | void,
  ): Promise<number> {
    const parser = this.#parser;
    let got = 0;
    if (size <= 0) return 0;
    // First what was read along with the FILE line.
    parser.expectPayload(size);
    for (let piece = parser.nextPayload(); piece !== null; piece = parser.nextPayload()) {
      got += piece.length;
      await write(piece);
    }
    parser.expectPayload(0);
    const buffer = this.#payloadBuffer ??= new Uint8Array(PAYLOAD_PIECE_BYTES);
    while (got < size && !this.#ended) {
      let count: number | null;
      try {
        count = await this.#conn.read(buffer);
      } catch (error) {
        this.#ended = true;
        if (!this.#closed) this.#error ??= describe(error);
        break;
      }
      if (count === null) {
        this.#ended = true;
        break;
      }
      this.#lastActivity = Date.now();
      const take = Math.min(count, size - got);
      got += take;
      await write(buffer.subarray(0, take));
      // Lines after the payload (its command's final line, at least) go back to the parser.
      if (take < count) parser.push(buffer.slice(take, count));
    }
    return got;
  }

  /**
   * Queues a command line followed by exactly `size` bytes read from `source`, as one entry of
   * the write queue: lines written before go first, lines written after (a `:pong`, a typed
   * message) wait until the last byte is out. The file is read one piece ahead while the
   * previous piece is written, and a write waits for the socket, so a fast disk never fills
   * memory. Resolves with the bytes written; when `source` ends early the framing cannot be
   * completed and the link is closed (as on a write error).
   */
  writePayload(
    line: string,
    source: PayloadSource,
    size: number,
    onProgress?: (sent: number) => void,
  ): Promise<number> {
    const head = encoder.encode(line + "\n");
    const progress = { sent: 0 };
    const task = this.#writing.then(async () => {
      if (this.#closed) return 0;
      try {
        await writeAll(this.#conn, head);
        await this.#pump(source, size, progress, onProgress);
        if (progress.sent < size) {
          this.close(`the file ended after ${progress.sent} of ${size} bytes; upload abandoned`);
        }
      } catch (error) {
        this.#error ??= describe(error);
        this.close();
      }
      return progress.sent;
    });
    this.#writing = task.then(() => {});
    return task;
  }

  async #pump(
    source: PayloadSource,
    size: number,
    progress: { sent: number },
    onProgress: ((sent: number) => void) | undefined,
  ): Promise<void> {
    const buffers = [new Uint8Array(PAYLOAD_PIECE_BYTES), new Uint8Array(PAYLOAD_PIECE_BYTES)];
    const fill = (index: number, offset: number) =>
      readFully(
        source,
        buffers[index]!.subarray(0, Math.min(PAYLOAD_PIECE_BYTES, size - offset)),
      );
    let index = 0;
    let ahead: Promise<number> | undefined = size > 0 ? fill(0, 0) : undefined;
    try {
      while (ahead !== undefined) {
        const want = Math.min(PAYLOAD_PIECE_BYTES, size - progress.sent);
        const count = await ahead;
        ahead = undefined;
        const next = progress.sent + count;
        // A short read is the end of the file: write what came, then stop.
        if (count === want && next < size) ahead = fill(index ^ 1, next);
        if (count > 0) {
          await writeAll(this.#conn, buffers[index]!.subarray(0, count));
          progress.sent = next;
          this.#lastActivity = Date.now();
          onProgress?.(next);
        }
        index ^= 1;
      }
    } finally {
      // The caller closes the source next: no read may still be running.
      await ahead?.catch(() => {});
    }
  }

  /** What broke the connection, if something did (a reset, a failed write). */
  get error(): string | undefined {
    return this.#error;
  }

  /**
   * Queues `text` (one or more complete lines) for writing after everything written before.
   * Resolves once written; a failed write closes the link and resolves too (the reader then
   * sees the end), so callers need not catch.
   */
  write(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    this.#writing = this.#writing.then(async () => {
      if (this.#closed) return;
      try {
        await writeAll(this.#conn, bytes);
      } catch (error) {
        this.#error ??= describe(error);
        this.close();
      }
    });
    return this.#writing;
  }

  /**
   * Closes the connection; a pending {@linkcode ClientLink.next} then returns `null`. A `reason`
   * becomes the link's {@linkcode ClientLink.error} (e.g. "no data from the server for 90 s").
   */
  close(reason?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (reason !== undefined) this.#error ??= reason;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
  }
}

/** Dials, giving up (aborting the dialer) after `ms`; a failure comes back classified. */
async function dialWithin(dial: Dialer, ms: number, address: string): Promise<ByteStream> {
  const abort = new AbortController();
  try {
    return await withTimeout(dial(abort.signal), ms, () => timeoutError(address, ms));
  } catch (error) {
    // The dialer closes a connection that completes after this, so none is leaked.
    abort.abort();
    throw classifyConnectError(error, address, ms) ?? error;
  }
}

function notSwitchboard(address: string, got: string): ConnectError {
  return new ConnectError(
    "not-switchboard",
    address,
    `${address} did not greet like a Switchboard server (got ${got})`,
  );
}
