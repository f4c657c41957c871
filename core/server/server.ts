/**
 * The Switchboard server: accepts connections, refuses the ones its limits and access lists
 * say no to, runs one {@linkcode Connection} task for each of the others, sweeps them for
 * liveness on one timer, and shuts down gracefully.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { Admission, type Refusal, turnAway } from "./_admission.ts";
import { AttemptLimiter } from "./attempts.ts";
import { Accounts } from "./accounts.ts";
import { Sessions } from "./sessions.ts";
import { type Mailbox, MemoryMailbox } from "./offline.ts";
import { HistoryMailbox } from "./history/mailbox.ts";
import { ClusterNode } from "../cluster/node.ts";
import { clusterAuth, joinFailure } from "../cluster/nats_auth.ts";
import { ignoreStrayResets, recentStrayError } from "../cluster/stray_resets.ts";

const DAY_MS = 24 * 3600 * 1000;
import { type AccountsData, readAccountsFile } from "../config/accounts_file.ts";
import { CongestionGate } from "./congestion.ts";
import { Connection, type ConnectionOwner } from "./_connection.ts";
import { runConsoleLine } from "./_console.ts";
import type { ServerContext, ServerLoggers } from "./context.ts";
import type { ServerEventMap } from "./events.ts";
import { ServerFiles } from "./files/server_files.ts";
import { Hub } from "./hub.ts";
import { sweepInterval } from "./liveness.ts";
import { Recorder } from "./record.ts";
import { openHistory } from "./history/open.ts";
import type { HistoryStore } from "./history/store.ts";
import { type ServerStats, StatsCounter } from "./stats.ts";
import { RunSlots } from "./commands/run_slots.ts";
import {
  type ResolvedServerOptions,
  resolveOptions,
  type ServerOptions,
} from "../config/options.ts";
import { LogThrottle } from "../log/throttle.ts";
import { InfoTemplate, logInfo } from "../log/fast_info.ts";
import { MessageLog } from "../log/message_log.ts";
import {
  type ByteStream,
  HandshakeFailed,
  ListenerClosed,
  PeerGoneBeforeAccept,
  type StreamListener,
} from "../net/stream.ts";
import { bindListeners, bindTls, readTlsFiles, type TlsPem } from "./listeners.ts";
import {
  logReload,
  planReload,
  RELOAD_STEPS,
  type ReloadResult,
  type ReloadTarget,
} from "./reload.ts";
import { type DisconnectReason, SwitchboardError } from "../protocol/errors.ts";
import { formatAddress } from "../protocol/grammar.ts";
import { constantTimeEqual } from "../util/constant_time.ts";
import { Emitter } from "../util/emitter.ts";
import { settleWithin, sleep } from "../util/time.ts";
import { type Monitor, type MonitoredConnection, monitorFromOptions } from "../monitor/server.ts";

/** A running server. Dispose it (`await using`) or call {@linkcode Server.shutdown} to stop it. */
export interface Server extends AsyncDisposable {
  /** The address of its first listener (the real port when started with port 0). */
  readonly addr: { hostname: string; port: number };
  /** The addresses of all its listeners, in the order given. */
  readonly addrs: readonly { hostname: string; port: number }[];
  /** The options in force, defaults filled in. */
  readonly options: ResolvedServerOptions;
  /** The address of the monitoring HTTP listener (`http`), or undefined when it is off. */
  readonly httpAddr: { hostname: string; port: number; scheme: "http" | "https" } | undefined;
  /** Resolves when the server has closed every connection and its listener. */
  readonly finished: Promise<void>;
  /** Subscribes to a server event; returns an unsubscribe function. */
  on<K extends keyof ServerEventMap>(
    event: K,
    listener: (payload: ServerEventMap[K]) => void,
  ): () => void;
  /** Counters: connections, messages, deliveries, disconnects by reason … */
  stats(): ServerStats;
  /**
   * Runs one line as the operator console: a `:command` with admin rights, `exit` to shut down,
   * anything else is broadcast as `MSG server * :<text>`. Returns the reply lines; a command
   * that answers later (`:reload`) hands its reply to `late`.
   */
  console(line: string, late?: (reply: string) => void): string[];
  /** Graceful shutdown: stop accepting, handle what was read, `BYE shutdown`, drain, close. */
  shutdown(options?: { grace?: number; reason?: string }): Promise<void>;
  /**
   * Re-reads the configuration through {@linkcode ServerOptions.reloadOptions} and applies it
   * without dropping a connection, except those the new access lists refuse (`BYE denied`).
   * Settings that need a restart keep their old value and are logged. Reloads run one at a time.
   *
   * @example
   * ```ts
   * import { startServer } from "./server.ts";
   * let maxClients = 10;
   * await using server = await startServer({
   *   port: 0,
   *   logDir: "",
   *   reloadOptions: () => Promise.resolve({ port: 0, logDir: "", maxClients }),
   * });
   * maxClients = 20;
   * const result = await server.reload();
   * console.assert(result.applied.includes("maxClients") && server.options.maxClients === 20);
   * ```
   * @throws {SwitchboardError} `bad-config` when the new configuration is invalid (nothing is
   * applied; the message says why), `disabled` without `reloadOptions`, `shutting-down` during a
   * shutdown.
   */
  reload(): Promise<ReloadResult>;
}

