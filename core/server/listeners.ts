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
    ? { cert: await readPem("tls-cert", tlsCert), key: await readPem("tls-key", tlsKey) }
    : undefined;
  const bound: StreamListener[] = [];
  try {
    if (!options.tlsOnly) {
      bound.push(listenTcp(options.host, options.port));
    }
    if (tls !== undefined) {
      const listener = listenTls(options.host, options.tlsPort, {
        ...tls,
        handshakeTimeoutMs: options.registerTimeout * 1000,
      });
      bound.push(listener);
    }
  } catch (error) {
    for (const listener of bound) listener.close();
    throw error;
  }
  return bound;
}

async function readPem(code: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    throw new SwitchboardError(code, `cannot read it (${fsReason(error)})`, { cause: error });
  }
}
