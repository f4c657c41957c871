/**
 * Reloading the configuration without a restart (SIGHUP, `:reload`, `Server.reload`). A reload
 * gets fresh options from `reloadOptions`, keeps the old value of every setting that only a
 * restart can change ({@linkcode RESTART_SETTINGS}), prepares what can fail (the new TLS
 * listener) and then runs the steps of {@linkcode RELOAD_STEPS}, small functions that cannot
 * fail, each applying one concern. A configuration that does not validate changes nothing.
 *
 * What is live and what is not, setting by setting, is in docs/install.md ("Reloading the
 * configuration").
 * @module
 */

import type { Accounts } from "./accounts.ts";
import type { AccountsData } from "../config/accounts_file.ts";
import type { ResolvedServerOptions } from "../config/options.ts";
import type { StreamListener } from "../net/stream.ts";
import type { Admission } from "./_admission.ts";
import type { ServerLoggers } from "./context.ts";
import type { Hub } from "./hub.ts";
import type { RunSlots } from "./commands/run_slots.ts";

/** What a reload did. */
export interface ReloadResult {
  /** Settings whose new value is now in force, e.g. `["maxClients", "access.deny"]`. */
  readonly applied: readonly string[];
  /** Settings that changed but need a restart: their old value stays. */
  readonly needsRestart: readonly string[];
  /** Connections closed with `BYE denied` because the new access lists refuse their address. */
  readonly denied: number;
}

/**
 * Settings a reload does not change: the addresses the server listens on, what is fixed when
 * it starts (log files, the mode every connection runs in, the file folders, opened on first
 * use), and the library-only knobs of objects built once. A changed value is logged as needing a
 * restart and the old one kept. `tlsCert` and `tlsKey` join them only when TLS is switched on or
 * off (another listener) or when the TLS listener was bound without `SO_REUSEPORT`.
 */
export const RESTART_SETTINGS: readonly (keyof ResolvedServerOptions)[] = Object.freeze([
  "host",
  "port",
  "tlsPort",
  "tlsOnly",
  "http",
  "httpTls",
  "web",
  "webTls",
  "webOrigins",
  "webProxies",
  "mode",
  "logDir",
  "logFormat",
  "tokenFile",
  "console",
  "filesDir",
  "spoolDir",
  "history",
  "historyRetentionInterval",
  "historyNow",
  "clusterOutboxBytes",
  "clusterRosterChunk",
  "logRepeatWindow",
  "authMaxFailures",
  "authLockout",
  // The cluster node joins its bus once, at start (docs/cluster.md).
  "cluster",
  "clusterName",
  "clusterUser",
  "clusterPassword",
  "clusterToken",
  "clusterCreds",
  "clusterNkey",
  "clusterTlsCa",
  "clusterTlsCert",
  "clusterTlsKey",
]);

/**
 * Settings each connection takes when it opens: after a reload, connections opened since have
 * the new value, those already open keep theirs.
 */
export const NEW_CONNECTION_SETTINGS: readonly (keyof ResolvedServerOptions)[] = Object.freeze([
  "maxLineBytes",
  "maxQueueBytes",
  "rateLimit",
  "ack",
  "admins",
]);

/** Keys compared between the old and the new options; the rest are not configuration. */
const NOT_SETTINGS = new Set(["signal", "reloadOptions"]);

/** The server as the reload steps see it: each step changes one of these. */
export interface ReloadTarget {
  /** Loggers; a reload logs under `switchboard.server`. */
  readonly log: ServerLoggers;
  /** Access lists, admins and caps of new connections. */
  readonly admission: Admission;
  /** Announce limit and reserved names. */
  readonly hub: Hub;
  /** The `:run` cap. */
  readonly runSlots: RunSlots;
  /** The accounts `:login` checks. */
  readonly accounts: Accounts;
  /** Makes `options` the server's options: code reading `ctx.options` at use time sees them. */
  setOptions(options: ResolvedServerOptions): void;
  /** Replaces the admin token (undefined: none). */
  setToken(token: string | undefined): void;
  /** Replaces the request log's message mode (the batch so far is flushed first). */
  setLogMessages(mode: ResolvedServerOptions["logMessages"]): void;
  /** Restarts the liveness sweep with the interval the new timeouts need. */
  resetSweep(): void;
  /**
   * Starts accepting from `fresh` in place of `old`, then retires `old`: it takes no new
   * connection, and those in their TLS handshake finish and are served.
   */
  swapListener(old: StreamListener, fresh: StreamListener): void;
  /** Closes with `BYE denied` every connection the access lists now refuse; returns how many. */
  denyRefused(): number;
}

/** One reload: the options before and after, and what was prepared. */
export interface ReloadPlan {
  /** The options in force so far. */
  readonly old: ResolvedServerOptions;
  /** The options to apply: the new ones, with the old value of every restart setting. */
  readonly next: ResolvedServerOptions;
  /** Settings whose value changes, in option order. */
  readonly applied: string[];
  /** Settings that changed and need a restart. */
  readonly needsRestart: string[];
  /** A TLS listener with the new certificate, bound, to take over from `tls.old`. */
  tls?: { old: StreamListener; fresh: StreamListener } | undefined;
  /** Connections closed by the new access lists, once applied. */
  denied: number;
  /**
   * The accounts file as just read (read on every reload: its content may change under the same
   * path), or `undefined` when `next` names none.
   */
  accounts?: AccountsData | undefined;
}