const encoder = new TextEncoder();
const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;
/** The least time a shutdown gives its `BYE` lines to go out, when handling used the grace. */
const MIN_GOODBYE_MS = 250;
/** The longest pause of the accept loop after failures that mean the listener is in trouble. */
const MAX_ACCEPT_BACKOFF_MS = 1000;
const CONNECTED = new InfoTemplate("connected {peer}");

/**
 * Starts a server and resolves once it accepts connections.
 *
 * `listeners`, when given, are sockets already bound (with `listenTcp` from `core/net/tcp.ts`,
 * or any {@linkcode StreamListener}: the transport seam); the server accepts from all of them
 * instead of binding `options.host` and `options.port` (and `options.tlsPort` when
 * `options.tlsCert` and `options.tlsKey` are set: see `listeners.ts`), and closes them when it
 * stops. Binding
 * first lets a program do what needs the real port (the `server` program writes its token
 * file) before the server logs `listening on` and accepts anyone.
 *
 * @example
 * ```ts
 * import { startServer } from "./server.ts";
 * await using server = await startServer({ port: 0 });
 * const conn = await Deno.connect({ port: server.addr.port });
 * conn.close();
 * ```
 * @throws {SwitchboardError} `address-in-use` when the port is taken, `address-unavailable`
 * when the host is not an address of this machine, `history` when the `history` file cannot be
 * used (not a database, a folder that cannot be written).
 */
export async function startServer(
  options: ServerOptions = {},
  listeners?: StreamListener | readonly StreamListener[],
): Promise<Server> {
  const resolved = resolveOptions(options);
  // Built first: they check their options, and nothing is left open if that throws.
  const throttle = new LogThrottle({ windowMs: resolved.logRepeatWindow * 1000 });
  const attempts = new AttemptLimiter({
    maxFailures: resolved.authMaxFailures,
    lockoutMs: resolved.authLockout * 1000,
  });
  const accountsData = resolved.accounts === undefined
    ? undefined
    : await readAccountsFile(resolved.accounts);
  const accounts = new Accounts(accountsData);
  // Retention reads the limits in force when it runs: a reload may change them.
  const running: { server?: SwitchboardServer } = {};
  const history = openHistory(resolved, () => running.server?.options ?? resolved);
  const given = listeners === undefined ? [] : Array.isArray(listeners) ? listeners : [listeners];
  let bound: readonly StreamListener[];
  let monitor: Monitor | undefined;
  try {
    monitor = await monitorFromOptions(resolved);
    bound = given.length > 0 ? given : await bindListeners(resolved);
  } catch (error) {
    await monitor?.close();
    history?.close();
    throw error;
  }
  // What the TLS listener serves, so a reload can tell whether the files changed (a renewal keeps
  // their paths). Unreadable now: the next reload replaces the listener anyway.
  const tlsPem = resolved.tlsCert !== undefined && resolved.tlsKey !== undefined
    ? await readTlsFiles(resolved.tlsCert, resolved.tlsKey).catch(() => undefined)
    : undefined;
  const server = new SwitchboardServer(
    resolved,
    bound,
    {
      throttle,
      attempts,
      accounts,
      accountsData,
      history,
    },
    tlsPem,
    monitor,
  );
  running.server = server;
  if (server.cluster !== undefined) {
    ignoreStrayResets();
    try {
      await server.cluster.start();
    } catch (error) {
      await server.shutdown({ grace: 0 });
      const why = joinFailure(error, resolved.cluster, clusterAuth(resolved), recentStrayError());
      throw new SwitchboardError("cluster", `cannot join the cluster: ${why}`, { cause: error });
    }
  }
  await Promise.resolve();
  return server;
}

