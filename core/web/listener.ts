/**
 * The web chat listener (`--web`): one `Deno.serve` that serves the page (`GET /`, the files of
 * `web/chat/`) and takes WebSockets on `GET /ws`. It is a {@linkcode StreamListener}: every
 * WebSocket it upgrades becomes a {@linkcode WebSocketStream} that the server's accept loop takes
 * like a TCP connection, so admission, limits, logging and stats apply unchanged.
 *
 * - **Origin**: a browser's upgrade is refused with 403 unless its `Origin` is the page's own
 *   (same host as the request's `Host`) or listed in `origins` (`*` allows any). A request without
 *   `Origin` is not from a browser page and is let through (another site cannot make a visitor's
 *   browser send one without it).
 * - **Proxies**: `X-Forwarded-For` (and `X-Forwarded-Proto: https` for a secure connection) are
 *   believed only from a peer in `proxies`; the client is the right-most address not itself a
 *   listed proxy. Otherwise the peer is the TCP peer.
 * @module
 */

import { bindError } from "../net/tcp.ts";
import { formatAddress } from "../protocol/grammar.ts";
import { CidrList, isIpAddress } from "../util/cidr.ts";
import {
  type ByteStream,
  ListenerClosed,
  type StreamAddress,
  type StreamListener,
} from "../net/stream.ts";
import { WebSocketStream } from "../net/websocket.ts";
import { pageFile } from "./page.ts";

/** What {@linkcode listenWeb} binds and how it checks upgrades. */
export interface WebListenOptions {
  /** Address to bind. */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Certificate and key (PEM): serve HTTPS and WSS. */
  tls?: { cert: string; key: string } | undefined;
  /** Origins allowed besides the page's own, e.g. `https://chat.example.org`; `*` allows any. */
  origins?: readonly string[];
  /** Networks of reverse proxies whose `X-Forwarded-For` is believed. */
  proxies?: readonly string[];
}

/** A bound web listener; `url` is the page's address. */
export interface WebListener extends StreamListener {
  /** `http://host:port/` (or `https://`). */
  readonly url: string;
}

/**
 * Binds the web listener. `security` is `"websocket"` (or `"websocket+tls"` with `tls`).
 *
 * @throws {SwitchboardError} `address-in-use` or `address-unavailable`, as `listenTcp`.
 */
export function listenWeb(options: WebListenOptions): WebListener {
  return new HttpWebListener(options);
}

class HttpWebListener implements WebListener {
  readonly addr: StreamAddress;
  readonly security: string;
  readonly url: string;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #origins: Set<string>;
  readonly #proxies: CidrList;
  readonly #tls: boolean;
  readonly #ready: ByteStream[] = [];
  #waiter: { resolve: (stream: ByteStream) => void; reject: (error: Error) => void } | undefined;
  #closed = false;

  constructor(options: WebListenOptions) {
    this.#origins = new Set(
      (options.origins ?? []).map((origin) => origin === "*" ? origin : new URL(origin).origin),
    );
    this.#proxies = new CidrList(options.proxies ?? []);
    this.#tls = options.tls !== undefined;
    this.security = this.#tls ? "websocket+tls" : "websocket";
    const where = formatAddress(options.hostname, options.port);
    const serveOptions = {
      hostname: options.hostname,
      port: options.port,
      onListen: () => {},
      ...(options.tls ?? {}),
    };
    try {
      this.#server = Deno.serve(serveOptions, (request, info) => this.#handle(request, info));
    } catch (error) {
      throw bindError(error, where) ?? error;
    }
    const { hostname, port } = this.#server.addr;
    this.addr = { hostname, port };
    const shown = hostname === "0.0.0.0" || hostname === "::" ? "localhost" : hostname;
    this.url = `${this.#tls ? "https" : "http"}://${formatAddress(shown, port)}/`;
  }

  accept(): Promise<ByteStream> {
    const next = this.#ready.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.#closed) return Promise.reject(new ListenerClosed());
    return new Promise((resolve, reject) => this.#waiter = { resolve, reject });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiter?.reject(new ListenerClosed());
    this.#waiter = undefined;
    for (const stream of this.#ready.splice(0)) stream.close();
    void this.#server.shutdown().catch(() => {});
  }

  async #handle(request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return plain(405, "method not allowed", { allow: "GET, HEAD" });
    }
    if (url.pathname === "/ws") return this.#upgrade(request, info);
    const file = await pageFile(url.pathname);
    if (file === undefined) return plain(404, "not found");
    return new Response(request.method === "HEAD" ? null : file.body, {
      headers: {
        "content-type": file.type,
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "content-security-policy":
          "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
      },
    });
  }

  #upgrade(request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Response {
    if (this.#closed) return plain(503, "shutting down");
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return plain(426, "this address takes WebSockets only", { upgrade: "websocket" });
    }
    if (!this.#originAllowed(request)) return plain(403, "origin not allowed");
    const peer = info.remoteAddr;
    const trusted = this.#proxies.matches(peer.hostname);
    const hostname = trusted
      ? forwardedClient(request, this.#proxies) ?? peer.hostname
      : peer.hostname;
    const secure = this.#tls ||
      (trusted && request.headers.get("x-forwarded-proto")?.trim().toLowerCase() === "https");
    let upgraded;
    try {
      upgraded = Deno.upgradeWebSocket(request);
    } catch {
      return plain(400, "bad WebSocket upgrade");
    }
    const stream = new WebSocketStream(upgraded.socket, { hostname, port: peer.port }, secure);
    if (this.#waiter !== undefined) {
      this.#waiter.resolve(stream);
      this.#waiter = undefined;
    } else {
      this.#ready.push(stream);
    }
    return upgraded.response;
  }

  #originAllowed(request: Request): boolean {
    const origin = request.headers.get("origin");
    if (origin === null) return true;
    if (this.#origins.has("*") || this.#origins.has(origin)) return true;
    const host = request.headers.get("host");
    try {
      return host !== null && new URL(origin).host === host.toLowerCase();
    } catch {
      return false;
    }
  }
}

/** The right-most `X-Forwarded-For` address that is not a listed proxy, if it is an address. */
function forwardedClient(request: Request, proxies: CidrList): string | undefined {
  const header = request.headers.get("x-forwarded-for");
  if (header === null) return undefined;
  const hops = header.split(",").map((hop) => hop.trim()).filter((hop) => hop !== "");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!.replace(/^\[(.*)\]$/, "$1");
    if (!isIpAddress(hop)) return undefined;
    if (i > 0 && proxies.matches(hop)) continue;
    return hop;
  }
  return undefined;
}

function plain(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}
