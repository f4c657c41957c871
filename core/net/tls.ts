/**
 * TLS on the server through `Deno.listen` and `node:tls`, on the client through
 * `Deno.connectTls`: the same byte stream as TCP, inside TLS. The listener hands out a stream only
 * once its handshake has completed, so a peer that never finishes one (a scanner, a plain-text
 * client on the TLS port, a stalled socket) never becomes a connection of the server: handshakes
 * run side by side, each bounded in time, at most `maxHandshakes` at once, and each failure comes
 * out of `accept` as a {@linkcode HandshakeFailed} with its socket closed.
 *
 * Why not `Deno.listenTls` (used until issue 14): in Deno 2.9.6, once a `TlsConn` is accepted its
 * handshake waits for the peer however the conn is closed, and the socket stays open until the
 * peer closes it or sends. Measured with a client that connects and stays silent (or sends 6
 * bytes of a ClientHello), 0.5 s timeout, then `ss -tn state established` on the port: the
 * server's socket is still there and the client reads no EOF, whether we close the conn while
 * `handshake()` is pending, close it without ever calling `handshake()`, abandon a pending `read`,
 * cancel `readable`, abort `writable`, or `closeWrite()` first. `Deno.startTls` is client-only.
 * So the listener accepts plain TCP and runs `node:tls`'s `TLSSocket` over the `Deno.TcpConn`
 * (`_tls_stream.ts`): the TCP connection is ours, and closing it closes the socket at once.
 * Binding stays synchronous (`node:net` binds asynchronously in Deno), TCP_NODELAY is set as in
 * `tcp.ts`, and the certificate and key are checked at start by rustls as before (a throwaway
 * `Deno.listenTls` on port 0: `node:tls` checks nothing until a handshake).
 * Measured against `Deno.listenTls` (bench, interleaved A/B on a loaded 2-core VM, 2026-12-07):
 * churn-tls 251-360 sessions/s, p50 17-22 ms, against 162-170 and 45 ms (TCP_NODELAY on the
 * server's socket removes the Nagle/delayed-ACK stall of the handshake flight); fanout-100-tls
 * throughput on par in a quieter run (8.0 M deliveries/s median against 7.9 M, before the read
 * backpressure fix), unresolved under load (2.2-3.4 M against 2.6-8.8 M), and its unpaced p50
 * latency 2-3x higher: to measure again on a quiet machine before a release.
 * The dialer completes the handshake before it returns, so a certificate that fails its checks
 * is a connect error, never a read error later. Certificate checks are never skipped.
 * @module
 */

import { bindError } from "./tcp.ts";
import tls from "node:tls";
import { SwitchboardError } from "../protocol/errors.ts";
import { formatAddress } from "../protocol/grammar.ts";
import { acceptTls } from "./_tls_stream.ts";
import {
  type ByteStream,
  HandshakeFailed,
  HandshakeRefused,
  ListenerClosed,
  PeerGoneBeforeAccept,
  type StreamAddress,
  type StreamListener,
} from "./stream.ts";

/** The server's certificate chain and private key, as PEM text, and limits on handshakes. */
export interface TlsListenOptions {
  /** Certificate chain (PEM), the server's own certificate first. */
  cert: string;
  /** Private key (PEM) of that certificate. */
  key: string;
  /** Milliseconds a peer has to complete the handshake. @default {10000} */
  handshakeTimeoutMs?: number;
  /**
   * Bind with `SO_REUSEPORT` (Linux; needs `--unstable-net` in Deno 2.9), so that a second
   * listener with a new certificate can open on the same port before this one closes: how the
   * server reloads its certificate without a gap. @default {false}
   */
  reusePort?: boolean;
  /**
   * Handshakes in progress at once. A connection accepted beyond it is closed unanswered and
   * comes out of `accept` as a {@linkcode HandshakeRefused}. A handshake takes milliseconds, so
   * only peers that stall fill it: it bounds what they hold (a socket and about 90 KiB each)
   * whatever `maxClients` is, while still letting thousands of honest handshakes a second through.
   * @default {256}
   */
  maxHandshakes?: number;
}

/**
 * One outcome of the accept loop, waiting for a caller of `accept`; `taken` tells the loop that a
 * failure of the listener itself was handed out.
 */
type Outcome = { stream: ByteStream } | { error: unknown; taken?: () => void };

/** A TLS socket bound and listening; see {@linkcode listenTls}. */
class TlsStreamListener implements StreamListener {
  readonly #listener: Deno.TcpListener;
  readonly #context: tls.SecureContext;
  readonly #timeoutMs: number;
  readonly #maxHandshakes: number;
  readonly #ready: Outcome[] = [];
  readonly #waiting: ((outcome: Outcome) => void)[] = [];
  readonly #handshaking = new Set<Deno.TcpConn>();
  #closed = false;
  /** Set by `retire`: no new connections; those in their handshake still finish. */
  #retiring = false;
  readonly addr: StreamAddress;
  readonly security = "tls";

