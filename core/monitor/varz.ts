/**
 * `/varz`: the server at a glance: version, mode, start time, the effective configuration
 * without secrets, and the counters.
 * @module
 */

import type { ClusterState } from "../server/context.ts";
import type { ResolvedServerOptions } from "../config/options.ts";
import type { DisconnectReason } from "../protocol/errors.ts";
import { VERSION } from "../protocol/version.ts";
import type { MonitorSource } from "./source.ts";
import type { ServerStats } from "../server/stats.ts";

/** The server's counters as `/varz` and the dashboard's snapshots name them. */
export interface MonitorCounters {
  connections: number;
  named: number;
  groups: number;
  messagesIn: number;
  deliveries: number;
  bytesIn: number;
  bytesOut: number;
  disconnects: Record<DisconnectReason, number>;
}

/** The `/varz` answer. */
export interface Varz extends MonitorCounters {
  version: string;
  mode: string;
  /** ISO 8601. */
  started: string;
  uptimeS: number;
  /** The options in force, without the admin token and the library-only hooks. */
  config: Record<string, unknown>;
  rssBytes: number;
  /** The cluster as this node sees it, or `null` for a server on its own. */
  cluster: ClusterState | null;
}

/** The counters of `stats` under their monitoring names. */
export function monitorCounters(stats: ServerStats): MonitorCounters {
  return {
    connections: stats.connections,
    named: stats.online,
    groups: stats.groups,
    messagesIn: stats.messages,
    deliveries: stats.deliveries,
    bytesIn: stats.bytesIn,
    bytesOut: stats.bytesOut,
    disconnects: stats.disconnects,
  };
}

/** Options never shown: secrets, and values that are functions or objects of the process. */
const HIDDEN: ReadonlySet<string> = new Set([
  "adminToken",
  "signal",
  "reloadOptions",
  "historyNow",
]);

/** The options in force, secrets left out. */
export function publicConfig(options: ResolvedServerOptions): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (HIDDEN.has(key) || typeof value === "function") continue;
    shown[key] = value;
  }
  return shown;
}

/** The `/varz` answer of `source` now; `startedAt` is the server's start (`Date.now()`). */
export function buildVarz(source: MonitorSource, startedAt: number): Varz {
  const stats = source.snapshot();
  return {
    version: VERSION,
    mode: source.options.mode,
    started: new Date(startedAt).toISOString(),
    uptimeS: Math.round((Date.now() - startedAt) / 1000),
    config: publicConfig(source.options),
    ...monitorCounters(stats),
    rssBytes: Deno.memoryUsage().rss,
    cluster: source.cluster?.state() ?? null,
  };
}
