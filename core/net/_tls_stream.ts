/**
 * The server side of TLS over a `Deno.TcpConn` we accepted ourselves: `node:tls`'s `TLSSocket`
 * runs over a duplex around the TCP connection, and {@linkcode TlsStream} turns the socket back
 * into a {@linkcode ByteStream}. Why not `Deno.listenTls`: in Deno 2.9.6 closing a `TlsConn`
 * whose handshake waits for a silent peer leaves the socket open until the peer closes it (see
 * `tls.ts`); here the TCP connection is ours, and closing it closes the socket.
 * @module
 */

import { Buffer } from "node:buffer";
import type net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import type { ByteStream, StreamAddress } from "./stream.ts";

/**
 * Bytes read from the TCP connection at a time: one TLS record at most (16 KiB of plaintext and
 * 256 of overhead, 5 of header), since the buffer lives as long as the connection.
 */
const READ_BYTES = 16 * 1024 + 512;
/** Decrypted bytes held for the reader before the TCP connection is no longer read. */
const HIGH_WATER = 256 * 1024;

/** Milliseconds `close` and `closeWrite` wait for close_notify and FIN to go out. */
const CLOSE_NOTIFY_MS = 1000;

function ignore(): void {}

/**
 * Whether the TCP connection under a socket may be read. `TLSSocket` drains its duplex whatever
 * its own reader does (`pause()` does not stop it: measured, a peer could send 850 MB in 2 s to
 * a server that read nothing), so the backpressure is applied here, below the TLS layer: the
 * TCP connection is read only while the stream's reader holds less than `HIGH_WATER`.
 */
class ReadGate {
  #open = true;
  #opened: (() => void) | undefined;

  /** Resolves at once when open, else once {@linkcode ReadGate.open} is called. */
  passed(): Promise<void> | undefined {
    return this.#open ? undefined : new Promise((resolve) => this.#opened = resolve);
  }

  close(): void {
    this.#open = false;
  }

  open(): void {
    this.#open = true;
    const opened = this.#opened;
    this.#opened = undefined;
    opened?.();
  }
}

/** A duplex over `conn`, what `TLSSocket` encrypts into and decrypts from. */
function tcpDuplex(conn: Deno.TcpConn, gate: ReadGate): Duplex {
  let reading = false;
  const buffer = new Uint8Array(READ_BYTES);
  const duplex: Duplex = new Duplex({
    read() {
      if (reading) return;
      reading = true;
      void (async () => {
        for (;;) {
          const closed = gate.passed();
          if (closed !== undefined) await closed;
          let count: number | null;
          try {
            count = await conn.read(buffer);
          } catch (error) {
            duplex.destroy(error as Error);
            return;
          }
          if (count === null) {
            duplex.push(null);
            return;
          }
          if (!duplex.push(Buffer.from(buffer.subarray(0, count)))) {
            reading = false;
            return;
          }
        }
      })();
    },
    write(chunk: Buffer, _encoding, done) {
      void (async () => {
        for (let offset = 0; offset < chunk.length;) {
          offset += await conn.write(offset === 0 ? chunk : chunk.subarray(offset));
        }
      })().then(() => done(), done);
    },
    final(done) {
      conn.closeWrite().then(() => done(), done);
    },
    destroy(error, done) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
      done(error);
    },
  });
  // Its failures reach the TLS socket, which reports them; unheard here, they would crash us.
  duplex.on("error", ignore);
  return duplex;
}

/**
 * Runs the server side of a handshake over `conn`. Resolves with the stream once it completed;
 * rejects with the TLS error, with `Deno.errors.UnexpectedEof` when the peer left, or with
 * `Deno.errors.TimedOut` after `timeoutMs`. On failure the TCP connection is closed, socket and all.
 */