  constructor(
    listener: Deno.TcpListener,
    context: tls.SecureContext,
    timeoutMs: number,
    maxHandshakes: number,
  ) {
    this.#listener = listener;
    this.#context = context;
    this.#timeoutMs = timeoutMs;
    this.#maxHandshakes = maxHandshakes;
    this.addr = { hostname: listener.addr.hostname, port: listener.addr.port };
    void this.#loop();
  }

  accept(): Promise<ByteStream> {
    const outcome = this.#ready.shift();
    const next: Promise<Outcome> = outcome !== undefined
      ? Promise.resolve(outcome)
      : this.#closed
      ? Promise.resolve({ error: new ListenerClosed() })
      : new Promise<Outcome>((resolve) => this.#waiting.push(resolve));
    return next.then((outcome) => {
      if ("stream" in outcome) return outcome.stream;
      outcome.taken?.();
      throw outcome.error;
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    for (const conn of this.#handshaking) closeQuietly(conn);
    for (const outcome of this.#ready.splice(0)) {
      if ("stream" in outcome) closeQuietly(outcome.stream);
      else outcome.taken?.();
    }
    for (const resolve of this.#waiting.splice(0)) resolve({ error: new ListenerClosed() });
  }

  /**
   * Stops taking connections but lets those in their handshake finish (each bounded by the
   * handshake timeout) and hands them out; `accept` then reports {@linkcode ListenerClosed}. How
   * a reload hands the port over to a listener with a new certificate (bound with `reusePort`)
   * without cutting a handshake in flight. `close` still cuts everything at once.
   */
  retire(): void {
    if (this.#closed || this.#retiring) return;
    this.#retiring = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    this.#retired();
  }

  /** Once retiring and no handshake is left: closed, with what was handed out kept. */
  #retired(): void {
    if (!this.#retiring || this.#closed || this.#handshaking.size > 0) return;
    this.#closed = true;
    for (const resolve of this.#waiting.splice(0)) resolve({ error: new ListenerClosed() });
  }

  #deliver(outcome: Outcome): void {
    if (this.#closed) {
      if ("stream" in outcome) closeQuietly(outcome.stream);
      else outcome.taken?.();
      return;
    }
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) waiter(outcome);
    else this.#ready.push(outcome);
  }

  /**
   * Accepts TCP connections and starts each one's handshake without waiting for it, or closes
   * it at once when `maxHandshakes` are in progress. A failure of the listener itself (out of
   * descriptors) is handed to a caller of `accept`, and the loop waits until one took it: the
   * caller's back-off then paces the retries.
   */
  async #loop(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closed || this.#retiring || error instanceof Deno.errors.BadResource) break;
        const routine = error instanceof Deno.errors.NotConnected ||
          error instanceof Deno.errors.ConnectionReset ||
          error instanceof Deno.errors.ConnectionAborted;
        await new Promise<void>((taken) =>
          this.#deliver({
            error: routine ? new PeerGoneBeforeAccept({ cause: error }) : error,
            taken,
          })
        );
        continue;
      }
      if (this.#handshaking.size >= this.#maxHandshakes) {
        const remote = { hostname: conn.remoteAddr.hostname, port: conn.remoteAddr.port };
        closeQuietly(conn);
        this.#deliver({ error: new HandshakeRefused(remote, this.#maxHandshakes) });
        continue;
      }
      void this.#handshake(conn);
    }
    if (this.#retiring) this.#retired();
    else this.close();
  }

  async #handshake(conn: Deno.TcpConn): Promise<void> {
    this.#handshaking.add(conn);
    const remote = { hostname: conn.remoteAddr.hostname, port: conn.remoteAddr.port };
    try {
      const stream = await acceptTls(conn, this.#context, this.#timeoutMs);
      this.#handshaking.delete(conn);
      this.#deliver({ stream });
    } catch (error) {
      this.#handshaking.delete(conn);
      if (this.#closed) return;
      const timedOut = error instanceof Deno.errors.TimedOut;
      this.#deliver({
        error: new HandshakeFailed(remote, timedOut, timedOut ? undefined : { cause: error }),
      });
    } finally {
      this.#retired();
    }
  }
}

function closeQuietly(stream: ByteStream): void {
  try {
    stream.close();
  } catch {
    // Already closed.
  }
}

/**
 * Binds a TCP socket and listens for TLS on it, without accepting anyone yet.
 *
 * @example
 * ```ts ignore
 * import { listenTls } from "./tls.ts";
 * const listener = listenTls("127.0.0.1", 0, {
 *   cert: await Deno.readTextFile("server.pem"),
 *   key: await Deno.readTextFile("server.key"),
 * });
 * listener.close();
 * ```
 * @throws {SwitchboardError} `tls-cert` when the certificate is not PEM, `tls-key` when the
 * key is not a PEM private key or does not match the certificate, `address-in-use` and
 * `address-unavailable` as {@linkcode listenTcp} does.
 */
