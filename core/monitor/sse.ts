/**
 * `GET /events`: the dashboard's live feed, Server-Sent Events. Every 500 ms one snapshot
 * (`event: snapshot`, the JSON of {@linkcode Snapshot}) is built and encoded once, then queued to
 * every stream. Bounded: at most `maxStreams` at once (one more gets 503), and a stream whose
 * client does not read (more than `maxQueued` snapshots waiting in its queue, beyond what the
 * socket took) is dropped, never buffered. A shutdown ends every stream.
 * @module
 */

import { VERSION } from "../protocol/version.ts";
import { type MonitorCounters, monitorCounters } from "./varz.ts";
import { type ConnzRow, connzRow } from "./connz.ts";
import type { MonitorSource } from "./source.ts";

/** How often a snapshot goes out, in milliseconds. */
export const SNAPSHOT_INTERVAL_MS = 500;
/** Rows in a snapshot at most (the first by id). */
export const SNAPSHOT_ROWS = 500;

/** One `event: snapshot`. */
export interface Snapshot extends MonitorCounters {
  /** ISO 8601. */
  time: string;
  version: string;
  draining: boolean;
  /** The first {@linkcode SNAPSHOT_ROWS} connections by id. */
  rows: ConnzRow[];
  /** Connections open, all of them. */
  total: number;
}

/** Options of {@linkcode SnapshotStreams}. */
export interface SnapshotStreamOptions {
  /** Streams open at once. @default {32} */
  maxStreams?: number;
  /** Snapshots waiting for a client before it is dropped. @default {4} */
  maxQueued?: number;
}

const encoder = new TextEncoder();

/** The snapshot of `source` now. */
export function buildSnapshot(source: MonitorSource): Snapshot {
  const stats = source.snapshot();
  const now = performance.now();
  const rows: ConnzRow[] = [];
  for (const c of source.connections()) {
    if (rows.length >= SNAPSHOT_ROWS) break;
    rows.push(connzRow(c, now));
  }
  return {
    time: new Date().toISOString(),
    version: VERSION,
    draining: source.draining,
    ...monitorCounters(stats),
    rows: rows.sort((a, b) => a.id - b.id),
    total: stats.connections,
  };
}

/** The open `/events` streams of one monitor. */
export class SnapshotStreams {
  readonly #source: MonitorSource;
  readonly #maxStreams: number;
  readonly #maxQueued: number;
  readonly #streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** Streams dropped for not reading, since start. */
  dropped = 0;

  /** Streams of `source`'s snapshots. */
  constructor(source: MonitorSource, options: SnapshotStreamOptions = {}) {
    this.#source = source;
    this.#maxStreams = options.maxStreams ?? 32;
    this.#maxQueued = options.maxQueued ?? 4;
  }

  /** Streams open now. */
  get size(): number {
    return this.#streams.size;
  }

  /** A new stream, starting with a snapshot now; undefined when full or closed. */
  open(): ReadableStream<Uint8Array> | undefined {
    if (this.#closed || this.#streams.size >= this.#maxStreams) return undefined;
    let mine: ReadableStreamDefaultController<Uint8Array> | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        mine = controller;
        this.#streams.add(controller);
        controller.enqueue(this.#frame());
        this.#timer ??= setInterval(() => this.#tick(), SNAPSHOT_INTERVAL_MS);
      },
      cancel: () => {
        if (mine !== undefined) this.#forget(mine);
      },
    }, new CountQueuingStrategy({ highWaterMark: this.#maxQueued }));
    return stream;
  }

  /** Ends every stream and opens no more. */
  close(): void {
    this.#closed = true;
    for (const controller of this.#streams) {
      try {
        controller.close();
      } catch {
        // Errored already.
      }
    }
    this.#streams.clear();
    this.#stopTimer();
  }

  #frame(): Uint8Array {
    const json = JSON.stringify(buildSnapshot(this.#source));
    return encoder.encode(`event: snapshot\ndata: ${json}\n\n`);
  }

  #tick(): void {
    if (this.#streams.size === 0) return this.#stopTimer();
    const frame = this.#frame();
    for (const controller of this.#streams) {
      // desiredSize counts what the client left unread beyond what its socket took.
      if ((controller.desiredSize ?? 0) <= 0) {
        this.dropped++;
        this.#forget(controller);
        try {
          controller.error(new Error("client does not read"));
        } catch {
          // Gone already.
        }
        continue;
      }
      controller.enqueue(frame);
    }
  }

  #forget(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#streams.delete(controller);
    if (this.#streams.size === 0) this.#stopTimer();
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
