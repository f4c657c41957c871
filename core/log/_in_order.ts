/**
 * Keeps `server.log` in time order although message lines are batched. A {@linkcode MessageLog}
 * holds its entries for up to 50 ms; meanwhile the server logs other records (a `disconnected`,
 * a command) straight away. Left alone, the batch would be written after records that happened
 * later: a client's message would follow its own `disconnected` line.
 *
 * So the file sinks are wrapped with {@linkcode inOrder}: before a record that is not a batch
 * reaches a file, every batch with pending entries is handed to LogTape first, synchronously (its
 * record reaches the same sinks, nested inside this call), and the record follows. The batching
 * stays: records other than messages are few, so a burst of messages still goes out in a few
 * records.
 *
 * Times stay in order too. An entry carries the time its chunk was read, which can be earlier
 * than a record written meanwhile (a command earlier in the same chunk) or than the entry added
 * before it (another connection's line). Such an entry gets that later time instead (see
 * {@linkcode lastRecordTime}): still between when it was read and when it was handled, and never
 * back in time.
 *
 * The state here is per process, not per server, because what it orders is: LogTape's
 * configuration and the files it writes are the process's. It holds only batches with entries
 * waiting, so a stopped server (which flushes its batch) leaves nothing behind.
 * @module
 */

import type { LogRecord, Sink } from "@logtape/logtape";

/** A batch of log entries that can be handed to LogTape on demand. */
export interface PendingBatch {
  /** Hands the pending entries to LogTape now, synchronously. */
  flush(): void;
}

/** Batches with entries not yet handed to LogTape, oldest first. */
const pending = new Set<PendingBatch>();
/** The time of the latest record written through {@linkcode inOrder}, in ms since the epoch. */
let lastRecord = 0;

/** Marks `batch` as holding entries: {@linkcode flushPendingBatches} will flush it. */
export function holdBatch(batch: PendingBatch): void {
  pending.add(batch);
}

/** Marks `batch` as empty (it calls this when it flushes). */
export function releaseBatch(batch: PendingBatch): void {
  pending.delete(batch);
}

/**
 * The time of the latest record (other than a batch) written to the files: a batch times its
 * later entries no earlier, so that times in the file never go back.
 */
export function lastRecordTime(): number {
  return lastRecord;
}

/** Flushes every pending batch, before a record timed `timestamp` is written. */
export function flushPendingBatches(timestamp: number): void {
  if (timestamp > lastRecord) lastRecord = timestamp;
  // A batch leaves the set as it flushes (deleting the current element is safe while iterating),
  // and its record goes to the sinks from inside this loop: a record is never written half-way.
  for (const batch of pending) batch.flush();
}

/**
 * Wraps a file sink so that pending batches are written before any other record:
 * `isBatch(record)` tells the batches' own records, which pass straight through. Disposal is
 * forwarded, so LogTape still flushes and closes the file on reset.
 */
export function inOrder(
  sink: Sink & Partial<AsyncDisposable & Disposable>,
  isBatch: (record: LogRecord) => boolean,
): Sink & Partial<AsyncDisposable & Disposable> {
  const ordered: Sink & Partial<AsyncDisposable & Disposable> = (record) => {
    if (!isBatch(record)) flushPendingBatches(record.timestamp);
    sink(record);
  };
  const asyncDispose = sink[Symbol.asyncDispose];
  if (asyncDispose) ordered[Symbol.asyncDispose] = () => asyncDispose.call(sink);
  const dispose = sink[Symbol.dispose];
  if (dispose) ordered[Symbol.dispose] = () => dispose.call(sink);
  return ordered;
}
