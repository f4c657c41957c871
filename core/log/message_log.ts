/**
 * The request log's hot path. Every relayed message (and every echoed line) gets one line in
 * `server.log` — never one per recipient — but LogTape sees one record per batch: a LogTape
 * record with its formatting costs about 10 µs here, more than relaying a message to a hundred
 * clients. Entries from every connection gather in one {@linkcode MessageLog} and go to LogTape
 * every {@linkcode MESSAGE_LOG_DELAY_MS}, every {@linkcode MESSAGE_LOG_MAX_ENTRIES} or
 * {@linkcode MESSAGE_LOG_MAX_TEXT_BYTES} of text, and before any other record reaches the files
 * (`_in_order.ts`), as a {@linkcode MessageBatch}; `message_lines.ts` renders a batch into one
 * line per entry, each with the time the server read the message (or a later one, never past
 * when it was handled, where that keeps the file's times from going back).
 *
 * What an entry keeps depends on the mode (`--log-messages`): `full` keeps the text, `meta` only
 * its size, `off` nothing (the log is disabled). Adding an entry allocates nothing in the common
 * case: consecutive entries that differ only in their text (the lines of one chunk, one sender's
 * burst) share a run, sizes go into a typed array, and texts are appended to one byte buffer,
 * reused from batch to batch.
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { LogMessages } from "../config/options.ts";
import { holdBatch, lastRecordTime, releaseBatch } from "./_in_order.ts";

/** One relayed message: a line of `server.log`. */
export interface MessageLogEntry {
  /**
   * When the server read it (ms since the epoch); later when that was before the previous entry
   * or a record logged since, so that the log's times never go back.
   */
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
  /** The text (UTF-8), or undefined when the log keeps no text (`meta`). */
  text: Uint8Array | undefined;
}

