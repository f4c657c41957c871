/**
 * WebSocket helpers for the web chat tests: a line client over Deno's own `WebSocket`, a raw
 * upgrade over TCP (to see the status of a refused one, or to stop reading after it), and the
 * web listener's address of a server.
 * @module
 */

import type { Server } from "../core/server/server.ts";
import { LINE_TIMEOUT_MS, waitForPrefix } from "./_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The port of the server's web listener (its last listener). */
export function webPort(server: Server): number {
  return server.addrs.at(-1)!.port;
}

/** One WebSocket, its frames as lines. */
export class WsClient implements AsyncDisposable {
  readonly socket: WebSocket;
  /** Every frame received, in order (text frames as strings). */
  readonly frames: unknown[] = [];
  readonly #lines: string[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  /** Resolves with the close code once the socket has closed. */
  readonly closed: Promise<number>;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.binaryType = "arraybuffer";
    socket.addEventListener("message", (event) => {
      this.frames.push(event.data);
      this.#lines.push(String(event.data));
      this.#wake?.();
    });
    this.closed = new Promise((resolve) =>
      socket.addEventListener("close", (event) => {
        this.#closed = true;
        this.#wake?.();
        resolve(event.code);
      })
    );
  }

  /** Opens `ws://127.0.0.1:<port>/ws` with extra request headers; resolves once open. */
  static async open(port: number, headers: Record<string, string> = {}): Promise<WsClient> {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers } as never);
    const client = new WsClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("error", () => reject(new Error("WebSocket failed")), { once: true });
    });
    return client;
  }

  /** Opens a WebSocket, reads `HELLO`, registers `name`, returns after `WELCOME` and `SESSION`. */
  static async named(port: number, name: string): Promise<WsClient> {
    const client = await WsClient.open(port);
    await client.waitFor("HELLO");
    client.send(name);
    await client.waitFor("WELCOME");
    await client.waitFor("SESSION");
    return client;
  }

  /** Sends one text frame. */
  send(text: string): void {
    this.socket.send(text);
  }

  /** The next frame, as text. */
  async nextLine(timeoutMs = LINE_TIMEOUT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.#lines.length === 0) {
      if (this.#closed) throw new Error("the WebSocket closed");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("no frame in time");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    return this.#lines.shift()!;
  }

  /** Skips frames until one starts with `prefix`. */
  waitFor(prefix: string, timeoutMs = LINE_TIMEOUT_MS): Promise<string> {
    return waitForPrefix((ms) => this.nextLine(ms), prefix, timeoutMs);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#closed) this.socket.close();
    await this.closed;
  }
}

/**
 * Sends a WebSocket upgrade request over a raw TCP connection and returns the status line and the
 * connection (still open: a 101 leaves a WebSocket the caller may use, or not read at all).
 */
export async function rawUpgrade(
  port: number,
  headers: Record<string, string> = {},
): Promise<{ status: string; conn: Deno.TcpConn }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const lines = [
    "GET /ws HTTP/1.1",
    `Host: 127.0.0.1:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...Object.entries(headers).map(([key, value]) => `${key}: ${value}`),
  ];
  await conn.write(encoder.encode(lines.join("\r\n") + "\r\n\r\n"));
  // Reads the response head byte by byte, so nothing of the WebSocket after it is taken.
  let head = "";
  const byte = new Uint8Array(1);
  while (!head.endsWith("\r\n\r\n")) {
    if ((await conn.read(byte)) === null) break;
    head += decoder.decode(byte);
  }
  return { status: head.split("\r\n")[0] ?? "", conn };
}

/** One masked client text frame (RFC 6455), for a raw connection. */
export function clientTextFrame(text: string): Uint8Array {
  const payload = encoder.encode(text);
  if (payload.length > 125) throw new RangeError("short frames only");
  const mask = [1, 2, 3, 4];
  const frame = new Uint8Array(6 + payload.length);
  frame.set([0x81, 0x80 | payload.length, ...mask]);
  payload.forEach((b, i) => frame[6 + i] = b ^ mask[i % 4]!);
  return frame;
}