/** Setting names as a person reads them: `access.allow` rather than `access`. */
function settingNames(key: string, old: unknown, next: unknown): string[] {
  if (key === "access") {
    const before = old as ResolvedServerOptions["access"];
    const after = next as ResolvedServerOptions["access"];
    return (["allow", "deny"] as const).filter((list) => !sameValue(before[list], after[list])).map(
      (list) => `access.${list}`,
    );
  }
  return [key];
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Compares `old` and `fresh`: which settings change, and which of those need a restart (their old
 * value is put back in `next`). `tlsHandover` says whether the TLS listener can be replaced
 * without a gap; when TLS is switched on or off, or it cannot, `tlsCert` and `tlsKey` need a
 * restart. The certificate files may change under the same path (a renewal): whether their
 * content changed is for the caller to find out.
 */
export function planReload(
  old: ResolvedServerOptions,
  fresh: ResolvedServerOptions,
  tlsHandover: boolean,
): ReloadPlan {
  const next = { ...fresh } as Record<string, unknown>;
  const before = old as unknown as Record<string, unknown>;
  const restart = new Set<string>(RESTART_SETTINGS);
  const tlsToggled = (old.tlsCert === undefined) !== (fresh.tlsCert === undefined);
  if (tlsToggled || !tlsHandover) restart.add("tlsCert").add("tlsKey");
  const applied: string[] = [];
  const needsRestart: string[] = [];
  for (const key of Object.keys(next)) {
    if (NOT_SETTINGS.has(key) || sameValue(before[key], next[key])) continue;
    if (restart.has(key)) {
      needsRestart.push(key);
      next[key] = before[key];
    } else {
      applied.push(...settingNames(key, before[key], next[key]));
    }
  }
  return {
    old,
    next: next as unknown as ResolvedServerOptions,
    applied,
    needsRestart,
    denied: 0,
  };
}

/** A step of a reload: applies one concern of `plan.next`; it cannot fail. */
export type ReloadStep = (target: ReloadTarget, plan: ReloadPlan) => void;

/** The options object: everything that reads `ctx.options` when it acts sees the new values. */
export function applyOptions(target: ReloadTarget, plan: ReloadPlan): void {
  target.setOptions(plan.next);
}

/**
 * Access lists, admins and the connection caps; then every connection whose address the new
 * lists refuse is closed with `BYE denied`. Admin rights already held (from `admins` or
 * `:auth`) are kept: the new `admins` list applies to connections opened after the reload.
 */
export function applyAccess(target: ReloadTarget, plan: ReloadPlan): void {
  target.admission.configure(plan.next);
  if (plan.applied.some((setting) => setting.startsWith("access."))) {
    plan.denied = target.denyRefused();
  }
}

/** Limits held outside the options object: the announce limit, reserved names, the `:run` cap. */
export function applyLimits(target: ReloadTarget, plan: ReloadPlan): void {
  const { next } = plan;
  target.hub.announceLimit = next.announceLimit;
  target.hub.reserve(next.reservedNames);
  target.runSlots.limit = next.maxRunning;
  target.resetSweep();
}

/** The admin token: a connection that already passed `:auth` keeps its rights. */
export function applyAdminToken(target: ReloadTarget, plan: ReloadPlan): void {
  if (plan.old.adminToken !== plan.next.adminToken) target.setToken(plan.next.adminToken);
}

/** What the request log keeps of each message (`logMessages`). */
export function applyLogMessages(target: ReloadTarget, plan: ReloadPlan): void {
  if (plan.old.logMessages !== plan.next.logMessages) {
    target.setLogMessages(plan.next.logMessages);
  }
}

/**
 * The TLS certificate: the listener prepared with the new one takes over the port (bound with
 * `SO_REUSEPORT` beside the old one, so the port never stops accepting), then the old listener
 * closes. Connections it accepted stay open with the old certificate.
 */
export function applyCertificate(target: ReloadTarget, plan: ReloadPlan): void {
  if (plan.tls !== undefined) target.swapListener(plan.tls.old, plan.tls.fresh);
}

/**
 * The accounts: logins from now on check the new table, and its names are the reserved ones.
 * Connections already logged in keep their name and rights, also when their account was removed
 * (a reload drops nobody but those the access lists deny; `:kick` them if they must go). A guest
 * holding a name that now belongs to an account keeps it until the holder logs in and replaces it.
 */
export function applyAccounts(target: ReloadTarget, plan: ReloadPlan): void {
  target.accounts.replace(plan.accounts ?? { users: {} });
}

/**
 * The steps of a reload, in order. Each concern that a reload changes is one function here;
 * a new one is one more entry.
 */
export const RELOAD_STEPS: readonly ReloadStep[] = Object.freeze([
  applyOptions,
  applyAccess,
  applyLimits,
  applyAdminToken,
  applyLogMessages,
  applyAccounts,
  applyCertificate,
]);

/** Logs what a reload did: one line per setting that needs a restart, then a summary. */
export function logReload(log: ServerLoggers, plan: ReloadPlan, certificate: boolean): void {
  for (const setting of plan.needsRestart) {
    log.server.warning(
      "reload: {setting} changed but needs a restart; the old value stays until then",
      { setting },
    );
  }
  log.server.info(
    "configuration reloaded: {count} settings applied ({applied}), certificate {certificate}, {denied} connections denied",
    {
      count: plan.applied.length,
      applied: plan.applied.length === 0 ? "none" : plan.applied.join(", "),
      certificate: certificate ? "replaced" : "unchanged",
      denied: plan.denied,
      needsRestart: plan.needsRestart,
    },
  );
}