/** Consecutive entries of a batch that differ only in their text. */
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
  /**
   * The texts of all entries one after the other (entry `i` starts where the sizes before it
   * end), or undefined when the log keeps no text (`meta`). Lent, not owned: valid while the
   * batch's record is being logged, because the {@linkcode MessageLog} writes its next batch
   * into the same buffer. LogTape calls sinks synchronously; a sink renders or copies the texts
   * then (the file sinks do), and one that keeps a batch for later must copy them.
   */
  readonly text: Uint8Array | undefined;

  /** Wraps runs, their sizes (`sizes.length` is the number of entries) and their texts. */
  constructor(runs: readonly MessageRun[], sizes: Uint32Array, text?: Uint8Array) {
    this.runs = runs;
    this.sizes = sizes;
    this.text = text;
  }

  /** Number of entries. */
  get length(): number {
    return this.sizes.length;
  }

  /** The entries one by one, for sinks that want structured records (texts lent, as `text`). */
  *entries(): IterableIterator<MessageLogEntry> {
    let index = 0;
    let offset = 0;
    const text = this.text;
    for (const { time, name, peer, target, recipients, count } of this.runs) {
      for (let i = 0; i < count; i++) {
        const bytes = this.sizes[index++]!;
        const entryText = text?.subarray(offset, offset + bytes);
        offset += bytes;
        yield { time, name, peer, target, recipients, bytes, text: entryText };
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
/** Bytes of text (`full` mode) that make a batch go out at once: they bound its memory. */
export const MESSAGE_LOG_MAX_TEXT_BYTES = 1024 * 1024;
/** Text buffer of a new log; it doubles as needed and is reused batch after batch. */
const INITIAL_TEXT_BYTES = 4096;

/** Gathers message entries from every connection and hands them to LogTape in batches. */
export class MessageLog {
  readonly #logger: Logger;
  readonly #mode: LogMessages;
  #runs: MessageRun[] = [];
  #last: MessageRun | undefined;
  #sizes = new Uint32Array(MESSAGE_LOG_MAX_ENTRIES);
  #count = 0;
  /** The batch's texts (`full` only), `#textBytes` of them used. */
  #text: Uint8Array | undefined;
  #textBytes = 0;
  /** The time of the latest entry: a later one is never timed before it. */
  #lastTime = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Logs to `logger` (the `switchboard.traffic` category) at info level: each message with its
   * text (`"full"`), without it (`"meta"`), or not at all (`"off"`).
   */
  constructor(logger: Logger, mode: LogMessages = "full") {
    this.#logger = logger;
    this.#mode = mode;
    if (mode === "full") this.#text = new Uint8Array(INITIAL_TEXT_BYTES);
  }

  /** What an entry keeps: `"full"` (the text), `"meta"` (its size), `"off"` (no entries). */
  get mode(): LogMessages {
    return this.#mode;
  }

  /** True when message lines are written at all; callers skip building entries otherwise. */
  get enabled(): boolean {
    return this.#mode !== "off" && this.#logger.isEnabledFor("info");
  }

  /**
   * Adds one entry (see {@linkcode MessageLogEntry} for the fields) whose text is
   * `text[start..end)`, by default all of it; it reaches LogTape within
   * {@linkcode MESSAGE_LOG_DELAY_MS}, and before any later record. The text is copied (in `full`
   * mode) before this returns, so it may be a view into a buffer the caller reuses; passing its
   * bounds spares a caller with many texts in one buffer a view per text. Does nothing when the
   * mode is `"off"`.
   */
  add(
    time: number,
    name: string,
    peer: string,
    target: string,
    recipients: number,
    text: Uint8Array,
    start = 0,
    end: number = text.length,
  ): void {
    if (this.#mode === "off") return;
    // Read before something logged since, or another connection's line: not back in time.
    const floor = Math.max(this.#lastTime, lastRecordTime());
    if (time < floor) time = floor;
    this.#lastTime = time;
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
    if (this.#count === 0) holdBatch(this);
    this.#sizes[this.#count++] = end - start;
    if (this.#text !== undefined) this.#append(text, start, end);
    if (this.#count >= MESSAGE_LOG_MAX_ENTRIES || this.#textBytes >= MESSAGE_LOG_MAX_TEXT_BYTES) {
      this.flush();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), MESSAGE_LOG_DELAY_MS);
      // Pending log lines never keep the process alive; shutdown flushes them.
      Deno.unrefTimer(this.#timer as unknown as number);
    }
  }

  /**
   * Hands every pending entry to LogTape now. The server calls it when it stops; the file sinks
   * call it (through `_in_order.ts`) before any other record.
   */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#count === 0) return;
    // The texts are lent to the batch, not copied: sinks run synchronously and are done with
    // them when info() returns (see MessageBatch.text), and the next batch reuses the buffer.
    // A fresh megabyte per batch, or a copy, cost as much as the rest of the log at 1 KiB lines.
    const text = this.#text?.subarray(0, this.#textBytes);
    this.#textBytes = 0;
    const batch = new MessageBatch(this.#runs, this.#sizes.slice(0, this.#count), text);
    this.#runs = [];
    this.#last = undefined;
    this.#count = 0;
    // Empty before its record goes out: a record logged from inside a sink flushes nothing twice.
    releaseBatch(this);
    this.#logger.info("{count} messages", { count: batch.length, [MESSAGE_BATCH]: batch });
    // One huge line does not keep a huge buffer for good.
    if (this.#text !== undefined && this.#text.length > 2 * MESSAGE_LOG_MAX_TEXT_BYTES) {
      this.#text = new Uint8Array(INITIAL_TEXT_BYTES);
    }
  }

  /** Appends a text to the batch's buffer, doubling it when full. */
  #append(text: Uint8Array, start: number, stop: number): void {
    let buffer = this.#text as Uint8Array;
    const end = this.#textBytes + stop - start;
    if (end > buffer.length) {
      let size = buffer.length * 2;
      while (size < end) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(buffer.subarray(0, this.#textBytes));
      this.#text = buffer = grown;
    }
    buffer.set(
      start === 0 && stop === text.length ? text : text.subarray(start, stop),
      this.#textBytes,
    );
    this.#textBytes = end;
  }
}
