/**
 * A WebSocket as a {@linkcode ByteStream}: the browser client's transport. One text frame is one
 * `sb/1` line in each direction, so everything above the seam (parser, limits, outbound queue)
 * works on it unchanged:
 *
 * - **In**: a text frame becomes its UTF-8 bytes plus `\n`. A text frame holding a newline (`\n`
 *   or `\r`), or a binary frame outside a payload, is refused like a bad line: the connection
 *   reads one line that is not valid UTF-8 in its place, so the server answers `ERR bad-utf8`,
 *   counts it towards its invalid lines in a row, and with acknowledgements on `NACK`s it, in
 *   order with everything else.
 * - **Out**: the bytes written are cut at each `\n`; every complete line goes out as one text
 *   frame without its newline (a partial line waits for the rest).
 * - **Backpressure**: `write` resolves only once the socket's `bufferedAmount` is below
 *   {@linkcode WS_HIGH_WATER}, so a browser that stops reading backs up the connection's outbound
 *   queue exactly as a TCP peer does, and is cut as a slow consumer.
 * - **Sized payloads** travel in binary frames. After a text frame `:put … <size> …` or
 *   `:send … <size> …` (the size where the server looks for it) the next `<size>` bytes are taken
 *   from binary frames, as they come; a text frame before they are complete closes the socket
 *   (1002). Out, the `<size>` bytes after a `FILE <name> <size> <sha256>` line go as binary
 *   frames (one per write), then lines again.
 * @module
 */

import { parseCommand } from "../protocol/grammar.ts";
import { parseWireNumber } from "../protocol/numbers.ts";
import type { ByteStream, StreamAddress } from "./stream.ts";

/** Bytes the socket may hold unsent before `write` waits. */
export const WS_HIGH_WATER = 64 * 1024;
/**
 * Bytes received and not yet read by the connection before the socket is closed (1008). A TCP
 * peer is slowed by flow control when the server stops reading; a WebSocket cannot be paused, so
 * a peer that keeps sending while its lines are held (rate limit, backpressure) is cut instead.
 */
export const WS_MAX_UNREAD = 4 * 1024 * 1024;
/**
 * The same while a sized payload comes in: the server stops reading while it writes to disk, and
 * a browser sends a file as fast as the network takes it (the page paces itself too).
 */
export const WS_MAX_UNREAD_PAYLOAD = 16 * 1024 * 1024;
/** How often a waiting `write` looks at `bufferedAmount` again (ms). */
const POLL_MS = 5;
const NEWLINE = 0x0a;
/** What a refused frame becomes: one line the server refuses as invalid UTF-8. */
const BAD_LINE = new Uint8Array([0xff, NEWLINE]);
/** The server line after which a sized payload follows: `FILE <name> <size> <sha256>`. */
const FILE_HEADER = /^FILE \S+ ([0-9]{1,15}) /;

const encoder = new TextEncoder();

/** The socket is closed: a write after that fails like a write on a reset TCP socket. */
export class WebSocketClosed extends Error {
  /** Wraps nothing: the close event has no error to give. */
  constructor() {
    super("the WebSocket is closed");
    this.name = "WebSocketClosed";
  }
}

/**
 * Wraps an accepted (server-side) WebSocket. Construct it before the socket opens: it listens
 * for its messages from the start.
 *
 * @example
 * ```ts ignore
 * const { socket, response } = Deno.upgradeWebSocket(request);
 * const stream = new WebSocketStream(socket, { hostname: "127.0.0.1", port: 50000 }, false);
 * ```
 */
export class WebSocketStream implements ByteStream {
  readonly remoteAddr: StreamAddress;
  /** The browser reached the server over TLS (`wss:`, or a listed proxy said `https`). */
  readonly secure: boolean;
  readonly #socket: WebSocket;
  readonly #incoming: Uint8Array[] = [];
  #unread = 0;
  /** Bytes of an incoming sized payload still to come in binary frames. */
  #payloadIn = 0;
  /** Bytes of an outgoing sized payload still to go out in binary frames. */
  #payloadOut = 0;
  #wake: (() => void) | undefined;
  #ended = false;
  /** Bytes of an outgoing line not yet ended by `\n`. */
  #partial: Uint8Array[] = [];
  readonly #decoder = new TextDecoder();
  readonly #opened: Promise<void>;

