/**
 * TCP through `Deno.listen` and `Deno.connect`: the one file on the server side that names a
 * Deno transport. Nagle's algorithm goes off on both ends: replies are written whole, and a chat
 * line should not wait for an acknowledgement of the previous one. The client turns it off as it
 * connects; the server once a connection is past its greeting and registration (see
 * `Connection.thirdWrite`), which a session that only registers and quits never is.
 * @module
 */

import { SwitchboardError } from "../protocol/errors.ts";
import { formatAddress } from "../protocol/grammar.ts";
import {
  type ByteStream,
  ListenerClosed,
  PeerGoneBeforeAccept,
  type StreamAddress,
  type StreamListener,
} from "./stream.ts";

/** A TCP socket bound and listening; see {@linkcode listenTcp}. */
class TcpStreamListener implements StreamListener {
  readonly #listener: Deno.TcpListener;
  readonly addr: StreamAddress;

  constructor(listener: Deno.TcpListener) {
    this.#listener = listener;
    this.addr = { hostname: listener.addr.hostname, port: listener.addr.port };
  }

  async accept(): Promise<ByteStream> {
    let conn: Deno.TcpConn;
    try {
      conn = await this.#listener.accept();
    } catch (error) {
      // Deno fails on the peer address of a socket reset in the queue with `NotConnected`.
      if (
        error instanceof Deno.errors.NotConnected ||
        error instanceof Deno.errors.ConnectionReset ||
        error instanceof Deno.errors.ConnectionAborted
      ) {
        throw new PeerGoneBeforeAccept({ cause: error });
      }
      if (error instanceof Deno.errors.BadResource) throw new ListenerClosed({ cause: error });
      throw error;
    }
    return conn;
  }

  close(): void {
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
  }
}

/**
 * Binds a TCP socket and listens on it, without accepting anyone yet.
 *
 * @example
 * ```ts
 * import { listenTcp } from "./tcp.ts";
 * const listener = listenTcp("127.0.0.1", 0);
 * console.assert(listener.addr.port > 0);
 * listener.close();
 * ```
 * @throws {SwitchboardError} `address-in-use` when the port is taken, `address-unavailable`
 * when the host is not an address of this machine.
 */
export function listenTcp(hostname: string, port: number): StreamListener {
  const where = formatAddress(hostname, port);
  try {
    return new TcpStreamListener(Deno.listen({ hostname, port, transport: "tcp" }));
  } catch (error) {
    throw bindError(error, where) ?? error;
  }
}

/**
 * The error for a socket that could not be bound at `where` (`host:port`; `doing` words the
 * attempt, e.g. `serve HTTP on`): `address-in-use` or
 * `address-unavailable` as a {@linkcode SwitchboardError}, or `undefined` for anything else.
 * Shared by every listener the server opens (TCP, TLS, the HTTP ones).
 */
export function bindError(
  error: unknown,
  where: string,
  doing = "listen on",
): SwitchboardError | undefined {
  if (error instanceof Deno.errors.AddrInUse) {
    return new SwitchboardError(
      "address-in-use",
      `cannot ${doing} ${where}: the port is already in use`,
      { cause: error },
    );
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return new SwitchboardError(
      "address-unavailable",
      `cannot ${doing} ${where}: that address does not belong to this machine`,
      { cause: error },
    );
  }
  return undefined;
}

/**
 * Opens a TCP connection. `signal` abandons the attempt (a connection that completes anyway is
 * closed, not leaked). Rejects with the transport's own error; the client words it.
 */
export async function dialTcp(
  hostname: string,
  port: number,
  signal: AbortSignal,
): Promise<ByteStream> {
  const connecting = Deno.connect({ hostname, port, transport: "tcp", signal });
  const closeLate = () => void connecting.then((conn) => conn.close(), () => {});
  signal.addEventListener("abort", closeLate, { once: true });
  let conn: Deno.TcpConn;
  try {
    conn = await connecting;
  } finally {
    signal.removeEventListener("abort", closeLate);
  }
  try {
    conn.setNoDelay(true);
  } catch {
    // Gone already; the first read will tell.
  }
  return conn;
}
