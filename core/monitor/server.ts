/**
 * The monitoring HTTP listener (`--http`), served with `Deno.serve`: `/healthz`, `/varz`,
 * `/connz`, `/metrics`, the dashboard (`/`, `/events`) and `POST /connz/<id>/kick`; see
 * docs/ops.md. The chat server starts it before it accepts anyone and closes it last in a
 * shutdown, so `/healthz` answers 503 for the whole drain.
 *
 * A flood is bounded: peers outside the access lists get 403 at once, at most `maxRequests`
 * requests are in flight (one more gets 503 without any work), and `/events` streams are
 * capped on their own (`sse.ts`).
 *
 * @example
 * ```ts
 * import { startServer } from "../server/server.ts";
 * await using server = await startServer({ port: 0, logDir: "", http: "127.0.0.1:0" });
 * const response = await fetch(`http://127.0.0.1:${server.httpAddr!.port}/healthz`);
 * console.assert((await response.json()).status === "ok");
 * ```
 * @module
 */

import { bindError } from "../net/tcp.ts";
import type { ResolvedServerOptions } from "../config/options.ts";
import { readTlsFiles, type TlsPem } from "../server/listeners.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import { formatAddress } from "../protocol/grammar.ts";
import { parseHostPort } from "../config/host_port.ts";
import { settleWithin } from "../util/time.ts";
import { ClosedConnections } from "./connz.ts";
import { Metrics } from "./metrics.ts";
import { json, route, type RouteParts } from "./routes.ts";
import { SnapshotStreams } from "./sse.ts";
import type { ClosedConnection, MonitorSource } from "./source.ts";

export type { ClosedConnection, MonitoredConnection, MonitorSource } from "./source.ts";

/** Options of {@linkcode startMonitor}. */
export interface MonitorOptions {
  /** `host:port`; port 0 picks a free one. */
  address: string;
  /** Serve HTTPS with this certificate and key. */
  tls?: TlsPem | undefined;
  /** Requests in flight at once, event streams not counted. @default {64} */
  maxRequests?: number;
  /** `/events` streams at once. @default {32} */
  maxStreams?: number;
}

/** A running monitoring listener. */
export interface Monitor {
  /** The address it listens on (the real port when started with port 0). */
  readonly addr: { hostname: string; port: number };
  /** `http` or `https`. */
  readonly scheme: "http" | "https";
  /** Starts answering from `source` (until then every request gets 503). */
  attach(source: MonitorSource): void;
  /** Notes a closed connection for `/connz`'s `closed` list. */
  closed(closed: ClosedConnection): void;
  /** Ends the event streams, stops listening and waits for requests in flight. */
  close(): Promise<void>;
}

const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;
/** The longest a shutdown waits for HTTP responses in flight. */
const CLOSE_WAIT_MS = 2000;

/**
 * Binds the listener.
 * @throws {SwitchboardError} `address-in-use`, `address-unavailable`, or `bad-config` for an
 * address that is not `host:port`.
 */
export function startMonitor(options: MonitorOptions): Monitor {
  const where = parseHostPort(options.address);
  if (where === undefined) {
    throw new SwitchboardError("bad-config", `http: "${options.address}" is not host:port`);
  }
  const maxRequests = options.maxRequests ?? 64;
  const closedRing = new ClosedConnections();
  let parts: RouteParts | undefined;
  let inFlight = 0;
  const secure = options.tls !== undefined;
  const handler = async (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => {
    if (parts === undefined) return json(503, { error: "starting" }, { "retry-after": "1" });
    const ip = info.remoteAddr.hostname.replace(IPV4_MAPPED, "$1");
    if (!parts.source.allowed(ip)) return json(403, { error: "your address is not allowed" });
    if (inFlight >= maxRequests) {
      return json(503, { error: "too many requests at once" }, { "retry-after": "1" });
    }
    inFlight++;
    try {
      return await route(parts, request, {
        ip,
        address: formatAddress(ip, info.remoteAddr.port),
        secure,
      });
    } finally {
      inFlight--;
    }
  };
  let server: Deno.HttpServer<Deno.NetAddr>;
  const shown = formatAddress(where.hostname, where.port);
  try {
    server = Deno.serve({
      hostname: where.hostname,
      port: where.port,
      ...(options.tls ?? {}),
      onListen: () => {},
      onError: () => json(500, { error: "internal error" }),
    }, handler);
  } catch (error) {
    throw bindError(error, shown, "serve HTTP on") ?? error;
  }
  let streams: SnapshotStreams | undefined;
  let closing: Promise<void> | undefined;
  return {
    addr: { hostname: server.addr.hostname, port: server.addr.port },
    scheme: secure ? "https" : "http",
    attach(source) {
      streams = new SnapshotStreams(source, { maxStreams: options.maxStreams ?? 32 });
      parts = {
        source,
        metrics: new Metrics(source),
        streams,
        closed: closedRing,
        startedAt: source.startedAt,
      };
    },
    closed(closed) {
      closedRing.add(closed);
    },
    close() {
      closing ??= (async () => {
        streams?.close();
        // Idle and half-sent requests do not hold a graceful shutdown (measured); a response
        // that a client reads very slowly could, so the wait is bounded.
        await settleWithin(server.shutdown(), CLOSE_WAIT_MS);
      })();
      return closing;
    },
  };
}

/**
 * The listener `options.http` asks for (HTTPS with `tlsCert` and `tlsKey` when `httpTls`), bound;
 * undefined when `http` is `""`.
 * @throws {SwitchboardError} as {@linkcode startMonitor}, and `tls-cert`, `tls-key` or
 * `tls-incomplete` for certificate files that cannot be used.
 */
export async function monitorFromOptions(
  options: ResolvedServerOptions,
): Promise<Monitor | undefined> {
  if (options.http === "") return undefined;
  let tls: TlsPem | undefined;
  if (options.httpTls) {
    if (options.tlsCert === undefined || options.tlsKey === undefined) {
      throw new SwitchboardError("tls-incomplete", "httpTls needs tlsCert and tlsKey");
    }
    tls = await readTlsFiles(options.tlsCert, options.tlsKey);
  }
  return startMonitor({ address: options.http, tls });
}
