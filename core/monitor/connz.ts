/**
 * `/connz`: one row per open connection, paged and sorted, and the last closed ones with their
 * reasons. Sorting looks at one number (or the name) per connection and builds rows only for the
 * page asked for, so 10 000 connections cost a sort of 10 000 keys (see docs/perf.md).
 *
 * @example
 * ```ts
 * import { buildConnz, parseConnzQuery } from "./connz.ts";
 * const query = parseConnzQuery(new URLSearchParams("limit=1"));
 * console.assert(typeof query === "object" && query.limit === 1);
 * const page = buildConnz([], [], query as Exclude<typeof query, string>, 0);
 * console.assert(page.total === 0 && page.connections.length === 0);
 * ```
 * @module
 */

import type { DisconnectReason } from "../protocol/errors.ts";
import type { ClosedConnection, MonitoredConnection } from "./source.ts";

/** Rows per page when `limit` is not given. */
export const DEFAULT_LIMIT = 100;
/** The largest `limit`; a larger one is lowered to it. */
export const MAX_LIMIT = 1000;
/** Closed connections remembered. */
export const CLOSED_KEPT = 100;

/** The orders `?sort=` takes; without it rows are in order of id. */
export const SORTS = ["idle", "bytesOut", "queued", "name"] as const;
/** One of {@linkcode SORTS}. */
export type ConnzSort = typeof SORTS[number];

/** A `/connz` query. */
export interface ConnzQuery {
  offset: number;
  limit: number;
  sort: ConnzSort | undefined;
}

/** One open connection in `/connz` and in the dashboard's snapshots. */
export interface ConnzRow {
  id: number;
  name: string;
  address: string;
  tls: boolean;
  /** ISO 8601. */
  connectedAt: string;
  /** Seconds since its last line of its own (to the liveness sweep's precision), one decimal. */
  idleS: number;
  groups: string[];
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  queuedBytes: number;
  admin: boolean;
}

/** A closed connection: its last row, when it closed and why. */
export interface ClosedRow extends ConnzRow {
  /** ISO 8601. */
  closedAt: string;
  reason: DisconnectReason;
}

/** The `/connz` answer. */
export interface Connz {
  total: number;
  offset: number;
  limit: number;
  connections: ConnzRow[];
  closed: ClosedRow[];
}

/** The query of `params`, or a sentence saying what is wrong with it. */
export function parseConnzQuery(params: URLSearchParams): ConnzQuery | string {
  const whole = (key: string, fallback: number, min: number): number | string => {
    const raw = params.get(key);
    if (raw === null || raw === "") return fallback;
    if (!/^[0-9]{1,9}$/.test(raw) || Number(raw) < min) {
      return `${key} must be a whole number of at least ${min}, got "${raw.slice(0, 20)}"`;
    }
    return Number(raw);
  };
  const offset = whole("offset", 0, 0);
  if (typeof offset === "string") return offset;
  const limit = whole("limit", DEFAULT_LIMIT, 1);
  if (typeof limit === "string") return limit;
  const sort = params.get("sort") ?? "";
  if (sort !== "" && !(SORTS as readonly string[]).includes(sort)) {
    return `sort must be one of ${SORTS.join(", ")}, got "${sort.slice(0, 20)}"`;
  }
  return {
    offset,
    limit: Math.min(limit, MAX_LIMIT),
    sort: sort === "" ? undefined : sort as ConnzSort,
  };
}

/** The row of `c` at `now` (`performance.now()`). */
export function connzRow(c: MonitoredConnection, now: number): ConnzRow {
  const groups: string[] = [];
  for (const group of c.groups) groups.push(group.name);
  return {
    id: c.id,
    name: c.name,
    address: c.address,
    tls: c.secure,
    connectedAt: new Date(c.connectedAt).toISOString(),
    idleS: Math.max(0, Math.round((now - c.lastActivity) / 100) / 10),
    groups,
    messagesIn: c.messagesIn,
    messagesOut: c.messagesOut,
    bytesIn: c.bytesIn,
    bytesOut: c.outbound.bytesWritten,
    queuedBytes: c.outbound.queuedBytes,
    admin: c.admin,
  };
}

/** Rows `query` asks for out of `open` (in order of id), with the closed ones. */
export function buildConnz(
  open: Iterable<MonitoredConnection>,
  closed: Iterable<ClosedRow>,
  query: ConnzQuery,
  now: number,
): Connz {
  const all = Array.isArray(open) ? open as MonitoredConnection[] : [...open];
  let ordered = all;
  if (query.sort !== undefined) ordered = sorted(all, query.sort);
  const page = ordered.slice(query.offset, query.offset + query.limit);
  return {
    total: all.length,
    offset: query.offset,
    limit: query.limit,
    connections: page.map((c) => connzRow(c, now)),
    closed: [...closed],
  };
}

/**
 * `all` ordered by `sort`: the most idle, the most bytes sent, the longest queue first; names
 * alphabetically (unnamed last). Ties keep the order of id. Keys are read once per connection.
 */
function sorted(all: readonly MonitoredConnection[], sort: ConnzSort): MonitoredConnection[] {
  const n = all.length;
  const index = new Uint32Array(n);
  for (let i = 0; i < n; i++) index[i] = i;
  if (sort === "name") {
    const keys = all.map((c) => c.name === "" ? "\uffff" : c.name.toLowerCase());
    index.sort((a, b) => keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b);
  } else {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const c = all[i]!;
      keys[i] = sort === "idle"
        ? -c.lastActivity
        : sort === "bytesOut"
        ? c.outbound.bytesWritten
        : c.outbound.queuedBytes;
    }
    index.sort((a, b) => keys[b]! - keys[a]! || a - b);
  }
  const out = new Array<MonitoredConnection>(n);
  for (let i = 0; i < n; i++) out[i] = all[index[i]!]!;
  return out;
}

/** The last {@linkcode CLOSED_KEPT} closed connections, newest first. */
export class ClosedConnections {
  readonly #rows: ClosedRow[] = [];

  /** Notes that `closed.connection` closed now. */
  add({ connection, reason }: ClosedConnection): void {
    const row: ClosedRow = {
      ...connzRow(connection, performance.now()),
      closedAt: new Date().toISOString(),
      reason,
    };
    this.#rows.unshift(row);
    if (this.#rows.length > CLOSED_KEPT) this.#rows.pop();
  }

  /** Newest first. */
  rows(): readonly ClosedRow[] {
    return this.#rows;
  }
}