class SwitchboardServer implements Server, ServerContext {
  #options: ResolvedServerOptions;
  readonly addr: { hostname: string; port: number };
  readonly addrs: readonly { hostname: string; port: number }[];
  readonly hub: Hub;
  readonly gate = new CongestionGate();
  readonly counters: StatsCounter = new StatsCounter();
  readonly events = new Emitter<ServerEventMap>();
  readonly log: ServerLoggers = {
    server: getLogger(["switchboard", "server"]),
    conn: getLogger(["switchboard", "conn"]),
    traffic: getLogger(["switchboard", "traffic"]),
    admin: getLogger(["switchboard", "admin"]),
    limits: getLogger(["switchboard", "limits"]),
  };
  messages: MessageLog;
  readonly recorder: Recorder = new Recorder(this);
  readonly files: ServerFiles = new ServerFiles(this);
  readonly runSlots: RunSlots;
  readonly throttle: LogThrottle;
  /** This server as a cluster node (`--cluster`); see core/cluster/node.ts. */
  readonly cluster: ClusterNode | undefined;
  readonly attempts: AttemptLimiter;
  readonly accounts: Accounts;
  readonly sessions: Sessions;
  readonly mailbox: Mailbox;
  readonly history: HistoryStore | undefined;
  /** The accounts file as last read: a reload tells whether it changed. */
  #accountsData: AccountsData | undefined;
  readonly finished: Promise<void>;
  readonly startedAt: number = Date.now();
  readonly #monitor: Monitor | undefined;
  readonly #listeners: StreamListener[];
  readonly #connections = new Set<Connection>();
  readonly #tasks = new Set<Promise<void>>();
  /**
   * Connections whose task is still running: a shutdown waits for them all. A count, told by the
   * connections themselves, not their promises in `#tasks`: a `finally` on each cost about 350
   * bytes per connection (its closures, their contexts, a promise and a reaction).
   */
  #running = 0;
  /** Resolves the shutdown's wait once `#running` is down to 0. */
  #allEnded: (() => void) | undefined;
  /** Told by every connection when it closes and when its task ends. */
  readonly #owner: ConnectionOwner = {
    connectionClosed: (connection, reason) => this.#forget(connection, reason),
    connectionEnded: () => {
      if (--this.#running === 0) this.#allEnded?.();
    },
  };
  readonly #admission: Admission;
  #token: Uint8Array | undefined;
  #sweeper: ReturnType<typeof setInterval>;
  readonly #acceptLoops = new Set<Promise<void>>();
  /** Listeners a reload replaced, still finishing their handshakes in flight. */
  readonly #retired = new Set<StreamListener>();
  #tlsPem: TlsPem | undefined;
  /** The reload running or last run: the next one waits for it. */
  #reloading: Promise<unknown> = Promise.resolve();
  #nextId = 1;
  #draining = false;
  #shutdown: Promise<void> | undefined;
  #finish!: () => void;