  /** `remoteAddr`: the peer as the server should see it (see `core/web/listener.ts` for proxies). */
  constructor(socket: WebSocket, remoteAddr: StreamAddress, secure: boolean) {
    this.#socket = socket;
    this.remoteAddr = remoteAddr;
    this.secure = secure;
    socket.binaryType = "arraybuffer";
    this.#opened = new Promise((resolve) => {
      if (socket.readyState === WebSocket.OPEN) resolve();
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("close", () => resolve(), { once: true });
    });
    socket.addEventListener("message", (event) => this.#received(event.data));
    const end = () => {
      this.#ended = true;
      this.#wakeReader();
    };
    socket.addEventListener("close", end);
    socket.addEventListener("error", end);
  }

  #received(data: unknown): void {
    if (this.#ended) return;
    const size = typeof data === "string" ? data.length : (data as ArrayBuffer).byteLength ?? 0;
    const cap = this.#payloadIn > 0 ? WS_MAX_UNREAD_PAYLOAD : WS_MAX_UNREAD;
    if (this.#unread + size > cap) {
      return this.#refuse(1008, "sending faster than the server reads");
    }
    if (this.#payloadIn > 0) {
      if (typeof data === "string") {
        return this.#refuse(1002, "a text frame in the middle of a sized payload");
      }
      const bytes = new Uint8Array(data as ArrayBuffer);
      const take = Math.min(bytes.length, this.#payloadIn);
      this.#payloadIn -= take;
      this.#push(bytes.subarray(0, take));
      if (take < bytes.length) this.#push(BAD_LINE);
    } else if (typeof data !== "string" || data.includes("\n") || data.includes("\r")) {
      this.#push(BAD_LINE);
    } else {
      this.#push(encoder.encode(data + "\n"));
      this.#payloadIn = announcedPayload(data) ?? 0;
    }
    this.#wakeReader();
  }

  #push(bytes: Uint8Array): void {
    this.#unread += bytes.length;
    this.#incoming.push(bytes);
  }

  #refuse(code: number, reason: string): void {
    this.#ended = true;
    this.#incoming.length = 0;
    try {
      this.#socket.close(code, reason);
    } catch {
      // Closing already.
    }
    this.#wakeReader();
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#incoming.length === 0) {
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    let count = 0;
    while (count < buffer.length && this.#incoming.length > 0) {
      const first = this.#incoming[0]!;
      const take = Math.min(first.length, buffer.length - count);
      buffer.set(first.subarray(0, take), count);
      count += take;
      this.#unread = Math.max(0, this.#unread - take);
      if (take === first.length) this.#incoming.shift();
      else this.#incoming[0] = first.subarray(take);
    }
    return count;
  }

  async write(bytes: Uint8Array): Promise<number> {
    await this.#opened;
    if (this.#socket.readyState !== WebSocket.OPEN) throw new WebSocketClosed();
    for (let at = 0; at < bytes.length;) {
      if (this.#payloadOut > 0) {
        const take = Math.min(this.#payloadOut, bytes.length - at);
        // Copied: the caller may reuse its buffer once the write resolves.
        this.#socket.send(bytes.slice(at, at + take));
        this.#payloadOut -= take;
        at += take;
        continue;
      }
      const newline = bytes.indexOf(NEWLINE, at);
      if (newline < 0) {
        this.#partial.push(bytes.slice(at));
        break;
      }
      const piece = bytes.subarray(at, newline);
      let line: string;
      if (this.#partial.length === 0) {
        line = this.#decoder.decode(piece);
      } else {
        this.#partial.push(piece);
        line = this.#decoder.decode(concat(this.#partial));
        this.#partial = [];
      }
      this.#socket.send(line);
      at = newline + 1;
      const header = FILE_HEADER.exec(line);
      if (header !== null) this.#payloadOut = Number(header[1]);
    }
    while (this.#socket.bufferedAmount > WS_HIGH_WATER) {
      if (this.#socket.readyState !== WebSocket.OPEN) throw new WebSocketClosed();
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return bytes.length;
  }

  /** A WebSocket cannot half-close: the close frame ends both directions, so this waits. */
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    this.#ended = true;
    this.#wakeReader();
    try {
      this.#socket.close(1000);
    } catch {
      // Already closed.
    }
  }
}

/**
 * The size of the payload a client line announces, read where the server reads it: the second
 * word of `:put <name> <size> <sha256>`, the third of `:send <to> <name> <size> <sha256>`.
 */
function announcedPayload(line: string): number | undefined {
  if (!line.startsWith(":")) return undefined;
  const { verb, rest } = parseCommand(line);
  const index = verb === "put" ? 1 : verb === "send" ? 2 : -1;
  if (index < 0) return undefined;
  return parseWireNumber(rest.split(" ").filter((word) => word !== "")[index]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
