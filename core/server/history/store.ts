/**
 * The message history: lobby and group messages in an SQLite file (the built-in `node:sqlite`),
 * written in batches off the recording point, read back by `:history`, trimmed in the background
 * by count and age ({@linkcode Retention}), and a small box of offline private messages per
 * recipient for the login code.
 *
 * A batch the recorder hands over (the messages of one read, from one sender to one target) is
 * one row of the `batches` table, its texts a JSON array; a `messages` view gives one row per
 * message to whoever reads the file with `sqlite3`. A row per message cost twice as much per
 * message and half the server's time at 10 receivers (issue 20).
 *
 * Writes never run one transaction per message: {@linkcode HistoryStore.keep} inserts the batch's
 * row at once, while its lines are fresh, into a transaction that stays open, and a timer a few
 * milliseconds later commits it. Queued and inserted later in one go, the rows of 50 ms took a
 * third of a millisecond of the main thread at a time, and a message that arrived meanwhile
 * waited for them (the paced fan-out's p99); the commit alone takes a third of that. A transaction
 * holds at most `maxPending` messages: then `keep` commits at once, so a disk that cannot keep up
 * slows the server down (backpressure) rather than losing messages or growing memory. Before a
 * sender is acknowledged (`:ack on`) the recorder calls {@linkcode HistoryStore.durable}, which
 * commits: an `ACK` is only sent for a message that is in the file.
 *
 * Durability: WAL mode with `synchronous=NORMAL`. A committed transaction survives the process
 * being killed (it is in the WAL through `write`); after a power loss the last transactions
 * before the last checkpoint may be gone, which is SQLite's documented trade-off for WAL+NORMAL.
 *
 * @example
 * ```ts
 * import { HistoryStore } from "./store.ts";
 * const dir = await Deno.makeTempDir();
 * using store = HistoryStore.open(`${dir}/history.db`);
 * store.storeOffline("bob", 7, Date.now(), "alice", "see you");
 * console.assert(store.takeOffline("bob")[0]?.text === "see you");
 * ```
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { dirname } from "node:path";
import { batchTexts, type MessageKeeper, type RecordedBatch } from "../record.ts";
import { fsReason } from "../../config/path_checks.ts";
import { Retention, type RetentionLimits } from "./retention.ts";

/** One stored message, as `:history` and offline delivery hand it out. */
export interface HistoryEntry {
  /** The server-assigned message id. */
  readonly id: number;
  /** When the server accepted it, in ms since the epoch. */
  readonly time: number;
  /** The sender's name. */
  readonly from: string;
  /** `*`, `#group`, or (offline messages) the recipient. */
  readonly target: string;
  /** The text, as it was delivered. */
  readonly text: string;
}

/** Options of {@linkcode HistoryStore.open}. */
export interface HistoryStoreOptions {
  /**
   * The retention limits, read each time they are applied (a reload may change them).
   * @default {() => ({ maxMessages: 1_000_000, days: 30, offlineMax: 1000 })}
   */
  limits?: () => RetentionLimits;
  /** The clock retention compares message times with, in ms. @default {Date.now} */
  now?: () => number;
  /** Milliseconds between retention passes. @default {10000} */
  retentionInterval?: number;
  /** Milliseconds a kept batch waits for its commit when the store was quiet. @default {5} */
  flushDelay?: number;
  /**
   * Least milliseconds between two timed commits: under a steady stream the rows of up to this
   * long share one transaction (the request log's batch is as long). A commit costs far more than
   * a row: at 1000 messages/s, one every 5 ms took 3.5 % of the server's main thread (CPU profile
   * of the paced fan-out), one every 50 ms 1 %.
   * An acknowledged message is committed before its ack whatever this says
   * ({@linkcode HistoryStore.durable}). @default {50}
   */
  flushInterval?: number;
  /** Messages one transaction holds before `keep` commits at once (backpressure). @default {65536} */
  maxPending?: number;
  /** Told about a transaction that failed (the messages in it are lost; counted in `failed`). */
  onError?: (what: string, error: unknown) => void;
}

