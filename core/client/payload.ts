/**
 * The plumbing of sized payloads on the client side, shared by the client (which owns the
 * connection) and `files.ts` (which owns the files): the sink a download's bytes go to,
 * the hooks of an upload or download, and the loop that reads a payload into its sink — or
 * drops it when nobody asked for it, so the framing always holds.
 * @module
 */

import type { Answer } from "./answer.ts";
import type { ClientLink } from "./link.ts";
import type { FileEvent } from "../protocol/server_line.ts";

/** The answer to an upload, and how many of its bytes were written. */
export interface UploadAnswer extends Answer {
  /** Bytes written after the command line; short when the connection broke or the file shrank. */
  sent: number;
}

/**
 * Where the bytes after a `FILE` line go. The client calls `write` for each piece (valid only
 * until the returned promise settles; the socket is not read meanwhile), then `end` when every
 * byte arrived or `abort` when the connection ended first. None of them should throw; a sink
 * that does is dropped and the remaining bytes are read and discarded.
 */
export interface PayloadSink {
  /** The next piece of the payload. */
  write(piece: Uint8Array): Promise<void> | void;
  /** All `size` bytes arrived. */
  end(): Promise<void> | void;
  /** The connection ended after `received` bytes; whatever was stored must go. */
  abort(received: number): Promise<void> | void;
}

/** Chooses the sink for a payload once its `FILE` line is known. */
export type PayloadReceiver = (header: FileEvent) => PayloadSink | Promise<PayloadSink>;

/** Callbacks of `SwitchboardClient.upload` and `SwitchboardClient.download`. */
export interface TransferHooks {
  /** The command was queued on the connection: lines sent from now on go after it. */
  onQueued?: (() => void) | undefined;
  /** Bytes of the payload moved so far (uploads only; a sink counts its own). */
  onProgress?: ((bytes: number) => void) | undefined;
  /**
   * The final line came: called at once, before the `line` event reports it and before any later
   * line is handled (the returned promise resolves a little later).
   */
  onAnswer?: ((answer: Answer) => void) | undefined;
  /** The last byte of an upload was written (or the upload broke after `sent` bytes). */
  onWritten?: ((sent: number) => void) | undefined;
}

/** The sink of a payload nobody asked for (a raw `:get` sent with `request`): read and dropped. */
const DISCARD: PayloadSink = { write() {}, end() {}, abort() {} };

/**
 * Reads the `header.size` bytes after a `FILE` line from `link` into the sink `receive` returns
 * (dropping them without one), then ends or aborts the sink. Never throws: a receiver or sink
 * that does is dropped, and the bytes are still read so the next line is a line.
 */
export async function receivePayload(
  link: ClientLink,
  header: FileEvent,
  receive: PayloadReceiver | undefined,
): Promise<void> {
  let sink = DISCARD;
  try {
    if (receive !== undefined) sink = await receive(header);
  } catch {
    // A receiver that throws gets nothing; the bytes are still read to keep the framing.
  }
  let broken = false;
  const write = async (piece: Uint8Array) => {
    if (broken) return;
    try {
      await sink.write(piece);
    } catch {
      broken = true;
    }
  };
  const received = await link.readPayload(header.size, write);
  try {
    if (received === header.size && !broken) await sink.end();
    else await sink.abort(received);
  } catch {
    // Its own problem to report.
  }
}
