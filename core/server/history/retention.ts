/**
 * The history's retention: at most `maxMessages` messages, none older than `days`, and offline
 * private messages expiring with them. Enforced in small chunks so the chat never waits on a big
 * `DELETE`: each flush trims what it just pushed over the count limit (inside its own
 * transaction), and a timer deletes the rest, `CHUNK` rows per transaction, yielding to the event
 * loop between chunks.
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";

/** The limits retention enforces; 0 means no limit. */
export interface RetentionLimits {
  /** Messages kept at most (the oldest go first). */
  readonly maxMessages: number;
  /** Days a message (and an offline private message) is kept. */
  readonly days: number;
  /** Offline private messages kept per recipient. */
  readonly offlineMax: number;
}

/** What retention needs from its store. */
export interface RetentionParts {
  /** The limits in force, read at every pass. */
  limits: () => RetentionLimits;
  /** The clock message times are compared with, in ms. */
  now: () => number;
  /** Milliseconds between passes. */
  interval: number;
  /** Told about a pass that failed. */
  onError: (what: string, error: unknown) => void;
  /** Rows were deleted from `messages`. */
  deleted: (rows: number) => void;
  /** Rows in `messages` now. */
  count: () => number;
  /**
   * Writes the largest id used to `meta`, inside the pass's transaction: once the newest
   * messages may be gone, it is what keeps ids from being used again after a restart.
   */
  saveLastId: () => void;
  /** Commits what the store holds in an open transaction: a pass runs its own. */
  settle: () => void;
}

/** Rows one retention transaction deletes at most: a few milliseconds of work. */
export const CHUNK = 2000;

const DAY_MS = 24 * 3600 * 1000;

/** See the module comment. */
export class Retention {
  readonly #db: DatabaseSync;
  readonly #parts: RetentionParts;
  readonly #oldest: StatementSync;
  readonly #deleteBefore: StatementSync;
  readonly #trimBatch: StatementSync;
  readonly #byAge: StatementSync;
  readonly #offlineByAge: StatementSync;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /** Retention for the history in `db`; its timer starts at once. */
  constructor(db: DatabaseSync, parts: RetentionParts) {
    this.#db = db;
    this.#parts = parts;
    // The history keeps a row per batch of messages (store.ts): whole batches go, and the one
    // the limit falls into loses its first messages.
    this.#oldest = db.prepare("SELECT first_id, count FROM batches ORDER BY first_id LIMIT ?");
    this.#deleteBefore = db.prepare("DELETE FROM batches WHERE first_id < ?");
    this.#trimBatch = db.prepare(
      "UPDATE batches SET first_id = first_id + ?1, count = count - ?1, " +
        "texts = (SELECT json_group_array(value) FROM " +
        "(SELECT value FROM json_each(batches.texts) WHERE key >= ?1 ORDER BY key)) " +
        "WHERE first_id = ?2",
    );
    this.#byAge = db.prepare(
      "DELETE FROM batches WHERE first_id IN " +
        "(SELECT first_id FROM batches ORDER BY first_id LIMIT ?) AND time < ? RETURNING count",
    );
    this.#offlineByAge = db.prepare(
      "DELETE FROM offline WHERE seq IN (SELECT seq FROM offline WHERE time < ? LIMIT ?)",
    );
    this.#schedule(parts.interval);
  }

  /** The limits in force. */
  limits(): RetentionLimits {
    return this.#parts.limits();
  }

  /**
   * Inside a flush's transaction: deletes the oldest messages over `maxMessages`, at most
   * `inserted + CHUNK` of them (the timer takes the rest of a large excess).
   */
  trimToCount(inserted: number): void {
    const max = this.#parts.limits().maxMessages;
    if (max <= 0) return;
    const excess = this.#parts.count() - max;
    if (excess > 0) this.#deleteOldest(Math.min(excess, inserted + CHUNK));
  }

  /** Runs passes until there is nothing left to delete; returns the rows deleted. */
  runAll(): number {
    let total = 0;
    for (;;) {
      const deleted = this.#pass();
      total += deleted;
      if (deleted < CHUNK) return total;
    }
  }

  /** Stops the timer. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      let deleted = 0;
      try {
        deleted = this.#pass();
      } catch (error) {
        this.#parts.onError("enforcing the history's retention", error);
      }
      // A full chunk: more may be waiting; the next chunk comes after whatever I/O is ready.
      this.#schedule(deleted >= CHUNK ? 0 : this.#parts.interval);
    }, ms);
    Deno.unrefTimer(this.#timer);
  }

  /** One transaction deleting at most `CHUNK` rows of each kind; returns the most of them. */
  #pass(): number {
    const { maxMessages, days } = this.#parts.limits();
    const db = this.#db;
    let most = 0;
    this.#parts.settle();
    db.exec("BEGIN IMMEDIATE");
    try {
      if (maxMessages > 0) {
        const excess = this.#parts.count() - maxMessages;
        if (excess > 0) most = this.#deleteOldest(Math.min(excess, CHUNK));
      }
      if (days > 0) {
        const cutoff = this.#parts.now() - days * DAY_MS;
        let aged = 0;
        for (const row of this.#byAge.all(CHUNK, cutoff)) aged += Number(row.count);
        this.#parts.deleted(aged);
        const offline = Number(this.#offlineByAge.run(cutoff, CHUNK).changes);
        most = Math.max(most, aged, offline);
        if (aged + offline > 0) this.#parts.saveLastId();
      }
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
    return most;
  }

  /** Deletes the `rows` oldest messages; returns how many went. */
  #deleteOldest(rows: number): number {
    // At most `rows` batches hold them (each holds at least one message); read one by one, since
    // a few batches of hundreds of messages are the common case.
    let left = rows;
    let keepFrom: number | undefined;
    let trim = 0;
    for (const row of this.#oldest.iterate(rows)) {
      const count = Number(row.count);
      if (count > left) {
        keepFrom = Number(row.first_id);
        trim = left;
        left = 0;
        break;
      }
      left -= count;
      keepFrom = Number(row.first_id) + count;
      if (left === 0) break;
    }
    if (keepFrom === undefined) return 0;
    this.#deleteBefore.run(keepFrom);
    if (trim > 0) this.#trimBatch.run(trim, keepFrom);
    const deleted = rows - left;
    this.#parts.deleted(deleted);
    return deleted;
  }
}
