/**
 * What a connection and the command handlers need from their server: options, the hub, the
 * backpressure gate, counters, logging and the shutdown switch. Keeps connection.ts and
 * commands.ts free of the accept loop.
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { CongestionGate } from "./congestion.ts";
import type { DisconnectReason } from "./errors.ts";
import type { Emitter, ServerEventMap } from "./events.ts";
import type { Hub, Peer } from "./hub.ts";
import type { ResolvedServerOptions } from "./options.ts";
import type { ServerStats, StatsCounter } from "./stats.ts";
import type { MessageLog } from "./message_log.ts";

/** Loggers by concern; categories are documented in core/log.ts. */
export interface ServerLoggers {
  server: Logger;
  conn: Logger;
  traffic: Logger;
  admin: Logger;
  limits: Logger;
}

/** Whoever issued a command: a client connection or the operator console. */
export interface Caller {
  /** Registered name, or "" before registration (the console is "server"). */
  readonly name: string;
  /** Has a name (the console always has: "server"). */
  readonly registered: boolean;
  /** Peer address as `ip:port`, or `console`. */
  readonly address: string;
  /** May run admin commands. */
  admin: boolean;
  /** The hub peer, once registered (never for the console). */
  readonly peer: Peer | undefined;
  /** Queues one server line (with its `\n`) to the caller. */
  send(line: string): void;
}

/** A connection as the server and commands see it. */
export interface ConnectionHandle extends Peer {
  readonly id: number;
  readonly address: string;
  /** Closes with a reason, telling the client with `BYE` when possible. */
  close(reason: DisconnectReason, text: string): Promise<void>;
}

/** The server seen from inside. */
export interface ServerContext {
  readonly options: ResolvedServerOptions;
  readonly hub: Hub;
  readonly gate: CongestionGate;
  readonly counters: StatsCounter;
  readonly log: ServerLoggers;
  /** The request log's message lines, batched; see `message_log.ts`. */
  readonly messages: MessageLog;
  readonly events: Emitter<ServerEventMap>;
  /** True once shutdown has begun. */
  readonly draining: boolean;
  /** Checks an admin token in constant time. */
  checkToken(token: string): boolean;
  /** Begins a graceful shutdown; resolves when it is done. */
  shutdown(options: { grace?: number; reason?: string }): Promise<void>;
  /** Current counters. */
  snapshot(): ServerStats;
}
