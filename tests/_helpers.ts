/**
 * Test helpers: a server on port 0 and a raw line client over real TCP. Every wait is bounded,
 * and everything is disposable so Deno's sanitizers see no leaked socket or timer.
 * @module
 */

import { type Server, startServer } from "../core/server/server.ts";
import type { ServerOptions } from "../core/config/options.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Default wait for one line in tests; generous for slow CI, never used as a speed assertion. */
export const LINE_TIMEOUT_MS = 5000;

/** Starts a server on 127.0.0.1, port 0, without file logs. */
export function startTestServer(options: ServerOptions = {}): Promise<Server> {
  return startServer({ host: "127.0.0.1", port: 0, logDir: "", shutdownGrace: 1, ...options });
}

/**
 * Takes lines from `nextLine` until one starts with `prefix` and returns it; on timeout or a closed
 * connection the error lists the lines skipped on the way, which is what a failing test needs.
 */
export async function waitForPrefix(
  nextLine: (timeoutMs: number) => Promise<string>,
  prefix: string,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const skipped: string[] = [];
  for (;;) {
    let line: string;
    try {
      line = await nextLine(Math.max(1, deadline - Date.now()));
    } catch (error) {
      throw new Error(
        `waiting for "${prefix}": ${(error as Error).message}; skipped ${JSON.stringify(skipped)}`,
      );
    }
    if (line.startsWith(prefix)) return line;
    skipped.push(line);
  }
}

/** Lets a reader sleep until data arrives (`notify`) or a timeout passes, whichever is first. */
export class Wakeup {
  #waiter: (() => void) | undefined;

  /** Resolves on the next {@linkcode Wakeup.notify}, or after `ms`. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(1, ms));
      const previous = this.#waiter;
      this.#waiter = done;
      function done() {
        clearTimeout(timer);
        previous?.();
        resolve();
      }
    });
  }

  /** Wakes every pending {@linkcode Wakeup.wait}. */
  notify(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }
}

/** {@linkcode TestClient.received} keeps at least this many of the last lines. */
export const RECEIVED_KEPT = 10_000;

/** A raw TCP (or TLS) client that reads lines in the background. */
export class TestClient implements AsyncDisposable {
  readonly conn: Deno.TcpConn | Deno.TlsConn;
  /** The session token the server sent after `WELCOME`, when {@linkcode connect} registered. */
  session = "";
  /** Every line received, taken or not (the last {@linkcode RECEIVED_KEPT}): what a test checks never came. */
  readonly received: string[] = [];
  readonly #lines: string[] = [];
  readonly #wakeup = new Wakeup();
  #ended = false;
  #partial = "";
  readonly #reader: Promise<void>;

  private constructor(conn: Deno.TcpConn | Deno.TlsConn) {
    this.conn = conn;
    this.#reader = this.#read();
  }

  /** Connects to a server (or a port) without reading anything. */
  static async open(target: Server | number, hostname = "127.0.0.1"): Promise<TestClient> {
    const port = typeof target === "number" ? target : target.addr.port;
    return new TestClient(await Deno.connect({ hostname, port }));
  }

  /** Connects over TLS to `hostname:port`, trusting the CA certificates `caCerts` (PEM). */
  static async openTls(hostname: string, port: number, caCerts: string[]): Promise<TestClient> {
    return new TestClient(await Deno.connectTls({ hostname, port, caCerts }));
  }

  /** True once the server closed the connection and every line was taken. */
  get ended(): boolean {
    return this.#ended && this.#lines.length === 0;
  }

  /** Sends one line (a `\n` is added). */
  async send(line: string): Promise<void> {
    await this.sendRaw(encoder.encode(line + "\n"));
  }

  /** Sends bytes exactly as given. */
  async sendRaw(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.conn.write(bytes.subarray(offset));
  }

  /** The next line from the server; rejects on timeout or when the connection ended. */
  async nextLine(timeoutMs = LINE_TIMEOUT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.#lines.length === 0) {
      if (this.#ended) throw new Error("connection closed while waiting for a line");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line within ${timeoutMs} ms`);
      await this.#wakeup.wait(left);
    }
    return this.#lines.shift() as string;
  }

  /** Skips lines until one starts with `prefix`, and returns it. */
  waitFor(prefix: string, timeoutMs = LINE_TIMEOUT_MS): Promise<string> {
    return waitForPrefix((ms) => this.nextLine(ms), prefix, timeoutMs);
  }

  /** Lines up to and including the first that starts with `OK ` or `ERR ` (a command's reply). */
  async reply(timeoutMs = LINE_TIMEOUT_MS): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.nextLine(timeoutMs);
      lines.push(line);
      if (line.startsWith("OK ") || line.startsWith("ERR ")) return lines;
    }
  }

  /** Sends a command and returns its reply lines (see {@linkcode TestClient.reply}). */
  async command(line: string): Promise<string[]> {
    await this.send(line);
    return await this.reply();
  }

  /** Resolves when the server has closed the connection; returns the lines not yet taken. */
  async closed(timeoutMs = LINE_TIMEOUT_MS): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`connection still open after ${timeoutMs} ms`);
      await this.#wakeup.wait(left);
    }
    return this.#lines.splice(0);
  }

  /** Lines received and not taken yet. */
  get buffered(): readonly string[] {
    return this.#lines;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
    await this.#reader;
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    const stream = new TextDecoder();
    try {
      for (;;) {
        const count = await this.conn.read(buffer);
        if (count === null) break;
        const text = this.#partial + stream.decode(buffer.subarray(0, count), { stream: true });
        const parts = text.split("\n");
        this.#partial = parts.pop() as string;
        if (parts.length > 0) {
          this.#lines.push(...parts);
          this.received.push(...parts);
          if (this.received.length > 2 * RECEIVED_KEPT) this.received.splice(0, RECEIVED_KEPT);
          this.#wakeup.notify();
        }
      }
    } catch {
      // Reset or closed by dispose: either way the connection has ended.
    } finally {
      this.#ended = true;
      this.#wakeup.notify();
    }
  }
}

/** Connects and registers `name`; returns the client after its `WELCOME` line. */
export async function connect(
  server: Server | number,
  name: string,
  hostname?: string,
): Promise<TestClient> {
  const client = await TestClient.open(server, hostname);
  try {
    const hello = await client.nextLine();
    if (!hello.startsWith("HELLO ")) throw new Error(`expected HELLO, got ${hello}`);
    await client.send(name);
    await client.waitFor(`WELCOME ${name} `);
    // The session's token follows (see sessions.ts); tests that resume read it from `session`.
    client.session = (await client.waitFor("SESSION ")).slice("SESSION ".length);
  } catch (error) {
    await client[Symbol.asyncDispose]();
    throw error;
  }
  return client;
}

/** Decodes bytes for assertions. */
export function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Waits until `predicate` holds, polling every 10 ms, for at most `timeoutMs`. */
export async function eventually(
  predicate: () => boolean,
  timeoutMs = LINE_TIMEOUT_MS,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Resolves as `promise` does, or fails with `what` once `ms` have passed. A guard so that a hang
 * fails the test with a clear message instead of stalling the suite; never a speed claim, so
 * `ms` is generous.
 */
export async function hangGuard<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} (still pending after ${ms} ms)`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether this machine can listen on the IPv6 loopback (tests over `::1` skip without it). */
export const HAS_IPV6_LOOPBACK: boolean = (() => {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
})();