/** The file cannot serve as a history: not a database, a folder that cannot be written … */
export class HistoryFileError extends Error {
  /** The problem in a few words, without the path: `"not an SQLite database"`. */
  readonly problem: string;
  /** Creates the error for `path` with `problem`. */
  constructor(path: string, problem: string, options?: ErrorOptions) {
    super(`history ${path}: ${problem}`, options);
    this.name = "HistoryFileError";
    this.problem = problem;
  }
}

/** The default retention limits, as documented on the server options. */
export const DEFAULT_LIMITS: Readonly<RetentionLimits> = Object.freeze({
  maxMessages: 1_000_000,
  days: 30,
  offlineMax: 1000,
});

/** Mode of a history folder the store creates. */
export const HISTORY_FOLDER_MODE = 0o700;
/** Mode of a history file the store creates (SQLite gives its `-wal` and `-shm` the same). */
export const HISTORY_FILE_MODE = 0o600;

const SCHEMA = `
-- One row per recorded batch (the messages of one read from one sender to one target, which share
-- their time): on the table alone a row per message cost 1.25-1.4 us, a row per batch 0.2-0.6.
CREATE TABLE IF NOT EXISTS batches (
  first_id INTEGER PRIMARY KEY, -- the first message's id; the others follow one by one
  count INTEGER NOT NULL,
  time INTEGER NOT NULL,
  sender TEXT NOT NULL,
  target TEXT NOT NULL COLLATE NOCASE, -- group names match without regard to case, as in the hub
  texts TEXT NOT NULL -- a JSON array of the texts, in order
);
-- Groups only: the lobby, most of the traffic, is read back along the ids without an index, so a
-- lobby batch costs one B-tree insert instead of two.
CREATE INDEX IF NOT EXISTS group_batches ON batches (target, first_id) WHERE target <> '*';
CREATE TABLE IF NOT EXISTS offline (
  seq INTEGER PRIMARY KEY,
  recipient TEXT NOT NULL,
  id INTEGER NOT NULL,
  time INTEGER NOT NULL,
  sender TEXT NOT NULL,
  text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS offline_by_recipient ON offline (recipient, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

/** One row per message, for reading with `sqlite3` (docs/install.md). */
const MESSAGES_VIEW = `
CREATE VIEW IF NOT EXISTS messages AS
  SELECT b.first_id + j.key AS id, b.time AS time, b.sender AS sender, b.target AS target,
    j.value AS text
  FROM batches AS b, json_each(b.texts) AS j;
`;

/**
 * A history written before batches (a \`messages\` table, one row per message) becomes one batch
 * per message, in one transaction, the first time it is opened.
 */
const MIGRATE_MESSAGES_TABLE = `
BEGIN;
INSERT OR IGNORE INTO batches (first_id, count, time, sender, target, texts)
  SELECT id, 1, time, sender, target, json_array(text) FROM messages;
