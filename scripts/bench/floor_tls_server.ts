/**
 * The floor of a Deno server for fan-out over TLS (issue 14): `floor_server.ts`'s registration and
 * relay (`FloorClients`: each read's lines to every other client, one write per read and
 * recipient) with TLS under it, and nothing else — no read gate, no queue, no log. What it costs
 * is what any one-process Deno server pays for `fanout-100-tls` at least, through one of three
 * TLS stacks (`--via`):
 *
 * - `node` (default): `Deno.listen`, then `node:tls`'s `TLSSocket` over a plain duplex around the
 *   `Deno.TcpConn`, as Switchboard's TLS listener does (`core/net/_tls_stream.ts`).
 * - `deno`: `Deno.listenTls` (rustls inside Deno's own TCP resource).
 * - `net`: `node:tls`'s `createServer`, whose sockets are `node:net`'s (the TLS layer attached to
 *   the native TCP handle, no JavaScript duplex in between).
 * - `rid`: `Deno.listen`, then `node:tls` over a `node:net` socket made on a duplicate of the
 *   accepted connection's descriptor (`core/net/_native_socket.ts`).
 *
 * Measured on a loaded 2-core VM (2026-12-07, 10 M deliveries, server CPU per delivery): plain
 * `floor_server.ts` 0.033 µs; `node` 0.21–0.24; `rid` 0.08; `net` 0.08–0.09; `deno` 0.07–0.09.
 * Over TLS the generator, which decrypts every delivery, is the limit (3–5 M deliveries/s).
 *
 * Protocol as `floor_server.ts` without flags (`loadgen fanout --dialect sb --tls 1`).
 *
 * ```sh
 * deno run --allow-net --allow-read scripts/bench/floor_tls_server.ts --cert server.pem \
 *   --key server.key [--via node|rid|deno|net] [--port 0] [--read-bytes 65536]
 * ```
 * @module
 */

import { Buffer } from "node:buffer";
import type net from "node:net";
import netModule from "node:net";
import process from "node:process";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { parseArgs } from "node:util";
import { FloorClients, type FloorConn } from "./floor_clients.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    cert: { type: "string" },
    key: { type: "string" },
    via: { type: "string", default: "node" },
    "read-bytes": { type: "string", default: "65536" },
  },
});
if (values.cert === undefined || values.key === undefined) {
  console.error("floor_tls_server: --cert FILE and --key FILE are required");
  Deno.exit(2);
}
const cert = Deno.readTextFileSync(values.cert);
const key = Deno.readTextFileSync(values.key);
const readBytes = Number(values["read-bytes"]);
const port = Number(values.port);
const clients = new FloorClients();
const serve = (conn: FloorConn) => void clients.serve(conn, readBytes);

/** A `TLSSocket` as a {@linkcode FloorConn}: what it decrypted waits in a list for `read`. */
class SocketConn implements FloorConn {
  readonly #socket: tls.TLSSocket;
  readonly #chunks: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(socket: tls.TLSSocket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#wakeReader();
    });
    const end = () => {
      this.#ended = true;
      this.#wakeReader();
    };
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", end);
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
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
    return count;
  }

  write(bytes: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#socket.write(bytes, (error) => error ? reject(error) : resolve(bytes.length));
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** The least duplex `TLSSocket` can run over a `Deno.TcpConn`: read into one buffer, write all. */
function tcpDuplex(conn: Deno.TcpConn): Duplex {
  const buffer = new Uint8Array(16 * 1024 + 512);
  let reading = false;
  const duplex: Duplex = new Duplex({
    read() {
      if (reading) return;
      reading = true;
      void (async () => {
        try {
          for (;;) {
            const count = await conn.read(buffer);
            if (count === null) return void duplex.push(null);
            if (!duplex.push(Buffer.from(buffer.subarray(0, count)))) return void (reading = false);
          }
        } catch (error) {
          duplex.destroy(error as Error);
        }
      })();
    },
    write(chunk: Buffer, _encoding, done) {
      void (async () => {
        for (let at = 0; at < chunk.length;) at += await conn.write(chunk.subarray(at));
      })().then(() => done(), done);
    },
    destroy(error, done) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
      done(error);
    },
  });
  duplex.on("error", () => {});
  return duplex;
}

/** `--via node`: `Deno.listen`, `node:tls` over our own TCP connection. */
async function viaNode(): Promise<void> {
  const context = tls.createSecureContext({ cert, key });
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  console.log(`listening on ${listener.addr.port}`);
  for await (const conn of listener) {
    conn.setNoDelay(true);
    const socket = new tls.TLSSocket(tcpDuplex(conn) as unknown as net.Socket, {
      isServer: true,
      secureContext: context,
    });
    socket.on("error", () => socket.destroy());
    socket.once("secure", () => serve(new SocketConn(socket)));
  }
}

/** `--via rid`: `Deno.listen`, the accepted socket handed to `node:net` (a dup of its descriptor). */
async function viaRid(): Promise<void> {
  const context = tls.createSecureContext({ cert, key });
  // deno-lint-ignore no-explicit-any
  const { TCP, constants } = (process as any).binding("tcp_wrap");
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  console.log(`listening on ${listener.addr.port}`);
  for await (const conn of listener) {
    conn.setNoDelay(true);
    const handle = new TCP(constants.SOCKET);
    // deno-lint-ignore no-explicit-any
    handle.openFromRid((conn as any)[ridOf(conn)]);
    const socket = new tls.TLSSocket(
      new netModule.Socket({ handle } as net.SocketConstructorOpts),
      {
        isServer: true,
        secureContext: context,
      },
    );
    socket.on("error", () => socket.destroy());
    // Closing the Deno conn shuts the socket down under the dup too: only once the TLS socket is.
    socket.once("close", () => conn.close());
    socket.once("secure", () => serve(new SocketConn(socket)));
  }
}

/** The symbol under which a Deno conn keeps its resource id. */
function ridOf(conn: Deno.Conn): symbol {
  return Object.getOwnPropertySymbols(conn).find((s) => s.description === "Deno.internal.rid")!;
}

/** `--via deno`: `Deno.listenTls`. */
async function viaDeno(): Promise<void> {
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port, cert, key });
  console.log(`listening on ${listener.addr.port}`);
  for await (const conn of listener) serve(conn);
}

/** `--via net`: `tls.createServer`, the TLS layer on `node:net`'s native socket. */
function viaNet(): void {
  const server = tls.createServer({ cert, key }, (socket) => {
    socket.setNoDelay(true);
    serve(new SocketConn(socket));
  });
  server.on("tlsClientError", () => {});
  server.listen(port, "127.0.0.1", () => {
    console.log(`listening on ${(server.address() as net.AddressInfo).port}`);
  });
}

if (values.via === "deno") await viaDeno();
else if (values.via === "net") viaNet();
else if (values.via === "node") await viaNode();
else if (values.via === "rid") await viaRid();
else {
  console.error(`floor_tls_server: --via ${values.via}: node, rid, deno or net`);
  Deno.exit(2);
}
