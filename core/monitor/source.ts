/**
 * What the monitoring listener reads from its server: the {@linkcode MonitorSource} the server
 * hands it, and the {@linkcode MonitoredConnection} fields of each open connection. The monitor
 * only reads (and kicks through {@linkcode MonitorSource.kick}); it never holds a connection.
 * @module
 */

import type { ClusterState } from "../server/context.ts";
import type { ResolvedServerOptions } from "../config/options.ts";
import type { Accounts } from "../server/accounts.ts";
import type { AttemptLimiter } from "../server/attempts.ts";
import type { ServerLoggers } from "../server/context.ts";
import type { ServerStats } from "../server/stats.ts";
import type { LogThrottle } from "../log/throttle.ts";
import type { DisconnectReason } from "../protocol/errors.ts";

/** An open connection as `/connz` sees it; the server's connections have these fields. */
export interface MonitoredConnection {
  readonly id: number;
  /** Registered name, or "" before registration. */
  readonly name: string;
  /** `ip:port`. */
  readonly address: string;
  /** Accepted on a TLS listener. */
  readonly secure: boolean;
  /** Has admin rights. */
  readonly admin: boolean;
  /** Groups it belongs to. */
  readonly groups: ReadonlySet<{ readonly name: string }>;
  /** When it was accepted (`Date.now()`). */
  readonly connectedAt: number;
  /** Its last line of its own (`performance.now()`), as of the last liveness sweep. */
  readonly lastActivity: number;
  /** Messages it sent that were recorded. */
  readonly messagesIn: number;
  /** Messages queued to it. */
  readonly messagesOut: number;
  /** Bytes read from it. */
  readonly bytesIn: number;
  /** Its outbound queue. */
  readonly outbound: { readonly bytesWritten: number; readonly queuedBytes: number };
}

/** The server as the monitoring listener sees it. */
export interface MonitorSource {
  /** The options in force. */
  readonly options: ResolvedServerOptions;
  /** True once a shutdown has begun. */
  readonly draining: boolean;
  /** When the server started (`Date.now()`). */
  readonly startedAt: number;
  /** Failed secret attempts and lockouts, shared with `:auth` and `:login`. */
  readonly attempts: AttemptLimiter;
  /** Accounts, for Basic authentication of admin accounts. */
  readonly accounts: Accounts;
  readonly log: ServerLoggers;
  readonly throttle: LogThrottle;
  /** Current counters. */
  snapshot(): ServerStats;
  /** The cluster this server is a node of (`--cluster`), else `undefined`. */
  readonly cluster?: { state(): ClusterState } | undefined;
  /** Checks an admin token in constant time. */
  checkToken(token: string): boolean;
  /** Open connections, in order of id. */
  connections(): Iterable<MonitoredConnection>;
  /** True when the access lists let `ip` in. */
  allowed(ip: string): boolean;
  /** Kicks connection `id` as `:kick` does; its name (maybe ""), or undefined when not open. */
  kick(id: number, text: string): string | undefined;
}

/** A connection that closed, as `/connz` lists it under `closed`. */
export interface ClosedConnection {
  connection: MonitoredConnection;
  reason: DisconnectReason;
}
