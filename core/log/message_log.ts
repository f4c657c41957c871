/**
 * The request log's hot path. Every relayed message (and every echoed line) gets one line in
 * `server.log` — never one per recipient — but LogTape sees one record per batch: a LogTape
 * record with its formatting costs about 10 µs here, more than relaying a message to a hundred
 * clients. Entries from every connection gather in one {@linkcode MessageLog} and go to LogTape
 * every {@linkcode MESSAGE_LOG_DELAY_MS} or every {@linkcode MESSAGE_LOG_MAX_ENTRIES}, whichever
 * comes first, as a {@linkcode MessageBatch}; `message_lines.ts` renders a batch into one line
 * per entry, each with the time the server read the message.
 *
 * Adding an entry allocates nothing in the common case: consecutive entries that differ only in
 * their size (the lines of one chunk, one sender's burst) share a run, and sizes go into a typed
 * array.
 * @module
 */

import type { Logger } from "@logtape/logtape";

/** One relayed message: a line of `server.log`. */
export interface MessageLogEntry {
  /** When the server read it (ms since the epoch). */
  time: number;
  /** Sender's name (`""` before registration, as in echo mode). */
  name: string;
  /** Sender as `ip:port`. */
  peer: string;
  /** `*` for the lobby, `#group`, a user for a private message, `echo` in echo mode. */
  target: string;
  /** Recipients the message was queued to. */
  recipients: number;
  /** Size of the text in bytes. */
  bytes: number;
}

/** Consecutive entries of a batch that differ only in their size. */
export interface MessageRun {
  /** When the server read them (ms since the epoch). */
  readonly time: number;
  /** Sender's name (`""` before registration). */
  readonly name: string;
  /** Sender as `ip:port`. */
  readonly peer: string;
  /** `*`, `#group`, a user, or `echo`. */
  readonly target: string;
  /** Recipients each message was queued to. */
  readonly recipients: number;
  /** Entries in the run; their sizes follow each other in {@linkcode MessageBatch.sizes}. */
  count: number;
}

/** The entries a batch record carries, in the order they were added. */
export class MessageBatch {
  /** Runs of entries, in order. */
  readonly runs: readonly MessageRun[];
  /** The size in bytes of each entry, run after run. */
  readonly sizes: Uint32Array;

  /** Wraps runs and their sizes (`sizes.length` is the number of entries). */
  constructor(runs: readonly MessageRun[], sizes: Uint32Array) {
    this.runs = runs;
    this.sizes = sizes;
  }

  /** Number of entries. */
  get length(): number {
    return this.sizes.length;
  }

  /** The entries one by one, for sinks that want structured records. */
  *entries(): IterableIterator<MessageLogEntry> {
    let index = 0;
    for (const { time, name, peer, target, recipients, count } of this.runs) {
      for (let i = 0; i < count; i++) {
        yield { time, name, peer, target, recipients, bytes: this.sizes[index++]! };
      }
    }
  }
}

/** The property of a batch record that holds its {@linkcode MessageBatch}. */
export const MESSAGE_BATCH = "messageBatch";
/** Longest time an entry waits before it is handed to LogTape. */
export const MESSAGE_LOG_DELAY_MS = 50;
/** Entries that make a batch go out at once. */
export const MESSAGE_LOG_MAX_ENTRIES = 4096;

/** Gathers message entries from every connection and hands them to LogTape in batches. */
export class MessageLog {
  readonly #logger: Logger;
  #runs: MessageRun[] = [];
  #last: MessageRun | undefined;
  #sizes = new Uint32Array(MESSAGE_LOG_MAX_ENTRIES);
  #count = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Logs to `logger` (the `switchboard.traffic` category) at info level. */
  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** True when message lines are written at all; callers skip building entries otherwise. */
  get enabled(): boolean {
    return this.#logger.isEnabledFor("info");
  }

  /**
   * Adds one entry (see {@linkcode MessageLogEntry} for the fields); it reaches LogTape within
   * {@linkcode MESSAGE_LOG_DELAY_MS}.
   */
  add(
    time: number,
    name: string,
    peer: string,
    target: string,
    recipients: number,
    bytes: number,
  ): void {
    const last = this.#last;
    if (
      last !== undefined && last.time === time && last.peer === peer && last.name === name &&
      last.target === target && last.recipients === recipients
    ) {
      last.count++;
    } else {
      this.#last = { time, name, peer, target, recipients, count: 1 };
      this.#runs.push(this.#last);
    }
    this.#sizes[this.#count++] = bytes;
    if (this.#count >= MESSAGE_LOG_MAX_ENTRIES) {
      this.flush();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), MESSAGE_LOG_DELAY_MS);
      // Pending log lines never keep the process alive; shutdown flushes them.
      Deno.unrefTimer(this.#timer as unknown as number);
    }
  }

  /** Hands every pending entry to LogTape now (the server calls it when it stops). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#count === 0) return;
    const batch = new MessageBatch(this.#runs, this.#sizes.slice(0, this.#count));
    this.#runs = [];
    this.#last = undefined;
    this.#count = 0;
    this.#logger.info("{count} messages", { count: batch.length, [MESSAGE_BATCH]: batch });
  }
}
