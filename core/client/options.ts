/**
 * How a client connects and how patiently it stays connected: every option with its default,
 * and {@linkcode resolveClientOptions} to fill the defaults in.
 * @module
 */

import { type Backoff, fixedBackoff } from "./backoff.ts";
import type { Dialer } from "./link.ts";
import { dialTls, type TlsDialOptions } from "../net/tls.ts";

/** Options of `SwitchboardClient.connect`. Durations are in seconds. */
export interface ClientOptions {
  /** Server host name or address. @default {"127.0.0.1"} */
  hostname?: string;
  /** Server port. @default {12345} */
  port?: number;
  /**
   * How to open the connection, for a transport other than plain TCP (TLS, a WebSocket
   * adapter): called for the first connection and for every reconnect, with a signal that
   * aborts at the connect timeout. `hostname` and `port` then only name the server in messages.
   * @default {TCP to `hostname:port`}
   */
  dial?: Dialer;
  /**
   * Connect with TLS (`dialTls`) to `hostname:port`: `true` trusts the system's CA store,
   * `{ caCerts: [pem] }` trusts those CAs too. The certificate and its name are always checked;
   * a failure is a `ConnectError` with a `tls-…` code. Ignored when `dial` is given.
   * @default {false}
   */
  tls?: boolean | TlsDialOptions;
  /** Seconds to connect and receive the greeting, per attempt. @default {5} */
  connectTimeout?: number;
  /** Seconds between reconnect attempts (the first is immediate). @default {5} */
  reconnectInterval?: number;
  /** Seconds to keep trying after the connection drops; 0 never reconnects. @default {120} */
  reconnectTimeout?: number;
  /** Reconnect delay policy; replaces `reconnectInterval`. @default {fixedBackoff(5000)} */
  backoff?: Backoff;
  /** Lines kept while disconnected; beyond it `SwitchboardClient.send` refuses. @default {100} */
  queueLimit?: number;
  /**
   * Seconds without a byte from the server after which the connection is taken as dead and a
   * reconnect begins (a server pings a quiet client every 30 s by default); 0 is off.
   * @default {90}
   */
  staleTimeout?: number;
  /** Longest line sent, in bytes (the server's default limit). @default {65536} */
  maxLineBytes?: number;
  /**
   * Turn acknowledgements on (`:ack on`, chat servers) after registering and after every
   * reconnect: each plain message is then matched to the server's `ACK`/`NACK` (reported as a
   * `line` event whose `command` is the message), and messages left unanswered when a connection
   * ends are listed in the `disconnect` event. Keep commands short with it (see the protocol).
   * @default {false}
   */
  ack?: boolean;
  /**
   * Stay open instead of ending when the server cut the connection for inactivity (`BYE idle`)
   * or when reconnecting gave up: the client waits in state `dormant` (a `dormant` event says
   * why) until the program sends a line or calls `SwitchboardClient.wake`, then reconnects as
   * after a drop (same name or login, same groups) and sends the lines queued meanwhile. For a
   * person at a terminal; a script wants the end and its exit code.
   * @default {false}
   */
  linger?: boolean;
  /**
   * Other servers to try, in order, when a reconnect cannot reach the current one: the other
   * nodes of a cluster, where the session is resumed with nothing lost (docs/cluster.md). Dialled
   * as the first server is (TCP, or TLS with the same `tls` settings); not used with `dial`.
   * @default {[]}
   */
  fallbacks?: readonly { hostname: string; port: number }[];
}

/** A server a client may connect to, and how. */
export interface ServerAddress {
  /** Host name or address. */
  readonly hostname: string;
  /** Port. */
  readonly port: number;
  /** How to open the connection; `undefined` is TCP. */
  readonly dial: Dialer | undefined;
}

/** The options a client runs with, defaults filled in. */
export interface ResolvedClientOptions {
  /** See {@linkcode ClientOptions.hostname}. */
  hostname: string;
  /** See {@linkcode ClientOptions.port}. */
  port: number;
  /**
   * See {@linkcode ClientOptions.dial} (and {@linkcode ClientOptions.tls}, which becomes a
   * dialer); `undefined` is TCP to `hostname:port`.
   */
  dial: Dialer | undefined;
  /** See {@linkcode ClientOptions.connectTimeout}. */
  connectTimeout: number;
  /** See {@linkcode ClientOptions.reconnectInterval}. */
  reconnectInterval: number;
  /** See {@linkcode ClientOptions.reconnectTimeout}. */
  reconnectTimeout: number;
  /** See {@linkcode ClientOptions.backoff}. */
  backoff: Backoff;
  /** See {@linkcode ClientOptions.queueLimit}. */
  queueLimit: number;
  /** See {@linkcode ClientOptions.staleTimeout}. */
  staleTimeout: number;
  /** See {@linkcode ClientOptions.maxLineBytes}. */
  maxLineBytes: number;
  /** See {@linkcode ClientOptions.ack}. */
  ack: boolean;
  /** See {@linkcode ClientOptions.linger}. */
  linger: boolean;
  /** The server, then {@linkcode ClientOptions.fallbacks}: what a reconnect tries in turn. */
  servers: readonly ServerAddress[];
}

/**
 * Fills in the defaults of {@linkcode ClientOptions}.
 *
 * @example
 * ```ts
 * import { resolveClientOptions } from "./options.ts";
 * const options = resolveClientOptions({ port: 4000 });
 * console.assert(options.hostname === "127.0.0.1" && options.queueLimit === 100);
 * ```
 */
export function resolveClientOptions(options: ClientOptions = {}): ResolvedClientOptions {
  const reconnectInterval = options.reconnectInterval ?? 5;
  const hostname = options.hostname ?? "127.0.0.1";
  const port = options.port ?? 12345;
  const tls = options.tls === true ? {} : options.tls === false ? undefined : options.tls;
  const dialerFor = (hostname: string, port: number): Dialer | undefined =>
    tls === undefined ? undefined : (signal) => dialTls(hostname, port, signal, tls);
  const dial = options.dial ?? dialerFor(hostname, port);
  const fallbacks = options.dial === undefined ? options.fallbacks ?? [] : [];
  return {
    hostname,
    port,
    dial,
    servers: [
      { hostname, port, dial },
      ...fallbacks.map((f) => ({ ...f, dial: dialerFor(f.hostname, f.port) })),
    ],
    connectTimeout: options.connectTimeout ?? 5,
    reconnectInterval,
    reconnectTimeout: options.reconnectTimeout ?? 120,
    backoff: options.backoff ?? fixedBackoff(reconnectInterval * 1000),
    queueLimit: options.queueLimit ?? 100,
    staleTimeout: options.staleTimeout ?? 90,
    maxLineBytes: options.maxLineBytes ?? 65536,
    ack: options.ack ?? false,
    linger: options.linger ?? false,
  };
}
