/**
 * Outgoing sized payloads (`FILE <name> <size> <sha256>` and then the bytes): a file is read in
 * pieces and queued on a connection's {@linkcode Outbound} no faster than it drains, never past
 * the queue's high-water mark. A queue at or below that mark is not "congested", so the
 * server-wide backpressure gate stays open and a download never holds up anyone's chat.
 * @module
 */

import { PAYLOAD_PIECE_BYTES, type PayloadSource, readFully } from "../protocol/payload.ts";
import { abortion } from "../util/time.ts";
import type { Outbound } from "./outbound.ts";

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
export async function pumpPayload(
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
    failure = `reading the file failed: ${error instanceof Error ? error.message : error}`;
  } finally {
    stop.dispose();
    // The caller closes the source next: no read may still be running.
    await ahead?.catch(() => {});
  }
  return { sent, failure };
}
