/**
 * Stable codes the server sends on the wire: error codes (`ERR <code>`), disconnect reasons
 * (`BYE <reason>`), and the error class the library throws.
 * @module
 */

/** Codes of `ERR <code> :<text>` lines. Stable: scripts may match on them. */
export type ErrorCode =
  | "bad-name"
  | "name-taken"
  | "name-reserved"
  | "not-registered"
  | "unknown-command"
  | "bad-args"
  | "no-such-user"
  | "no-such-group"
  | "group-exists"
  | "too-many-groups"
  | "not-allowed"
  | "too-many-attempts"
  | "login-failed"
  | "login-required"
  | "bad-session"
  | "mailbox-full"
  | "tls-required"
  | "line-too-long"
  | "bad-utf8"
  | "refused"
  | "server-full"
  | "too-many-connections"
  | "shutting-down"
  // `:reload` (issue 14): the new configuration does not validate; the old one stays.
  | "bad-config"
  // Files, transfers and remote commands (sb/1 additions).
  | "disabled"
  | "bad-file-name"
  | "file-exists"
  | "no-such-file"
  | "too-large"
  | "area-full"
  | "spool-full"
  | "bad-hash"
  | "incomplete"
  | "io-error"
  | "no-such-offer"
  | "no-such-command"
  | "timeout"
  | "run-failed"
  | "busy"
  // A cluster node cannot reach its bus, so it cannot check that a name is free cluster-wide.
  | "cluster-unavailable"
  // `:shutdown node <slot>`: no node of the cluster holds that slot (or this server is no node).
  | "no-such-node";

/** Why a connection ended; sent as `BYE <reason>`, logged and counted. */
export type DisconnectReason =
  | "quit"
  | "idle"
  | "stale"
  | "slow-consumer"
  | "kicked"
  | "replaced"
  | "server-full"
  | "refused"
  | "denied"
  | "shutdown"
  | "protocol-error"
  | "read-error"
  | "write-error"
  // A user of another cluster node that stopped answering (only ever seen in `LEAVE`).
  | "node-lost";

/** Every disconnect reason, in a stable order (used by `:stats`). */
export const DISCONNECT_REASONS: readonly DisconnectReason[] = [
  "quit",
  "idle",
  "stale",
  "slow-consumer",
  "kicked",
  "replaced",
  "server-full",
  "refused",
  "denied",
  "shutdown",
  "protocol-error",
  "read-error",
  "write-error",
  "node-lost",
];

/** Reasons that mean something went wrong; they are logged as warnings. */
export const ABNORMAL_REASONS: ReadonlySet<DisconnectReason> = new Set([
  "slow-consumer",
  "stale",
  "protocol-error",
  "read-error",
  "write-error",
]);

/**
 * An error from the Switchboard library, carrying a stable `code`.
 *
 * @example
 * ```ts
 * import { SwitchboardError } from "./errors.ts";
 * const err = new SwitchboardError("address-in-use", "port 12345 is already in use");
 * console.assert(err.code === "address-in-use");
 * ```
 */
export class SwitchboardError extends Error {
  /** Machine-readable code, e.g. `address-in-use`. */
  readonly code: string;
  /** Creates an error with a code and a message for a person. */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SwitchboardError";
    this.code = code;
  }
}