  constructor(
    options: ResolvedServerOptions,
    listeners: readonly StreamListener[],
    guards: {
      throttle: LogThrottle;
      attempts: AttemptLimiter;
      accounts: Accounts;
      accountsData: AccountsData | undefined;
      history: HistoryStore | undefined;
    },
    tlsPem: TlsPem | undefined,
    monitor: Monitor | undefined,
  ) {
    this.#options = options;
    this.#monitor = monitor;
    this.#tlsPem = tlsPem;
    this.throttle = guards.throttle;
    this.attempts = guards.attempts;
    this.accounts = guards.accounts;
    this.#accountsData = guards.accountsData;
    this.history = guards.history;
    if (this.history !== undefined) {
      // Ids stay unique and increasing across restarts: numbering goes on after the history's.
      this.recorder.continueAt(this.history.lastId + 1);
      this.recorder.addKeeper(this.history);
    }
    // Offline private messages: in the history's file when there is one, else in memory.
    const history = this.history;
    this.mailbox = history !== undefined
      ? new HistoryMailbox(history, () => this.options.offlineMax)
      : new MemoryMailbox(options.offlineMax, options.historyDays * DAY_MS || Infinity);
    this.messages = new MessageLog(this.log.traffic, options.logMessages);
    this.#listeners = [...listeners];
    this.addrs = listeners.map(({ addr }) => ({ hostname: addr.hostname, port: addr.port }));
    this.addr = this.addrs[0]!;
    this.hub = new Hub({
      announceLimit: options.announceLimit,
      reservedNames: options.reservedNames,
    });
    this.sessions = new Sessions({
      hub: this.hub,
      resumeGrace: () => this.options.resumeGrace,
      resumeMaxBytes: () => this.options.resumeMaxBytes,
      nextId: () => this.recorder.nextId,
      draining: () => this.#draining,
      ended: (name, reason, why) =>
        this.log.conn.info("session of {name} ended ({reason}): {why}", { name, reason, why }),
    });
    this.recorder.addKeeper(this.sessions);
    this.recorder.addKeeper(this.mailbox);
    this.cluster = options.cluster.length === 0 ? undefined : new ClusterNode(
      {
        hub: this.hub,
        recorder: this.recorder,
        gate: this.gate,
        stats: () => this.snapshot(),
        sessions: this.sessions,
        resumeGrace: () => this.options.resumeGrace,
        log: getLogger(["switchboard", "cluster"]),
        mailbox: this.mailbox,
        shutdown: (options) => void this.shutdown(options),
      },
      {
        urls: options.cluster,
        name: options.clusterName,
        auth: clusterAuth(options),
        outboxBytes: options.clusterOutboxBytes,
        rosterChunk: options.clusterRosterChunk,
      },
    );
    this.runSlots = new RunSlots(options.maxRunning);
    this.#admission = new Admission(options);
    this.#token = tokenBytes(options.adminToken);
    this.finished = new Promise((resolve) => this.#finish = resolve);
    this.#sweeper = setInterval(() => this.#sweep(), sweepInterval(options));
    for (const listener of listeners) this.#startAccepting(listener);
    options.signal?.addEventListener("abort", () => void this.shutdown(), { once: true });
    monitor?.attach(this);
    for (const [i, addr] of this.addrs.entries()) {
      const address = formatAddress(addr.hostname, addr.port);
      const security = listeners[i]?.security;
      if (security === undefined) {
        this.log.server.info("listening on {address} in {mode} mode", {
          address,
          mode: options.mode,
        });
      } else {
        this.log.server.info("listening on {address} ({security}) in {mode} mode", {
          address,
          security,
          mode: options.mode,
        });
      }
      this.events.emit("listening", { ...addr });
    }
  }

  /** The options in force; a reload replaces them. */
  get options(): ResolvedServerOptions {
    return this.#options;
  }

  /** True once a shutdown has begun. */
  get draining(): boolean {
    return this.#draining;
  }

  get httpAddr(): { hostname: string; port: number; scheme: "http" | "https" } | undefined {
    const monitor = this.#monitor;
    return monitor === undefined ? undefined : { ...monitor.addr, scheme: monitor.scheme };
  }

  /** Open connections, in order of id (for the monitor). */
  connections(): Iterable<MonitoredConnection> {
    return this.#connections;
  }

  /** True when the access lists let `ip` in (for the monitor). */
  allowed(ip: string): boolean {
    return this.#admission.allowed(ip);
  }

  /** Kicks connection `id` as `:kick` does (for the monitor); its name, or undefined. */
  kick(id: number, text: string): string | undefined {
    for (const connection of this.#connections) {
      if (connection.id !== id) continue;
      if (!connection.open) return undefined;
      void connection.close("kicked", text);
      return connection.name;
    }
    return undefined;
  }

  on<K extends keyof ServerEventMap>(
    event: K,
    listener: (payload: ServerEventMap[K]) => void,
  ): () => void {
    return this.events.on(event, listener);
  }

  stats(): ServerStats {
    return this.snapshot();
  }

  snapshot(): ServerStats {
    let bytesOut = this.counters.bytesOut;
    let backedUp = 0;
    for (const { outbound } of this.#connections) {
      bytesOut += outbound.bytesWritten;
      if (outbound.congested) backedUp++;
    }
    return {
      ...this.counters.snapshot({
        connections: this.#connections.size,
        online: this.hub.online,
        groups: [...this.hub.groups()].length,
        backedUp,
        lockouts: this.attempts.lockouts,
        attemptsRefused: this.attempts.refused,
      }),
      bytesOut,
    };
  }

  checkToken(token: string): boolean {
    if (this.#token === undefined) return false;
    return constantTimeEqual(encoder.encode(token), this.#token);
  }

  console(line: string, late?: (reply: string) => void): string[] {
    return runConsoleLine(this, line, late);
  }

  shutdown(options: { grace?: number; reason?: string } = {}): Promise<void> {
    this.#shutdown ??= this.#shutDown(
      options.grace ?? this.options.shutdownGrace,
      options.reason ?? "server shutting down",
    );
    return this.#shutdown;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  async #shutDown(grace: number, reason: string): Promise<void> {
    this.#draining = true;
    this.log.server.info("shutting down ({reason}), grace {grace} s, {count} connections", {
      reason,
      grace,
      count: this.#connections.size,
    });
    this.events.emit("shutdown", { reason, grace });
    for (const listener of [...this.#listeners, ...this.#retired]) listener.close();
    await Promise.all(this.#acceptLoops);
    // Connections read nothing more. What they had read is handled before anyone is told
    // goodbye, with backpressure on, within half the grace period: a line still waiting then is
    // not handled, and so never acknowledged. The other half at least is for delivering what
    // was acknowledged, and the goodbyes.
    const deadline = performance.now() + grace * 1000;
    this.sessions.dropAll();
    for (const connection of this.#connections) connection.release();
    await settleWithin(
      Promise.all([...this.#connections].map((connection) => connection.settled())),
      grace * 500,
    );
    // Whatever the handling took, the goodbyes get a moment to go out.
    const waitMs = Math.max(MIN_GOODBYE_MS, deadline - performance.now());
    await Promise.all([...this.#connections].map((c) => c.close("shutdown", reason, waitMs)));
    this.hub.close();
    clearInterval(this.#sweeper);
    await Promise.all(this.#tasks);
    if (this.#running > 0) await new Promise<void>((resolve) => this.#allEnded = resolve);
    await this.cluster?.close();
    // Everything recorded is in the history file before the server says it is closed.
    this.history?.close();
    this.messages.flush();
    // The monitor answers (503 on /healthz) until everything else is done.
    await this.#monitor?.close();
    // The summaries of repeated warnings go out before the caller disposes the log sinks.
    this.throttle.close();
    this.log.server.info("shut down: {accepted} connections served", {
      accepted: this.counters.accepted,
    });
    this.events.emit("closed", {});
    this.#finish();
  }

  reload(): Promise<ReloadResult> {
    const run = this.#reloading.then(() => this.#reload());
    this.#reloading = run.catch(() => {});
    return run;
  }

  async #reload(): Promise<ReloadResult> {
    if (this.#draining) {
      throw new SwitchboardError("shutting-down", "the server is shutting down");
    }
    const source = this.#options.reloadOptions;
    if (source === undefined) {
      throw new SwitchboardError("disabled", "this server has no configuration to reload");
    }
    const old = this.#options;
    const tlsListener = this.#listeners.find((listener) => listener.security === "tls");
    const handover = tlsListener !== undefined && "reusePort" in tlsListener &&
      tlsListener.reusePort === true;
    let plan;
    try {
      const fresh = resolveOptions({
        ...await source(),
        signal: old.signal,
        reloadOptions: source,
      } as ServerOptions);
      plan = planReload(old, fresh, handover);
      if (plan.next.accounts !== undefined) {
        plan.accounts = await readAccountsFile(plan.next.accounts);
        if (
          !plan.applied.includes("accounts") &&
          JSON.stringify(plan.accounts) !== JSON.stringify(this.#accountsData)
        ) plan.applied.push("accounts");
      }
      plan.tls = tlsListener === undefined
        ? undefined
        : await this.#prepareTls(tlsListener, plan.next, handover, plan.needsRestart);
    } catch (error) {
      const problem = error instanceof Error ? error.message : String(error);
      this.log.server.error("reload failed, the configuration in force stays: {problem}", {
        problem,
      });
      throw new SwitchboardError("bad-config", problem, { cause: error });
    }
    if (this.#draining) {
      plan.tls?.fresh.close();
      throw new SwitchboardError("shutting-down", "the server is shutting down");
    }
    if (plan.tls !== undefined && !plan.applied.includes("tlsCert")) plan.applied.push("tlsCert");
    const target = this.#reloadTarget();
    for (const step of RELOAD_STEPS) step(target, plan);
    this.#accountsData = plan.accounts;
    logReload(this.log, plan, plan.tls !== undefined);
    this.events.emit("reload", {
      applied: [...plan.applied],
      needsRestart: [...plan.needsRestart],
      denied: plan.denied,
    });
    return { applied: plan.applied, needsRestart: plan.needsRestart, denied: plan.denied };
  }

  /**
   * A listener with the certificate and key `next` names, when their content differs from what
   * is served: bound on the same port beside the old one (`SO_REUSEPORT`). When the listener
   * cannot be handed over that way, a changed certificate is added to `needsRestart` instead.
   * @throws {SwitchboardError} for files that cannot be read or used, as at start.
   */
  async #prepareTls(
    listener: StreamListener,
    next: ResolvedServerOptions,
    handover: boolean,
    needsRestart: string[],
  ): Promise<{ old: StreamListener; fresh: StreamListener } | undefined> {
    if (next.tlsCert === undefined || next.tlsKey === undefined) return undefined;
    const named = (error: unknown): never => {
      if (
        error instanceof SwitchboardError && (error.code === "tls-cert" || error.code === "tls-key")
      ) {
        const setting = error.code === "tls-cert" ? "tlsCert" : "tlsKey";
        const path = error.code === "tls-cert" ? next.tlsCert : next.tlsKey;
        throw new SwitchboardError(error.code, `${setting} ${path}: ${error.message}`, {
          cause: error,
        });
      }
      throw error;
    };
    const pem = await readTlsFiles(next.tlsCert, next.tlsKey).catch(named);
    const known = this.#tlsPem;
    if (known !== undefined && known.cert === pem.cert && known.key === pem.key) return undefined;
    if (!handover) {
      if (!needsRestart.includes("tlsCert")) needsRestart.push("tlsCert");
      return undefined;
    }
    let fresh: StreamListener;
    try {
      fresh = bindTls(next, listener.addr.port, pem);
    } catch (error) {
      return named(error);
    }
    this.#tlsPem = pem;
    return { old: listener, fresh };
  }

  #reloadTarget(): ReloadTarget {
    return {
      log: this.log,
      admission: this.#admission,
      accounts: this.accounts,
      hub: this.hub,
      runSlots: this.runSlots,
      setOptions: (options) => this.#options = options,
      setToken: (token) => this.#token = tokenBytes(token),
      setLogMessages: (mode) => {
        this.messages.flush();
        this.messages = new MessageLog(this.log.traffic, mode);
      },
      resetSweep: () => {
        clearInterval(this.#sweeper);
        this.#sweeper = setInterval(() => this.#sweep(), sweepInterval(this.#options));
      },
      swapListener: (old, fresh) => {
        const at = this.#listeners.indexOf(old);
        if (at >= 0) this.#listeners[at] = fresh;
        else this.#listeners.push(fresh);
        this.#startAccepting(fresh);
        // A retired listener ends its accept loop once its handshakes in flight are served; a
        // shutdown before then closes it.
        if ("retire" in old && typeof old.retire === "function") {
          this.#retired.add(old);
          old.retire();
        } else {
          old.close();
        }
      },
      denyRefused: () => {
        let denied = 0;
        for (const connection of this.#connections) {
          if (this.#admission.allowed(connection.ip)) continue;
          denied++;
          this.log.conn.info("denied {peer} by the reloaded access lists", {
            peer: connection.address,
            ip: connection.ip,
          });
          void connection.close("denied", "your address is no longer allowed to connect");
        }
        return denied;
      },
    };
  }

  #startAccepting(listener: StreamListener): void {
    const loop = this.#accept(listener);
    this.#acceptLoops.add(loop);
    // A listener replaced by a reload ends its loop; a shutdown waits only for the others.
    void loop.finally(() => {
      this.#retired.delete(listener);
      if (!this.#draining) this.#acceptLoops.delete(loop);
    });
  }

  async #accept(listener: StreamListener): Promise<void> {
    let failures = 0;
    for (;;) {
      let stream: ByteStream;
      try {
        stream = await listener.accept();
      } catch (error) {
        if (this.#draining || error instanceof ListenerClosed) return;
        if (error instanceof PeerGoneBeforeAccept) {
          // Routine on the internet (a scanner, a client that gave up): nothing to serve.
          this.counters.resetBeforeAccept++;
          continue;
        }
        if (error instanceof HandshakeFailed) {
          this.#handshakeFailed(error);
          continue;
        }
        // Out of file descriptors and the like: the listener itself is in trouble. Back off
        // (10 ms, doubling up to 1 s) so the others keep being served, and log each failure.
        const delay = Math.min(MAX_ACCEPT_BACKOFF_MS, 10 * 2 ** failures++);
        this.log.server.error("accept failed: {error}; next try in {delay} ms", {
          error: String(error),
          delay,
        });
        await sleep(delay);
        continue;
      }
      failures = 0;
      this.#admit(stream, listener.security === "tls" || stream.secure === true);
    }
  }

  /** `secure`: the stream came from a TLS listener (see `plain_secrets.ts`). */
  #admit(stream: ByteStream, secure: boolean): void {
    this.counters.accepted++;
    const remote = stream.remoteAddr;
    const ip = remote.hostname.replace(IPV4_MAPPED, "$1");
    const address = formatAddress(ip, remote.port);
    const refusal = this.#admission.refusal(ip, this.#connections.size, this.#draining);
    if (refusal !== undefined) return this.#refuse(stream, address, ip, refusal);
    const connection = new Connection(
      this.#nextId++,
      stream,
      this,
      { ip, port: remote.port, admin: this.#admission.isAdmin(ip), secure },
      this.#owner,
    );
    this.#connections.add(connection);
    this.#admission.admitted(ip);
    logInfo(this.log.conn, CONNECTED, { peer: address, ip, port: remote.port });
    this.events.emit("connect", { id: connection.id, address });
    this.#running++;
    void connection.run();
  }

  /** A TLS peer that never completed its handshake: already closed by the listener. */
  #handshakeFailed(failure: HandshakeFailed): void {
    this.counters.tlsFailed++;
    const ip = failure.remoteAddr.hostname.replace(IPV4_MAPPED, "$1");
    const peer = formatAddress(ip, failure.remoteAddr.port);
    this.throttle.warning(
      this.log.conn,
      ip,
      "TLS handshake with {peer} failed: {why}",
      { peer, ip, why: failure.message },
      "tls-failed",
    );
  }

  #refuse(stream: ByteStream, address: string, ip: string, refusal: Refusal): void {
    const [code, reason] = refusal;
    this.counters.disconnects[reason]++;
    this.throttle.warning(
      this.log.conn,
      ip,
      "refused {peer}: {code}",
      { peer: address, ip, code, reason },
      `refused: ${code}`,
    );
    this.events.emit("refuse", { address, code });
    this.#track(turnAway(stream, refusal).catch(() => {}));
  }

  /** Keeps `task` until it settles: a shutdown waits for every one. */
  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  #forget(connection: Connection, reason: DisconnectReason): void {
    this.#connections.delete(connection);
    this.#admission.closed(connection.ip);
    this.counters.disconnects[reason]++;
    this.#monitor?.closed({ connection, reason });
    this.events.emit("disconnect", {
      id: connection.id,
      name: connection.registered ? connection.name : undefined,
      address: connection.address,
      reason,
    });
  }

  #sweep(): void {
    const now = performance.now();
    for (const connection of this.#connections) connection.checkLiveness(now);
  }
}

function tokenBytes(token: string | undefined): Uint8Array | undefined {
  return token === undefined || token === "" ? undefined : encoder.encode(token);
}
