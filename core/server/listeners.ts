/**
 * The sockets a server listens on, from its options: plain TCP on `port` (unless `tlsOnly`),
 * and TLS on `tlsPort` when a certificate and key are set. Used by {@linkcode startServer} when
 * it is given no listeners, and by the `server` program, which binds first so it can write its
 * token files for the real ports before anyone connects.
 * @module
 */

import type { ResolvedServerOptions } from "../config/options.ts";
import { fsReason } from "../config/path_checks.ts";
import type { StreamListener } from "../net/stream.ts";
import { listenTcp } from "../net/tcp.ts";
import { listenTls } from "../net/tls.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import { splitHostPort } from "../config/host_port.ts";
import { listenWeb } from "../web/listener.ts";

/**
 * Binds every port `options` asks for, plain first. Nothing stays bound when one fails.
 *
 * @throws {SwitchboardError} `tls-cert` or `tls-key` for a certificate or key file that cannot
 * be read or used (the message says why, without naming the setting), `tls-incomplete` when only
 * one of them is set, `tls-only` when `tlsOnly` is set without them, and what
 * {@linkcode listenTcp} and {@linkcode listenTls} throw.
 */
export async function bindListeners(options: ResolvedServerOptions): Promise<StreamListener[]> {
  const { tlsCert, tlsKey } = options;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new SwitchboardError("tls-incomplete", "TLS needs both a certificate and a key");
  }
  if (options.tlsOnly && tlsCert === undefined) {
    throw new SwitchboardError("tls-only", "TLS only, but no certificate and key are set");
  }
  const tls = tlsCert !== undefined && tlsKey !== undefined
    ? await readTlsFiles(tlsCert, tlsKey)
    : undefined;
  const bound: StreamListener[] = [];
  try {
    if (!options.tlsOnly) {
      bound.push(listenTcp(options.host, options.port));
    }
    if (tls !== undefined) bound.push(bindTls(options, options.tlsPort, tls));
    if (options.web !== "") bound.push(bindWeb(options, tls));
  } catch (error) {
    for (const listener of bound) listener.close();
    throw error;
  }
  return bound;
}

/**
 * The web chat listener of `options.web` (`core/web/`), over TLS with `pem` when `webTls` is set.
 * @throws {SwitchboardError} `bad-config` for an address that is not `host:port`, `tls-only`
 * for `webTls` without a certificate, and what `listenWeb` throws.
 */
export function bindWeb(options: ResolvedServerOptions, pem: TlsPem | undefined): StreamListener {
  const address = splitHostPort(options.web);
  if (address === undefined) {
    throw new SwitchboardError("bad-config", `web: "${options.web}" is not host:port`);
  }
  if (options.webTls && pem === undefined) {
    throw new SwitchboardError("tls-only", "webTls, but no certificate and key are set");
  }
  return listenWeb({
    hostname: address[0],
    port: address[1],
    tls: options.webTls ? pem : undefined,
    origins: options.webOrigins,
    proxies: options.webProxies,
  });
}

/** The certificate chain and key, as PEM text. */
export interface TlsPem {
  /** Certificate chain (PEM). */
  cert: string;
  /** Private key (PEM). */
  key: string;
}

/**
 * Reads the certificate and key files.
 *
 * @throws {SwitchboardError} `tls-cert` or `tls-key` for a file that cannot be read.
 */
export async function readTlsFiles(certPath: string, keyPath: string): Promise<TlsPem> {
  return { cert: await readPem("tls-cert", certPath), key: await readPem("tls-key", keyPath) };
}

/**
 * Listens for TLS on `port` of `options.host` with `pem`, with `SO_REUSEPORT` where the runtime
 * allows it (Linux, `--unstable-net`): a reload then opens a second listener with the new
 * certificate on the same port before it closes the first, so no connection is refused (see
 * `reload.ts`). Without it (another OS, no `--unstable-net`) the listener is bound as before and
 * a new certificate needs a restart; `listener.reusePort` says which.
 */
export function bindTls(
  options: ResolvedServerOptions,
  port: number,
  pem: TlsPem,
): StreamListener & { reusePort: boolean; retire(): void } {
  const settings = { ...pem, handshakeTimeoutMs: options.registerTimeout * 1000 };
  if (Deno.build.os === "linux") {
    try {
      const listener = listenTls(options.host, port, { ...settings, reusePort: true });
      return Object.assign(listener, { reusePort: true });
    } catch (error) {
      // Deno 2.9 refuses the option without `--unstable-net`; anything else is a real failure.
      if (!/unstable/i.test(String(error))) throw error;
    }
  }
  return Object.assign(listenTls(options.host, port, settings), { reusePort: false });
}

async function readPem(code: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    throw new SwitchboardError(code, `cannot read it (${fsReason(error)})`, { cause: error });
  }
}
