/**
 * Why a client could not connect, as data: every failure is a {@linkcode ConnectError} with a
 * stable code and a message worded for a person that names its case ("connection refused",
 * "server full", …), so a program picks an exit code and a person reads the message.
 * @module
 */

import { SwitchboardError } from "../protocol/errors.ts";
import type { ErrEvent } from "../protocol/server_line.ts";
import { classifyTlsError } from "../net/tls.ts";

/** Every way connecting can fail. */
export type ConnectErrorCode =
  /** Nothing listens on that port (TCP connection refused). */
  | "refused"
  /** The host does not resolve, or no route leads to it. */
  | "unreachable"
  /** No connection, or no greeting, within the connect timeout. */
  | "timeout"
  /** The server's access list refused this address (`ERR refused`). */
  | "access-denied"
  /** The server has no room (`ERR server-full` or `ERR too-many-connections`). */
  | "server-full"
  /** The server is in its shutdown grace period (`ERR shutting-down`). */
  | "shutting-down"
  /** Something answered, but not like a Switchboard server. */
  | "not-switchboard"
  /** The server closed the connection before greeting. */
  | "closed"
  /** TLS: the server's certificate is not signed by a trusted authority. */
  | "tls-unknown-authority"
  /** TLS: the server's certificate is for another name. */
  | "tls-name-mismatch"
  /** TLS: the server's certificate has expired (or is not valid yet). */
  | "tls-expired"
  /** TLS: the server does not speak TLS (a plain TCP server). */
  | "tls-plain-server"
  /** TLS: the handshake failed for another reason. */
  | "tls-handshake";

/** The codes of the `tls-` family: a TLS connection could not be set up. */
export const TLS_CONNECT_ERRORS: readonly ConnectErrorCode[] = Object.freeze([
  "tls-unknown-authority",
  "tls-name-mismatch",
  "tls-expired",
  "tls-plain-server",
  "tls-handshake",
]);

/**
 * A failed connection attempt.
 *
 * @example
 * ```ts
 * import { ConnectError } from "./errors.ts";
 * const error = new ConnectError("refused", "127.0.0.1:1", "connection refused");
 * console.assert(error.code === "refused" && error.address === "127.0.0.1:1");
 * ```
 */
export class ConnectError extends SwitchboardError {
  /** What went wrong. */
  declare readonly code: ConnectErrorCode;
  /** The server address tried, `host:port` (IPv6 in brackets). */
  readonly address: string;
  /** Creates an error; `message` is shown to a person as is. */
  constructor(code: ConnectErrorCode, address: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "ConnectError";
    this.address = address;
  }
}

/**
 * Turns what a dialer threw (the `Deno.errors` of `Deno.connect`, or a failed TLS handshake
 * from `dialTls`: `tls-…` codes) into a
 * {@linkcode ConnectError}; returns `undefined` for an error that is not about reaching the
 * server (a missing permission, say), which the caller should rethrow.
 */
export function classifyConnectError(
  error: unknown,
  address: string,
  timeoutMs: number,
): ConnectError | undefined {
  if (error instanceof ConnectError) return error;
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  const cannot = (code: ConnectErrorCode, why: string) =>
    new ConnectError(code, address, `cannot connect to ${address}: ${why}`, { cause: error });
  const tls = classifyTlsError(error);
  if (tls !== undefined) return cannot(`tls-${tls.problem}`, tls.why);
  if (error instanceof Deno.errors.ConnectionRefused) {
    return cannot(
      "refused",
      "connection refused (no server is listening there; is it running, and is the port right?)",
    );
  }
  if (error instanceof Deno.errors.TimedOut || name === "TimeoutError" || name === "AbortError") {
    return timeoutError(address, timeoutMs, error);
  }
  if (error instanceof Deno.errors.NetworkUnreachable || name === "HostUnreachable") {
    return cannot("unreachable", `host unreachable (${message})`);
  }
  if (
    /lookup address|Name or service not known|nodename nor servname|No such host/i.test(message)
  ) {
    return cannot("unreachable", "host not found (the name does not resolve)");
  }
  if (error instanceof Deno.errors.AddrNotAvailable || /unreachable/i.test(message)) {
    return cannot("unreachable", `host unreachable (${message})`);
  }
  if (
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe
  ) {
    // A listener that is closing (a restart) or whose queue is full resets the handshake.
    return new ConnectError(
      "closed",
      address,
      `${address} reset the connection before greeting (${message})`,
      { cause: error },
    );
  }
  return undefined;
}

/** The error for a connection or greeting that took longer than `timeoutMs`. */
export function timeoutError(address: string, timeoutMs: number, cause?: unknown): ConnectError {
  return new ConnectError(
    "timeout",
    address,
    `cannot connect to ${address}: connection timed out (no answer within ${timeoutMs / 1000} s)`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Turns the `ERR` line a server sends instead of `HELLO` into a {@linkcode ConnectError}:
 * `refused` is access denied; `server-full` and `too-many-connections` are server full.
 */
export function refusalError(event: ErrEvent, address: string): ConnectError {
  const why = event.text === "" ? event.code : event.text;
  switch (event.code) {
    case "refused":
      return new ConnectError(
        "access-denied",
        address,
        `${address} refused this client: access denied (${why})`,
      );
    case "server-full":
    case "too-many-connections":
      return new ConnectError(
        "server-full",
        address,
        `cannot join ${address}: server full (${why})`,
      );
    case "shutting-down":
      return new ConnectError(
        "shutting-down",
        address,
        `cannot join ${address}: the server is shutting down (${why})`,
      );
    default:
      return new ConnectError(
        "not-switchboard",
        address,
        `${address} answered with an error instead of a greeting: ${event.code} (${why})`,
      );
  }
}