export function acceptTls(
  conn: Deno.TcpConn,
  context: tls.SecureContext,
  timeoutMs: number,
): Promise<TlsStream> {
  const remoteAddr = { hostname: conn.remoteAddr.hostname, port: conn.remoteAddr.port };
  try {
    conn.setNoDelay(true);
  } catch {
    // The peer is already gone; the handshake will tell.
  }
  const gate = new ReadGate();
  const socket = new tls.TLSSocket(tcpDuplex(conn, gate) as unknown as net.Socket, {
    isServer: true,
    secureContext: context,
  });
  return new Promise<TlsStream>((resolve, reject) => {
    const settle = () => {
      clearTimeout(timer);
      socket.removeListener("error", fail);
      socket.removeListener("end", left);
      socket.removeListener("close", left);
      socket.removeListener("secure", secure);
    };
    const fail = (error: unknown) => {
      settle();
      destroy(socket, conn);
      reject(error);
    };
    const left = () => fail(new Deno.errors.UnexpectedEof("the peer closed the connection"));
    const secure = () => {
      settle();
      resolve(new TlsStream(socket, conn, gate, remoteAddr));
    };
    const timer = setTimeout(
      () => fail(new Deno.errors.TimedOut("handshake timed out")),
      timeoutMs,
    );
    socket.on("error", fail);
    // A peer that leaves mid-handshake ends the socket, which is not closed until destroyed.
    socket.on("end", left);
    socket.on("close", left);
    socket.on("secure", secure);
  });
}

/** Destroys the socket and closes the TCP connection under it (the socket may not have yet). */
function destroy(socket: tls.TLSSocket, conn: Deno.TcpConn): void {
  // An error after this point is no one's business, but unheard it would crash the process.
  socket.on("error", ignore);
  socket.destroy();
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** A `TLSSocket` whose handshake completed, as a {@linkcode ByteStream}. */
export class TlsStream implements ByteStream {
  readonly remoteAddr: StreamAddress;
  readonly #socket: tls.TLSSocket;
  readonly #conn: Deno.TcpConn;
  readonly #gate: ReadGate;
  readonly #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #closed = false;
  #error: unknown = undefined;
  #wake: (() => void) | undefined;

  constructor(
    socket: tls.TLSSocket,
    conn: Deno.TcpConn,
    gate: ReadGate,
    remoteAddr: StreamAddress,
  ) {
    this.#socket = socket;
    this.#conn = conn;
    this.#gate = gate;
    this.remoteAddr = remoteAddr;
    socket.on("data", (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered >= HIGH_WATER) gate.close();
      this.#wakeReader();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#wakeReader();
    });
    socket.on("error", (error: unknown) => {
      this.#error ??= error;
      this.#wakeReader();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#wakeReader();
    });
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((wake) => this.#wake = wake);
    }
    let count = 0;
    while (count < buffer.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0] as Uint8Array;
      const take = Math.min(chunk.length, buffer.length - count);
      buffer.set(take === chunk.length ? chunk : chunk.subarray(0, take), count);
      count += take;
      if (take === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
    this.#buffered -= count;
    if (this.#buffered < HIGH_WATER) this.#gate.open();
    return count;
  }

  write(bytes: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#socket.write(bytes, (error) => error ? reject(error) : resolve(bytes.length));
    });
  }

  /** Sends close_notify and FIN; resolves once they went out, the socket closed, or 1 s. */
  closeWrite(): Promise<void> {
    const socket = this.#socket;
    if (socket.destroyed || socket.writableEnded) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        socket.removeListener("close", done);
        resolve();
      };
      const timer = setTimeout(done, CLOSE_NOTIFY_MS);
      socket.once("close", done);
      socket.end(done);
    });
  }

  /**
   * Closes at once for the reader, and on the wire as `Deno.TlsConn` does: close_notify and FIN
   * after what was written, then the socket. Without close_notify a TLS client may take the end
   * for a truncation attack (OpenSSL 3 reports `unexpected eof while reading`); a peer that does
   * not take the bytes waits no longer than `CLOSE_NOTIFY_MS`.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = this.#ended = true;
    this.#wakeReader();
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return destroy(socket, this.#conn);
    const timer = setTimeout(() => destroy(socket, this.#conn), CLOSE_NOTIFY_MS);
    socket.end(() => {
      clearTimeout(timer);
      destroy(socket, this.#conn);
    });
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