export function listenTls(
  hostname: string,
  port: number,
  options: TlsListenOptions,
): StreamListener & { retire(): void } {
  const where = formatAddress(hostname, port);
  const { cert, key } = options;
  let listener: Deno.TcpListener;
  try {
    // rustls' own checks of the certificate and key, with the words `listenTlsError` knows.
    Deno.listenTls({ hostname, port: 0, transport: "tcp", cert, key }).close();
    listener = Deno.listen({
      hostname,
      port,
      transport: "tcp",
      ...(options.reusePort === true ? { reusePort: true } : {}),
    });
  } catch (error) {
    throw listenTlsError(error, where) ?? error;
  }
  return new TlsStreamListener(
    listener,
    tls.createSecureContext({ cert, key }),
    options.handshakeTimeoutMs ?? 10_000,
    options.maxHandshakes ?? 256,
  );
}

/** Words what `Deno.listenTls` or `Deno.listen` threw, or `undefined` for an error it does not know. */
function listenTlsError(error: unknown, where: string): SwitchboardError | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const fail = (code: string, why: string) => new SwitchboardError(code, why, { cause: error });
  const bind = bindError(error, where);
  if (bind !== undefined) return bind;
  if (/no certificates found|certificate/i.test(message) && !/key/i.test(message)) {
    return fail("tls-cert", "not a PEM certificate (no certificate found in it)");
  }
  if (/mismatch|not be consistent/i.test(message)) {
    return fail("tls-key", "the key does not match the certificate");
  }
  if (/no keys found/i.test(message)) {
    return fail("tls-key", "not a PEM private key (no key found in it)");
  }
  if (/key/i.test(message)) return fail("tls-key", `not a usable private key (${message})`);
  return undefined;
}

/** Options of {@linkcode dialTls}. */
export interface TlsDialOptions {
  /** Extra trusted CA certificates (PEM), besides the system's store. @default {[]} */
  caCerts?: string[];
}

/**
 * Opens a TLS connection and completes the handshake, checking the server's certificate against
 * the system's store and `caCerts`, and its name against `hostname`. `signal` abandons the
 * attempt (a connection that completes anyway is closed, not leaked). Rejects with the
 * transport's own error; {@linkcode classifyTlsError} words it.
 */
export async function dialTls(
  hostname: string,
  port: number,
  signal: AbortSignal,
  options: TlsDialOptions = {},
): Promise<ByteStream> {
  const connecting = Deno.connectTls({
    hostname,
    port,
    ...(options.caCerts === undefined ? {} : { caCerts: options.caCerts }),
  });
  const closeLate = () => void connecting.then((conn) => conn.close(), () => {});
  signal.addEventListener("abort", closeLate, { once: true });
  let conn: Deno.TlsConn;
  try {
    conn = await connecting;
    await conn.handshake();
  } catch (error) {
    connecting.then((conn) => closeQuietly(conn), () => {});
    // An abort closes a stalled handshake: what it throws then is the abort's doing.
    throw signal.aborted ? signal.reason : error;
  } finally {
    signal.removeEventListener("abort", closeLate);
  }
  if (signal.aborted) {
    conn.close();
    throw signal.reason;
  }
  return conn;
}

/** Why a TLS connection could not be set up, for a person. */
export type TlsProblem =
  | "unknown-authority"
  | "name-mismatch"
  | "expired"
  | "plain-server"
  | "handshake";

/**
 * Classifies what {@linkcode dialTls} threw when the handshake failed (Deno 2 reports them as
 * `InvalidData` with rustls' wording, or `UnexpectedEof` when the server hung up at once);
 * `undefined` for an error that is not a TLS failure (refused, unreachable …).
 */
export function classifyTlsError(
  error: unknown,
): { problem: TlsProblem; why: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  const message = error.message;
  if (
    error instanceof Deno.errors.InvalidData || /peer certificate|corrupt message/.test(message)
  ) {
    if (/UnknownIssuer|unknown issuer|BadSignature/i.test(message)) {
      return {
        problem: "unknown-authority",
        why: "certificate signed by an unknown authority (trust its CA with --tls-ca)",
      };
    }
    if (/not valid for name/i.test(message)) {
      return { problem: "name-mismatch", why: `certificate name mismatch (${peerName(message)})` };
    }
    if (/expired|not valid after|not valid before|NotValidYet/i.test(message)) {
      return { problem: "expired", why: "certificate expired or not yet valid" };
    }
    if (/corrupt message|InvalidContentType|wrong version|record overflow/i.test(message)) {
      return { problem: "plain-server", why: "the server does not speak TLS (plain TCP?)" };
    }
    return { problem: "handshake", why: `TLS handshake failed (${message})` };
  }
  if (error instanceof Deno.errors.UnexpectedEof) {
    return {
      problem: "plain-server",
      why: "the server closed the connection during the TLS handshake",
    };
  }
  return undefined;
}

/** "certificate not valid for name "x"; … only valid for DnsName("y")" → the names involved. */
function peerName(message: string): string {
  const asked = /valid for name "([^"]*)"/.exec(message)?.[1];
  const valid = [...message.matchAll(/(?:DnsName|IpAddress)\("?([^")]*)"?\)/g)].map((m) => m[1]);
  if (asked === undefined) return message;
  return valid.length > 0
    ? `asked for ${asked}, certificate is for ${valid.join(", ")}`
    : `the certificate is not for ${asked}`;
}
