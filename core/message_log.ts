/**
 * The request log's hot path: relayed messages are written one line per message (never one per
 * recipient) but handed to LogTape as one record per batch. A LogTape record and its formatting
 * cost about 10 µs; under a flood a connection relays a chunk of hundreds of messages at once,
 * and a record each would cost more than relaying them. `log.ts` expands a batch record into
 * its lines, with one shared timestamp.
 * @module
 */

import type { Logger } from "@logtape/logtape";

/** One relayed message, as {@linkcode logMessages} writes it: a line of `server.log`. */
export interface MessageLogEntry {
  /** Sender's name. */
  name: string;
  /** Sender as `ip:port`. */
  peer: string;
  /** `*` for the lobby, `#group`, or the recipient of a private message. */
  target: string;
  /** Recipients the message was queued to. */
  recipients: number;
  /** Size of the text in bytes. */
  bytes: number;
}

/** The message of a single-message record; a batch formats its lines the same way. */
export const MESSAGE_TEMPLATE =
  "message from {name} ({peer}) to {target}: {recipients} recipients, {bytes} bytes";
/** The property of a batch record that holds its {@linkcode MessageLogEntry} list. */
export const MESSAGE_BATCH = "messageBatch";

/** Logs relayed messages at info level: one record for one message, one record per batch. */
export function logMessages(logger: Logger, entries: readonly MessageLogEntry[]): void {
  if (entries.length === 0 || !logger.isEnabledFor("info")) return;
  if (entries.length === 1) {
    logger.info(MESSAGE_TEMPLATE, { ...entries[0] });
  } else {
    logger.info("{count} messages", { count: entries.length, [MESSAGE_BATCH]: entries });
  }
}
