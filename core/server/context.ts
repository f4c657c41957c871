/**
 * What a connection and the command handlers need from their server: options, the hub, the
 * backpressure gate, counters, logging and the shutdown switch. Keeps connection.ts and
 * commands.ts free of the accept loop.
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { PayloadSource } from "../protocol/payload.ts";
import type { CongestionGate } from "./congestion.ts";
import type { DisconnectReason } from "../protocol/errors.ts";
import type { Emitter } from "../util/emitter.ts";
import type { ServerEventMap } from "./events.ts";
import type { Hub, Peer } from "./hub.ts";
import type { ResolvedServerOptions } from "../config/options.ts";
import type { ServerStats, StatsCounter } from "./stats.ts";
import type { MessageLog } from "../log/message_log.ts";
import type { RunSlots } from "./commands/run_slots.ts";
import type { Recorder } from "./record.ts";
import type { ServerFiles } from "./files/server_files.ts";
import type { LogThrottle } from "../log/throttle.ts";
import type { AttemptLimiter } from "./attempts.ts";
import type { Accounts } from "./accounts.ts";
import type { Sessions } from "./sessions.ts";
import type { Mailbox, Waiting } from "./offline.ts";
import type { ReloadResult } from "./reload.ts";
import type { HistoryStore } from "./history/store.ts";

/** Loggers by concern; categories are documented in core/log/configure.ts. */
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
  /** Peer IP address without port, or `console`: what repeated warnings are counted by. */
  readonly ip: string;
  /**
   * The caller's stream is TLS: what it sends is encrypted on the way. False for plain TCP and for
   * the console (which is no network stream: it counts as local, see `plain_secrets.ts`).
   */
  readonly secure: boolean;
  /** May run admin commands. */
  admin: boolean;
  /** The account logged in to with `:login`, if any (never for the console). */
  account: string | undefined;
  /** The hub peer, once registered (never for the console). */
  readonly peer: Peer | undefined;
  /** Queues one server line (with its `\n`) to the caller. */
  send(line: string): void;
  /** The connection behind the caller, for commands that move bytes or wait (not the console). */
  readonly session?: Session | undefined;
}

/**
 * Takes a sized payload as it arrives. The connection stops reading its socket while a `write`
 * is pending, so a slow disk slows the sender instead of filling memory. `write` must not throw:
 * a sink that fails keeps swallowing bytes and reports the failure from `end`.
 */
export interface PayloadSink {
  /** The next piece of the payload; `piece` is only valid until the returned promise settles. */
  write(piece: Uint8Array): Promise<void> | void;
  /** Every byte arrived: finish and send the command's final line. */
  end(): Promise<void>;
  /** The connection broke before the last byte: remove whatever was stored. */
  abort(): Promise<void>;
}

/** Options of {@linkcode Session.defer}. */
export interface DeferOptions {
  /** Abort the task when the peer closes its sending side (used by `:run`). @default {false} */
  abortOnEof?: boolean;
}

/**
 * A client connection as the transfer, acknowledgement and remote-command features see it.
 * Everything here keeps the connection's order: a payload or a deferred task finishes before the
 * connection handles its next line, so replies stay in the order of the commands.
 */
export interface Session {
  /** Connection id, as in server events. */
  readonly id: number;
  /** True until the connection starts closing. */
  readonly open: boolean;
  /**
   * Reads the next `size` raw bytes of the connection into `sink` (its `end` runs once all
   * arrived) before any further line. Call it while handling the command line that announced the
   * payload, or from a task deferred by that command.
   */
  receive(size: number, sink: PayloadSink): void;
  /**
   * Runs `task` before the connection handles its next line. `signal` aborts when the connection
   * closes, the server shuts down, or (with `abortOnEof`) the peer stops sending.
   */
  defer(task: (signal: AbortSignal) => Promise<void>, options?: DeferOptions): void;
  /**
   * Sends `header`, then exactly `size` bytes read from `source`, then `trailer`; lines for this
   * connection that arrive meanwhile wait and follow the trailer. The queue is filled only up to
   * its high-water mark, so neither this client nor anyone else is held up by the backpressure
   * gate. Resolves true once everything is queued; false if the connection closed (a payload
   * that cannot be completed closes the connection, since its framing would be lost).
   */
  sendPayload(
    header: string,
    source: PayloadSource,
    size: number,
    trailer: string,
    signal: AbortSignal,
  ): Promise<boolean>;
  /** Queues one line once the queue is below half its high-water mark; false if closed. */
  sendPaced(line: string, signal: AbortSignal): Promise<boolean>;
  /** Resolves once everything queued so far has been written (or the connection failed). */
  flushed(): Promise<void>;
  /** Turns message acknowledgements on (numbering restarts at 1) or off. */
  setAck(on: boolean): void;
  /**
   * Registers the connection under `name` without the checks of a name line (an account's name,
   * after `:login`): joins the hub, sends `WELCOME`.
   */
  registerAs(name: string): void;
  /** Queues one line already encoded (with its newline), as any other line to this client. */
  deliverLine(line: Uint8Array): void;
  /** Opens the connection's session and sends `SESSION <token>` (after `OK login`). */
  openSession(): void;
  /** Whether `MSG` and `PM` lines come with their ids (`@<id> MSG …`). */
  readonly ids: boolean;
  /** Turns message ids on or off (`:ids`). */
  setIds(on: boolean): void;
  /**
   * Takes over the session of `token` (`:resume`, before a name): `WELCOME`, `SESSION`, the
   * messages the client did not see, `OK resume <count>`; or `ERR bad-session`. `lastIds` are the
   * newest message ids it saw, one per cluster node (one id on a single server).
   */
  resume(token: string, lastIds: readonly number[]): void;
  /** Whether message acknowledgements are on. */
  readonly ack: boolean;
}

