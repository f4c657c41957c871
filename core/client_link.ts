/**
 * One TCP connection of a client: connect within a timeout, read the greeting, then hand out
 * server lines one by one and write lines in order. The reconnecting client in `client.ts`
 * opens a new link for every attempt.
 * @module
 */

import { classifyConnectError, ConnectError, refusalError, timeoutError } from "./client_errors.ts";
import { LineParser, TOO_LONG } from "./parser.ts";
import { formatAddress } from "./protocol.ts";
import { type HelloEvent, parseServerLine } from "./server_line.ts";

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
}

/** How a link ended. */
export interface LinkEnd {
  /** The `BYE` line the server sent before closing, if any. */
  bye: string | undefined;
  /** What broke the connection when it did not end with a clean close. */
  error: string | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * An open connection to a server that has greeted with `HELLO`.
 *
 * @example
 * ```ts
 * import { ClientLink } from "./client_link.ts";
 * import { startServer } from "./server.ts";
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
  readonly #conn: Deno.TcpConn;
  readonly #parser: LineParser;
  readonly #buffer = new Uint8Array(16 * 1024);
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  #ended = false;
  #error: string | undefined;

  private constructor(conn: Deno.TcpConn, parser: LineParser, hello: HelloEvent, address: string) {
    this.#conn = conn;
    this.#parser = parser;
    this.hello = hello;
    this.address = address;
  }

  /**
   * Connects and waits for the greeting. Rejects with a {@linkcode ConnectError}: `refused`,
   * `unreachable` or `timeout` for the TCP part; `access-denied`, `server-full` or
   * `shutting-down` when the server sends a refusal instead of `HELLO`; `not-switchboard` or
   * `closed` for anything else.
   */
  static async open(options: LinkOptions): Promise<ClientLink> {
    const address = formatAddress(options.hostname, options.port);
    const ms = options.connectTimeoutMs;
    const deadline = Date.now() + ms;
    const conn = await connectWithin(options.hostname, options.port, ms, address);
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
      // A fresh copy: the parser may hold views into the chunk until its lines are taken.
      this.#parser.push(this.#buffer.slice(0, count));
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
        for (let offset = 0; offset < bytes.length;) {
          offset += await this.#conn.write(bytes.subarray(offset));
        }
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

async function connectWithin(
  hostname: string,
  port: number,
  ms: number,
  address: string,
): Promise<Deno.TcpConn> {
  const abort = new AbortController();
  let connecting: Promise<Deno.TcpConn> | undefined;
  try {
    connecting = Deno.connect({ hostname, port, transport: "tcp", signal: abort.signal });
    return await withTimeout(connecting, ms, () => timeoutError(address, ms));
  } catch (error) {
    abort.abort();
    // A connection that completes after the timeout is closed, not leaked.
    connecting?.then((conn) => conn.close(), () => {});
    const classified = classifyConnectError(error, address, ms);
    if (classified === undefined) throw error;
    throw classified;
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => timer = setTimeout(() => reject(onTimeout()), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function notSwitchboard(address: string, got: string): ConnectError {
  return new ConnectError(
    "not-switchboard",
    address,
    `${address} did not greet like a Switchboard server (got ${got})`,
  );
}

function describe(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionReset) return "connection reset by the server";
  if (error instanceof Deno.errors.BrokenPipe) return "the connection broke";
  return error instanceof Error ? error.message : String(error);
}
