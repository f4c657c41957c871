/**
 * The request log's hot path. Every relayed message (and every echoed line) gets one line in
 * `server.log` — never one per recipient — but LogTape sees one record per batch: a LogTape
 * record with its formatting costs about 10 µs here, more than relaying a message to a hundred
 * clients. Entries from every connection gather in one {@linkcode MessageLog} and go to LogTape
 * every {@linkcode MESSAGE_LOG_DELAY_MS} or every {@linkcode MESSAGE_LOG_MAX_ENTRIES}, whichever
 * comes first; `log.ts` expands a batch record into one line per entry, each with the time the
 * server read the message.
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

/** The property of a batch record that holds its {@linkcode MessageLogEntry} list. */
export const MESSAGE_BATCH = "messageBatch";
/** Longest time an entry waits before it is handed to LogTape. */
export const MESSAGE_LOG_DELAY_MS = 50;
/** Entries that make a batch go out at once. */
export const MESSAGE_LOG_MAX_ENTRIES = 4096;

/** Gathers message entries from every connection and hands them to LogTape in batches. */
export class MessageLog {
  readonly #logger: Logger;
  #entries: MessageLogEntry[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Logs to `logger` (the `switchboard.traffic` category) at info level. */
  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** True when message lines are written at all; callers skip building entries otherwise. */
  get enabled(): boolean {
    return this.#logger.isEnabledFor("info");
  }

  /** Adds one entry; it reaches LogTape within {@linkcode MESSAGE_LOG_DELAY_MS}. */
  add(entry: MessageLogEntry): void {
    this.#entries.push(entry);
    if (this.#entries.length >= MESSAGE_LOG_MAX_ENTRIES) {
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
    if (this.#entries.length === 0) return;
    const entries = this.#entries;
    this.#entries = [];
    this.#logger.info("{count} messages", { count: entries.length, [MESSAGE_BATCH]: entries });
  }
}