/** A connection as the server and commands see it. */
export interface ConnectionHandle extends Peer {
  readonly id: number;
  readonly address: string;
  /** Closes with a reason, telling the client with `BYE` when possible. */
  close(reason: DisconnectReason, text: string): Promise<void>;
}

/** One cluster node's counters, as `:stats` shows them (`STAT node.<slot>.<key> <value>`). */
export interface NodeStats {
  /** The node's numbering slot. */
  readonly slot: number;
  /** Its users, connections, messages recorded and deliveries. */
  readonly stats: Readonly<Record<string, number>>;
}

/** A session of another node, taken over for a `:resume` here. */
export interface SessionTakeover {
  /** The user's name (already taken over in the cluster's name bucket). */
  readonly name: string;
  /** The names of its groups. */
  readonly groups: readonly string[];
  /** When the session began (ms since the epoch): what the replay starts from. */
  readonly start: number;
  /** Admin rights it carries. */
  readonly admin: boolean;
  /** The account it is logged in as. */
  readonly account?: string | undefined;
}

/** What the server asks of its cluster (`core/cluster/`): names unique cluster-wide, per-node stats. */
export interface ClusterView {
  /** Takes over a session another node holds (or held, if it was lost); or says why not. */
  takeOverSession(token: string): Promise<SessionTakeover | { refused: string }>;
  /** Puts `peer` in the place of the user whose session it took over. */
  placeSession(peer: Peer, takeover: SessionTakeover): void;
  /** Claims `name` for a user of this node: `ok`, `taken` elsewhere, or `unavailable` (no bus). */
  claim(name: string): Promise<"ok" | "taken" | "unavailable">;
  /** Gives `name` up. */
  release(name: string): void;
  /** Every node's counters that answer within a second, this one's first. */
  nodeStats(): Promise<readonly NodeStats[]>;
  /** The cluster as this node sees it now, for monitoring. */
  state(): ClusterState;
  /**
   * The offline private messages the other nodes keep for `account`, oldest first (`:login`):
   * whatever arrives within a second, lent until `confirm()` says they were queued to the
   * connection (unconfirmed, they go back to their nodes).
   */
  takeMail(account: string): Promise<{ readonly mail: readonly Waiting[]; confirm(): void }>;
  /**
   * Asks the node holding numbering slot `slot` (another one) to shut down gracefully, with its
   * own grace period unless `grace` is given (`:shutdown node <slot>`).
   */
  shutdownNode(slot: number, grace?: number, reason?: string): Promise<NodeShutdown>;
}

/**
 * How `:shutdown node` went: the node is shutting down, no node holds that slot, or the bus is
 * away.
 */
export type NodeShutdown = "ok" | "no-such-node" | "unavailable";

/** A cluster node's view of its cluster (`/varz`, `/metrics`). */
export interface ClusterState {
  /** The cluster's name (`--cluster-name`). */
  readonly name: string;
  /** This node's numbering slot. */
  readonly slot: number;
  /** Whether the bus is reachable now. */
  readonly up: boolean;
  /** Nodes heard from lately, this one included. */
  readonly nodes: number;
  /**
   * Batches for other nodes dropped since start because the link was down and the outbox full
   * (their lobby senders with acknowledgements on got `NACK … cluster-unavailable`).
   */
  readonly dropped: number;
}

/** The server seen from inside. */
export interface ServerContext {
  /** The options in force: a reload replaces them, so read them when acting, not once. */
  readonly options: ResolvedServerOptions;
  readonly hub: Hub;
  readonly gate: CongestionGate;
  readonly counters: StatsCounter;
  readonly log: ServerLoggers;
  /** The request log's message lines, batched; see `message_log.ts`. */
  readonly messages: MessageLog;
  /** The shared file area and the `:send` spool, opened on first use. */
  readonly files: ServerFiles;
  /** The recording point every accepted message passes through; see `record.ts`. */
  readonly recorder: Recorder;
  /** Logs the warnings a client can trigger at will, summarising repeats; see `log_throttle.ts`. */
  readonly throttle: LogThrottle;
  /**
   * Failed secret attempts per address and the lockouts they earn, shared by everything that
   * checks a secret (`:auth` now); see `attempts.ts`.
   */
  readonly attempts: AttemptLimiter;
  /** The accounts `:login` checks, whose names are reserved; see `accounts.ts`. */
  readonly accounts: Accounts;
  /** Private messages waiting for offline account holders; see `offline.ts`. */
  readonly mailbox: Mailbox;
  /** Sessions that outlive a broken connection (`SESSION`, `:resume`); see `sessions.ts`. */
  readonly sessions: Sessions;
  /**
   * The message history and the offline private messages (`history/store.ts`), or `undefined`
   * when `history` is `""`.
   */
  readonly history: HistoryStore | undefined;
  readonly events: Emitter<ServerEventMap>;
  /** Cluster-wide names when the server is a cluster node (`--cluster`), else `undefined`. */
  readonly cluster: ClusterView | undefined;
  /** Programs started by `:run`, counted against `--max-running`. */
  readonly runSlots: RunSlots;
  /** True once shutdown has begun. */
  readonly draining: boolean;
  /** Checks an admin token in constant time. */
  checkToken(token: string): boolean;
  /**
   * Re-reads and applies the configuration (see `reload.ts`); rejects with a `SwitchboardError`
   * (`bad-config` …) and changes nothing when it cannot.
   */
  reload(): Promise<ReloadResult>;
  /** Begins a graceful shutdown; resolves when it is done. */
  shutdown(options: { grace?: number; reason?: string }): Promise<void>;
  /** Current counters. */
  snapshot(): ServerStats;
}