DROP TABLE messages;
COMMIT;
`;

/** Batches a query reads first; then four times as many at a time, until it has its messages. */
const FIRST_FETCH = 8;

const decoder = new TextDecoder();
// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

/** See the module comment. */
export class HistoryStore implements MessageKeeper, Disposable {
  /** The database file. */
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #setLastId: StatementSync;
  readonly #lobby: StatementSync;
  readonly #lobbyBefore: StatementSync;
  readonly #group: StatementSync;
  readonly #groupBefore: StatementSync;
  readonly #offlineInsert: StatementSync;
  readonly #offlineCount: StatementSync;
  readonly #offlineTake: StatementSync;
  readonly #offlineDelete: StatementSync;
  readonly #flushDelay: number;
  readonly #flushInterval: number;
  /** `performance.now()` of the last transaction. */
  #flushedAt = -Infinity;
  /** The timer's callback, made once: `keep` arms it for every batch. */
  readonly #flushLater = () => this.flush();
  readonly #maxPending: number;
  readonly #onError: (what: string, error: unknown) => void;
  readonly #retention: Retention;
  /** A transaction is open with the rows of the messages kept since the last commit. */
  #open = false;
  #pendingCount = 0;
  /** Rows inserted in the open transaction, and the last id among them. */
  #inserted = 0;
  #lastStored = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The largest id seen (stored or not), and the one last written to `meta`. */
  #lastId: number;
  #savedLastId: number;
  #closed = false;
  /** Messages in the `messages` table. */
  #count: number;
  /** Messages written, and messages lost to a failed transaction. */
  stored = 0;
  failed = 0;

  private constructor(path: string, db: DatabaseSync, options: HistoryStoreOptions) {
    this.path = path;
    this.#db = db;
    this.#flushDelay = options.flushDelay ?? 5;
    this.#flushInterval = options.flushInterval ?? 50;
    this.#maxPending = options.maxPending ?? 65536;
    this.#onError = options.onError ?? (() => {});
    this.#insert = db.prepare(
      "INSERT OR IGNORE INTO batches (first_id, count, time, sender, target, texts) " +
        "VALUES (?,?,?,?,?,?)",
    );
    this.#setLastId = db.prepare(
      "INSERT INTO meta (key, value) VALUES ('last_id', ?) " +
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    );
    // The newest `?` batches (before an id): `query` asks for a few, then more. The lobby's query
    // walks the ids backwards; a group's uses the partial index (its `target <> '*'` is what lets
    // SQLite pick that index).
    const select = "SELECT first_id, count, time, sender, target, texts FROM batches";
    const lobby = "WHERE target = '*'";
    const group = "WHERE target = ? AND target <> '*'";
    const last = "ORDER BY first_id DESC LIMIT ?";
    this.#lobby = db.prepare(`${select} ${lobby} ${last}`);
    this.#lobbyBefore = db.prepare(`${select} ${lobby} AND first_id < ? ${last}`);
    this.#group = db.prepare(`${select} ${group} ${last}`);
    this.#groupBefore = db.prepare(`${select} ${group} AND first_id < ? ${last}`);
    this.#offlineInsert = db.prepare(
      "INSERT INTO offline (recipient, id, time, sender, text) VALUES (?,?,?,?,?)",
    );
    this.#offlineCount = db.prepare("SELECT count(*) AS n FROM offline WHERE recipient = ?");
    this.#offlineTake = db.prepare(
      "SELECT id, time, sender AS 'from', recipient AS target, text FROM offline " +
        "WHERE recipient = ? ORDER BY id",
    );
    this.#offlineDelete = db.prepare("DELETE FROM offline WHERE recipient = ?");
    const one = (sql: string) =>
      Number((db.prepare(sql).get() as { v: number | null } | undefined)?.v ?? 0);
    this.#count = this.#countRows();
    this.#lastId = Math.max(
      one("SELECT first_id + count - 1 AS v FROM batches ORDER BY first_id DESC LIMIT 1"),
      one("SELECT max(id) AS v FROM offline"),
      one("SELECT value AS v FROM meta WHERE key = 'last_id'"),
    );
    this.#savedLastId = this.#lastId;
    this.#retention = new Retention(db, {
      limits: options.limits ?? (() => DEFAULT_LIMITS),
      now: options.now ?? Date.now,
      interval: options.retentionInterval ?? 10_000,
      onError: (what, error) => {
        // A pass that failed was rolled back: the count it lowered is read again.
        this.#count = this.#countRows();
        this.#onError(what, error);
      },
      deleted: (n) => this.#count -= n,
      count: () => this.#count,
      settle: () => this.durable(),
      saveLastId: () => {
        this.#setLastId.run(this.#lastId);
        this.#savedLastId = this.#lastId;
      },
    });
  }

  /**
   * Opens (creating when missing, folder 0700 and file 0600) the history at `path` and starts
   * its retention timer. Dispose it, or call {@linkcode HistoryStore.close}.
   * @throws {HistoryFileError} when the file cannot be used.
   */
  static open(path: string, options: HistoryStoreOptions = {}): HistoryStore {
    try {
      Deno.mkdirSync(dirname(path), { recursive: true, mode: HISTORY_FOLDER_MODE });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) {
        throw new HistoryFileError(path, `cannot create its folder (${fsReason(error)})`, {
          cause: error,
        });
      }
    }
    try {
      Deno.openSync(path, { createNew: true, write: true, mode: HISTORY_FILE_MODE }).close();
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) {
        throw new HistoryFileError(path, `cannot create it (${fsReason(error)})`, { cause: error });
      }
    }
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(path);
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 1000");
      db.exec(SCHEMA);
      const old = db.prepare("SELECT type FROM sqlite_schema WHERE name = 'messages'").get();
      if (old?.type === "table") db.exec(MIGRATE_MESSAGES_TABLE);
      db.exec(MESSAGES_VIEW);
      return new HistoryStore(path, db, options);
    } catch (error) {
      try {
        db?.close();
      } catch { /* already failing */ }
      throw new HistoryFileError(path, sqliteProblem(error), { cause: error });
    }
  }

  /** The largest message id the history has seen: the recorder continues after it. */
  get lastId(): number {
    return this.#lastId;
  }

  /** Messages stored now (lobby and groups), those of the open transaction included. */
  get count(): number {
    return this.#count;
  }

  /** Messages in the open transaction, not committed yet. */
  get pendingCount(): number {
    return this.#pendingCount;
  }

  /** Keeps a recorded batch: lobby and group messages are stored; every id is remembered. */
  keep(batch: RecordedBatch): void {
    if (this.#closed) return;
    const last = batch.firstId + batch.count - 1;
    if (last > this.#lastId) this.#lastId = last;
    if (batch.route.kind === "lobby" || batch.route.kind === "group") {
      if (!this.#open) {
        try {
          this.#db.exec("BEGIN");
        } catch (error) {
          this.failed += batch.count;
          return this.#onError(`storing ${batch.count} messages`, error);
        }
        this.#open = true;
      }
      this.#pendingCount += batch.count;
      try {
        const inserted = this.#store(batch);
        this.#inserted += inserted;
        this.#count += inserted;
      } catch (error) {
        return this.#abort(error);
      }
      if (this.#pendingCount >= this.#maxPending) return this.flush();
    }
    if (this.#timer === undefined) {
      const wait = Math.max(
        this.#flushDelay,
        this.#flushedAt + this.#flushInterval - performance.now(),
      );
      this.#timer = setTimeout(this.#flushLater, wait);
    }
  }

  /** Commits what is queued now: called before a sender is acknowledged. */
  durable(): void {
    if (this.#open) this.flush();
  }

  /** Writes everything queued in one transaction, trimming to `maxMessages` on the way. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#closed) return;
    if (!this.#open && this.#lastId === this.#savedLastId) return;
    this.#flushedAt = performance.now();
    const db = this.#db;
    const inserted = this.#inserted;
    try {
      if (!this.#open) {
        db.exec("BEGIN");
        this.#open = true;
      }
      this.#retention.trimToCount(inserted);
      // The largest id is kept in `meta` only when no stored message has it (a private message
      // came last): one page less per transaction in the common case.
      if (this.#lastId !== this.#savedLastId && this.#lastId !== this.#lastStored) {
        this.#setLastId.run(this.#lastId);
      }
      db.exec("COMMIT");
      this.#open = false;
      this.#pendingCount = 0;
      this.#inserted = 0;
      this.#savedLastId = this.#lastId;
      this.stored += inserted;
    } catch (error) {
      this.#abort(error);
    }
  }

  /** The open transaction failed: its messages are lost, counted and reported. */
  #abort(error: unknown): void {
    const count = this.#pendingCount;
    try {
      if (this.#open) this.#db.exec("ROLLBACK");
    } catch { /* no transaction left to roll back */ }
    this.#open = false;
    this.#pendingCount = 0;
    this.#inserted = 0;
    this.#count = this.#countRows();
    this.failed += count;
    this.#onError(`storing ${count} messages`, error);
  }

  /** Inserts `batch` as one row; returns how many messages were stored. */
  #store(batch: RecordedBatch): number {
    const { firstId, count, time, from, target, wire, prefixLength } = batch;
    const texts: string[] = [];
    if (ASCII.test(from) && ASCII.test(target)) {
      // Names and group names are ASCII, so the prefix is as many characters as bytes: the
      // buffer is decoded once and cut, not each text on its own.
      const lines = decoder.decode(wire).split("\n");
      for (let i = 0; i < count; i++) texts.push((lines[i] ?? "").slice(prefixLength));
    } else {
      for (const text of batchTexts(batch)) texts.push(decoder.decode(text));
    }
    const changes = Number(
      this.#insert.run(firstId, count, time, from, target, JSON.stringify(texts)).changes,
    );
    this.#lastStored = firstId + count - 1;
    return changes === 0 ? 0 : count;
  }

  /** Messages in the `batches` table, read from the file. */
  #countRows(): number {
    const row = this.#db.prepare("SELECT coalesce(sum(count), 0) AS n FROM batches").get();
    return Number((row as { n: number }).n);
  }

  /**
   * The last `limit` messages to `target` (`*` or `#group`), those before id `before` when
   * given, oldest first. What is queued is committed first, so a message just sent is there.
   */
  query(target: string, limit: number, before?: number): HistoryEntry[] {
    this.durable();
    if (!(limit > 0)) return [];
    // Newest first, then turned around: the batches' messages from the last one back. A batch
    // holds one message or hundreds, so batches are fetched a few at first, more if needed:
    // fetching as many batches as messages asked for parsed a hundred times the texts.
    const entries: HistoryEntry[] = [];
    let cursor = before;
    let want = Math.min(limit, FIRST_FETCH);
    for (;;) {
      const rows = target === "*"
        ? cursor === undefined ? this.#lobby.all(want) : this.#lobbyBefore.all(cursor, want)
        : cursor === undefined
        ? this.#group.all(target, want)
        : this.#groupBefore.all(target, cursor, want);
      for (const row of rows) {
        const firstId = Number(row.first_id);
        const time = Number(row.time);
        const from = String(row.sender);
        const to = String(row.target);
        const texts = JSON.parse(String(row.texts)) as string[];
        for (let i = texts.length - 1; i >= 0 && entries.length < limit; i--) {
          const id = firstId + i;
          if (before === undefined || id < before) {
            entries.push({ id, time, from, target: to, text: String(texts[i]) });
          }
        }
        if (entries.length >= limit) return entries.reverse();
      }
      if (rows.length < want) return entries.reverse();
      cursor = Number(rows[rows.length - 1]!.first_id);
      want = Math.min(limit, want * 4);
    }
  }

  /**
   * Keeps a private message for `recipient` (an account name) who is offline, committed before
   * it returns. False, and nothing kept, when `recipient` already has `offlineMax` waiting.
   * @throws {Error} from SQLite when the file cannot be written (disk full …): nothing was kept.
   */
  storeOffline(recipient: string, id: number, time: number, from: string, text: string): boolean {
    if (this.#closed) return false;
    // Its own statement commits it at once: nothing of the lobby's may be in a transaction then.
    this.durable();
    if (this.offlineCount(recipient) >= this.#retention.limits().offlineMax) return false;
    this.#offlineInsert.run(recipient, id, time, from, text);
    if (id > this.#lastId) this.#lastId = id;
    return true;
  }

  /** The private messages waiting for `recipient`, oldest first; they are deleted. */
  takeOffline(recipient: string): HistoryEntry[] {
    if (this.#closed) return [];
    this.durable();
    const db = this.#db;
    db.exec("BEGIN");
    try {
      const rows = this.#offlineTake.all(recipient).map(entry);
      if (rows.length > 0) {
        this.#offlineDelete.run(recipient);
        // Their ids may have been the largest: kept, so that they are not used again.
        this.#setLastId.run(this.#lastId);
      }
      db.exec("COMMIT");
      return rows;
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }

  /** How many private messages wait for `recipient`. */
  offlineCount(recipient: string): number {
    if (this.#closed) return 0;
    return Number((this.#offlineCount.get(recipient) as { n: number }).n);
  }

  /** Runs one retention pass now (tests; the timer runs them otherwise). Returns rows deleted. */
  enforceRetention(): number {
    this.durable();
    return this.#retention.runAll();
  }

  /** Commits what is queued, stops the retention timer and closes the file. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#retention.stop();
    try {
      this.#db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch { /* a busy checkpoint is retried at the next open */ }
    this.#db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** A row as a plain {@linkcode HistoryEntry}. */
function entry(row: Record<string, unknown>): HistoryEntry {
  return {
    id: Number(row.id),
    time: Number(row.time),
    from: String(row.from),
    target: String(row.target),
    text: String(row.text),
  };
}

/** An SQLite failure at open, in a few words. */
function sqliteProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/not a database|file is encrypted/i.test(message)) return "not an SQLite database";
  if (/readonly|read-only/i.test(message)) return "cannot write it (read-only)";
  if (/unable to open/i.test(message)) return "cannot open it";
  if (error instanceof Deno.errors.NotCapable) return fsReason(error);
  return message.split("\n")[0] ?? "unknown error";
}
