/**
 * Outgoing sized payloads (`FILE <name> <size> <sha256>` and then the bytes): a file is read in
 * pieces and queued on a connection's {@linkcode Outbound} no faster than it drains, never past
 * the queue's high-water mark. A queue at or below that mark is not "congested", so the
 * server-wide backpressure gate stays open and a download never holds up anyone's chat. Lines
 * for the client that come up meanwhile wait in {@linkcode PayloadSender} and follow the trailer.
 * @module
 */

import { describeError } from "../util/describe_error.ts";
import { PAYLOAD_PIECE_BYTES, type PayloadSource, readFully } from "../protocol/payload.ts";
import { abortion } from "../util/time.ts";
import type { Session } from "./context.ts";
import type { Outbound } from "./outbound.ts";

const encoder = new TextEncoder();

/** Options of {@linkcode pumpPayload}. */
export interface PumpOptions {
  /** Bytes the queue may hold; a piece waits until it fits under this. */
  highWater: number;
  /** Stops the pump (connection closing, server shutting down). */
  signal: AbortSignal;
  /** False once the connection stops taking bytes. */
  open: () => boolean;
}

/**
 * Queues exactly `size` bytes from `source` on `outbound`, reading the next piece from the source
 * while the previous one is being written. Resolves with the bytes queued (`size` on success) and,
 * when short, why. Never throws, and no read of `source` is still running when it resolves.
 */
async function pumpPayload(
  outbound: Outbound,
  source: PayloadSource,
  size: number,
  options: PumpOptions,
): Promise<{ sent: number; failure: string }> {
  const { highWater, signal, open } = options;
  const pieceSize = Math.max(1, Math.min(PAYLOAD_PIECE_BYTES, highWater));
  // Buffers whose bytes the queue has written are reused; `end` is the offset in the
  // connection's output just past a queued piece.
  const spare: Uint8Array[] = [];
  const queued: { buffer: Uint8Array; end: number }[] = [];
  const read = async (offset: number): Promise<Uint8Array> => {
    while (queued.length > 0 && outbound.bytesWritten >= queued[0]!.end) {
      spare.push(queued.shift()!.buffer);
    }
    const piece = (spare.pop() ?? new Uint8Array(pieceSize))
      .subarray(0, Math.min(pieceSize, size - offset));
    if (await readFully(source, piece) < piece.length) {
      throw new Error("the file ended before its recorded size");
    }
    return piece;
  };
  const stop = abortion(signal);
  let sent = 0;
  let failure = "the download was cut short";
  let ahead = size > 0 ? read(0) : undefined;
  try {
    while (sent < size) {
      const piece = await (ahead as Promise<Uint8Array>);
      ahead = undefined;
      while (outbound.queuedBytes + piece.length > highWater && open() && !signal.aborted) {
        await Promise.race([outbound.flushed(), stop.promise]);
      }
      if (!open() || signal.aborted || !outbound.enqueue(piece)) break;
      queued.push({
        buffer: new Uint8Array(piece.buffer),
        end: outbound.bytesWritten + outbound.queuedBytes,
      });
      sent += piece.length;
      if (sent < size) ahead = read(sent);
    }
  } catch (error) {
    failure = `reading the file failed: ${describeError(error)}`;
  } finally {
    stop.dispose();
    // The caller closes the source next: no read may still be running.
    await ahead?.catch(() => {});
  }
  return { sent, failure };
}

/** The connection a {@linkcode PayloadSender} sends on. */
export interface PayloadConnection {
  /** False once the connection starts closing. */
  readonly open: boolean;
  /** Its outbound queue. */
  readonly outbound: Outbound;
  /** Queues one line (through the connection, so it is held while a payload goes out). */
  send(line: string): void;
  /** Queues bytes (likewise). */
  deliver(bytes: Uint8Array): void;
  /** A payload broke after `sent` bytes: its framing is lost, so the connection must end. */
  payloadBroken(sent: number, why: string): void;
}

/** Sends sized payloads on one connection, holding back the lines that come up meanwhile. */
export class PayloadSender {
  readonly #connection: PayloadConnection;
  readonly #maxQueueBytes: number;
  /** Lines for this client held back while a payload is being sent to it. */
  #held: Uint8Array[] | undefined;
  #heldBytes = 0;

  /** A sender for `connection`, holding at most `maxQueueBytes` of lines meanwhile. */
  constructor(connection: PayloadConnection, maxQueueBytes: number) {
    this.#connection = connection;
    this.#maxQueueBytes = maxQueueBytes;
  }

  /** True while a payload goes out (or broke): a line now would be read as payload bytes. */
  get sending(): boolean {
    return this.#held !== undefined;
  }

  /** The queue's high-water mark: a quarter of `--max-queue-bytes`. */
  get highWater(): number {
    return Math.max(1, Math.floor(this.#maxQueueBytes / 4));
  }

  /** Holds `bytes` until the payload is out; false when the held lines would pass the limit. */
  hold(bytes: Uint8Array): boolean {
    if (this.#heldBytes + bytes.length > this.#maxQueueBytes) return false;
    (this.#held as Uint8Array[]).push(bytes);
    this.#heldBytes += bytes.length;
    return true;
  }

  /** Sends a header line, a payload of exactly `size` bytes from `source`, then a trailer line. */
  async send(
    ...[header, source, size, trailer, signal]: Parameters<Session["sendPayload"]>
  ): Promise<boolean> {
    const connection = this.#connection;
    if (!connection.open) return false;
    connection.send(header);
    this.#held = [];
    this.#heldBytes = 0;
    const { sent, failure } = await pumpPayload(connection.outbound, source, size, {
      highWater: this.highWater,
      signal,
      open: () => connection.open,
    });
    if (sent === size && connection.open) {
      connection.outbound.enqueue(encoder.encode(trailer));
      const held = this.#held;
      this.#held = undefined;
      this.#heldBytes = 0;
      for (const bytes of held) connection.deliver(bytes);
      return true;
    }
    // The framing is lost: nothing may follow an incomplete payload, so the connection ends.
    this.#held = [];
    if (connection.open) connection.payloadBroken(sent, failure);
    return false;
  }

  /** Queues `line` once the queue is below half its high-water mark; false if closed. */
  async sendPaced(line: string, signal: AbortSignal): Promise<boolean> {
    const connection = this.#connection;
    const limit = Math.floor(this.highWater / 2);
    if (connection.outbound.queuedBytes > limit) {
      const stop = abortion(signal);
      try {
        while (connection.open && !signal.aborted && connection.outbound.queuedBytes > limit) {
          await Promise.race([connection.outbound.flushed(), stop.promise]);
        }
      } finally {
        stop.dispose();
      }
    }
    if (!connection.open) return false;
    connection.send(line);
    return true;
  }
}
