/**
 * The per-connection outbound queue: one writer task, a byte limit, and write coalescing.
 * Many small queued buffers become one `write` call; the same `Uint8Array` may be queued to any
 * number of connections (a broadcast is encoded once).
 * @module
 */

import { takeBytes } from "../util/byte_slab.ts";
import { WakeList } from "../util/wake_list.ts";

/** An empty batch, shared: nothing is ever pushed to it. */
const NOTHING: Uint8Array[] = [];

/** Largest single `write` the queue assembles from small buffers. */
const MAX_COALESCED_WRITE = 256 * 1024;
/**
 * Buffers at least this big are written as they are, never copied into a joined one: a broadcast
 * batch of up to 64 KiB is shared by every recipient, and copying it once per recipient cost a
 * fifth of the server's time at 100 receivers (bench: 4.85 → 3.87 µs of CPU per message).
 */
const COALESCE_BELOW = 16 * 1024;

/** The transport an {@linkcode Outbound} writes to; `Deno.Conn` fits. */
export interface ByteSink {
  /** Writes some bytes and resolves with how many were taken (possibly fewer than given). */
  write(bytes: Uint8Array): Promise<number>;
}

/** Limits and callbacks of an {@linkcode Outbound}. */
export interface OutboundOptions {
  /** Bytes queued beyond which {@linkcode Outbound.enqueue} refuses. */
  maxQueueBytes: number;
  /** Above this the queue reports itself congested. @default {maxQueueBytes / 4} */
  highWater?: number;
  /** At or below this a congested queue reports itself drained. @default {maxQueueBytes / 16} */
  lowWater?: number;
  /**
   * Told when the queue passes its high-water mark and drains, and when a write fails. An object
   * rather than two callbacks: a connection is its own listener, without a closure (and its
   * context) per connection for each.
   */
  events?: OutboundEvents;
}

/** What an {@linkcode Outbound} tells its owner. */
export interface OutboundEvents {
  /** The queue passed the high-water mark (`true`), or drained again (`false`). */
  congestionChanged(congested: boolean): void;
  /** A write failed, once; the queue stops writing. */
  writeFailed(error: unknown): void;
  /**
   * The queue is about to start its third write: from here on writes may follow each other
   * without a line from the peer in between (see `Connection.thirdWrite`).
   */
  thirdWrite?(): void;
}

/**
 * A bounded, coalescing write queue for one connection.
 *
 * @example
 * ```ts
 * import { Outbound } from "./outbound.ts";
 * const written: Uint8Array[] = [];
 * const out = new Outbound({ write: (b) => { written.push(b.slice()); return Promise.resolve(b.length); } }, { maxQueueBytes: 1024 });
 * out.enqueue(new TextEncoder().encode("a\n"));
 * out.enqueue(new TextEncoder().encode("b\n"));
 * await out.flushed();
 * console.assert(written.length === 1); // coalesced into one write
 * ```
 */
export class Outbound {
  readonly #sink: ByteSink;
  readonly #maxQueueBytes: number;
  readonly #highWater: number;
  readonly #lowWater: number;
  readonly #events: OutboundEvents | undefined;
  /** Queues with bytes to write, waiting for the microtask that starts their writers. */
  static #due: Outbound[] = [];
  static readonly #runDue = (): void => {
    const due = Outbound.#due;
    Outbound.#due = [];
    for (const outbound of due) outbound.#run();
  };
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #scheduled = false;
  #writing = false;
  /** The batch being written, taken from the queue whole; what is left of it from `#index`. */
  #batch: Uint8Array[] = NOTHING;
  #index = 0;
  /** The write under way (a buffer, or several joined), and how much of it was taken. */
  #current: Uint8Array | undefined;
  #offset = 0;
  #failed = false;
  /** Made by the first wait: most queues are never waited on. */
  #flushWaits: WakeList | undefined;
  /** `performance.now()` since which the queue is above its high-water mark, or 0. */
  congestedSince = 0;
  /**
   * Total bytes handed to the sink. Whoever watches for a stalled reader samples it (with
   * {@linkcode Outbound.queuedBytes}) instead of the queue reading the clock on every write.
   */
  bytesWritten = 0;
  /** Writes started on the sink (a coalesced batch is one; a partial write takes more). */
  writes = 0;

  /** Creates a queue writing to `sink`. */
  constructor(sink: ByteSink, options: OutboundOptions) {
    this.#sink = sink;
    this.#maxQueueBytes = options.maxQueueBytes;
    this.#highWater = options.highWater ?? Math.floor(options.maxQueueBytes / 4);
    this.#lowWater = options.lowWater ?? Math.floor(options.maxQueueBytes / 16);
    this.#events = options.events;
  }

  /** Bytes queued beyond which {@linkcode Outbound.enqueue} refuses. */
  get maxQueueBytes(): number {
    return this.#maxQueueBytes;
  }

  /** Bytes queued and not yet taken by the sink. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** True while the queue is above its high-water mark. */
  get congested(): boolean {
    return this.congestedSince !== 0;
  }

  /** True once a write has failed; nothing more will be written. */
  get failed(): boolean {
    return this.#failed;
  }

  /**
   * Queues bytes for writing. Returns false, queuing nothing, when that would pass the byte limit
   * (unless `force`, used for a final `BYE` line) or when the queue has failed. With `soon` the
   * bytes wait for the next write, or for {@linkcode Outbound.send}.
   */
  enqueue(bytes: Uint8Array, force = false, soon = false): boolean {
    if (this.#failed) return false;
    if (!force && this.#queuedBytes + bytes.length > this.#maxQueueBytes) return false;
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.length;
    if (this.congestedSince === 0 && this.#queuedBytes > this.#highWater) {
      this.congestedSince = performance.now();
      this.#events?.congestionChanged(true);
    }
    if (!soon) this.send();
    return true;
  }

  /**
   * Starts writing what is queued, if no write is under way or due: for bytes queued with
   * `soon` ({@linkcode Outbound.enqueue}), which wait for the next write or for this.
   */
  send(): void {
    if (this.#queue.length > 0 && !this.#scheduled && !this.#writing) {
      this.#scheduled = true;
      // Wait for the current synchronous pass to finish so everything it queues goes out in one write.
      // One microtask starts every queue due, instead of a runner closure kept by each queue.
      if (Outbound.#due.push(this) === 1) queueMicrotask(Outbound.#runDue);
    }
  }

  /**
   * Drops queued bytes that are not being written yet (used before a final `BYE` to a slow
   * consumer). Returns how many bytes were dropped.
   */
  discardPending(): number {
    let dropped = 0;
    for (const bytes of this.#queue) dropped += bytes.length;
    this.#queue = [];
    this.#queuedBytes -= dropped;
    this.#settle();
    return dropped;
  }

  /** Resolves once everything queued so far has been written, or the queue failed. */
  flushed(): Promise<void> {
    if (this.#queuedBytes === 0 || this.#failed) return Promise.resolve();
    return (this.#flushWaits ??= new WakeList()).wait();
  }

  /**
   * Starts writing what is queued. The writer is a small state machine driven by each write's
   * promise, not an `async` function, whose frame and promise per run were garbage at one write
   * per delivery: in a paced fan-out (5 000 messages to 100 receivers) young-generation
   * collections fell from 160 to 129.
   */
  #run(): void {
    this.#scheduled = false;
    this.#writing = true;
    this.#writeNext();
  }

  /** Starts the next write, or ends the run when nothing is left (or the queue failed). */
  #writeNext(): void {
    for (;;) {
      if (this.#failed) return this.#stop();
      const current = this.#current;
      if (current !== undefined && this.#offset < current.length) {
        if (++this.writes === 3) this.#events?.thirdWrite?.();
        const offset = this.#offset;
        let writing: Promise<number>;
        try {
          writing = this.#sink.write(offset === 0 ? current : current.subarray(offset));
        } catch (error) {
          return this.#fail(error);
        }
        // Fresh callbacks per write: kept on the queue instead, they made connections outlive
        // young-generation collections under churn (bytes promoted 69 → 103 MB, measured).
        writing.then((count) => this.#wrote(count), (error) => this.#fail(error));
        return;
      }
      this.#current = undefined;
      const batch = this.#batch;
      if (this.#index < batch.length) {
        const index = this.#index;
        const end = coalescedEnd(batch, index);
        this.#current = end > index + 1 ? join(batch, index, end) : batch[index];
        this.#index = end;
        this.#offset = 0;
        continue;
      }
      if (this.#queue.length === 0) {
        this.#batch = NOTHING;
        this.#index = 0;
        return this.#stop();
      }
      this.#batch = this.#queue;
      this.#queue = [];
      this.#index = 0;
    }
  }

  /** A write took `count` bytes: count them, and go on. */
  #wrote(count: number): void {
    this.#offset += count;
    this.#queuedBytes -= count;
    this.bytesWritten += count;
    if (this.congestedSince !== 0 && this.#queuedBytes <= this.#lowWater) this.#settle();
    this.#writeNext();
  }

  /** A write failed: the queue stops for good. */
  #fail(error: unknown): void {
    this.#failed = true;
    this.#queue = [];
    this.#batch = NOTHING;
    this.#index = 0;
    this.#current = undefined;
    this.#queuedBytes = 0;
    this.#events?.writeFailed(error);
    this.#stop();
  }

  #stop(): void {
    this.#writing = false;
    this.#settle();
  }

  #settle(): void {
    if (this.congestedSince !== 0 && (this.#queuedBytes <= this.#lowWater || this.#failed)) {
      this.congestedSince = 0;
      this.#events?.congestionChanged(false);
    }
    const waits = this.#flushWaits;
    if (waits !== undefined && waits.size > 0 && (this.#queuedBytes === 0 || this.#failed)) {
      waits.wakeAll();
    }
  }
}

/**
 * Where the write starting at `batch[start]` ends: past the small buffers (each under
 * COALESCE_BELOW) that together fit in MAX_COALESCED_WRITE bytes; a big buffer goes out alone.
 */
function coalescedEnd(batch: Uint8Array[], start: number): number {
  if ((batch[start] as Uint8Array).length >= COALESCE_BELOW) return start + 1;
  let end = start;
  let size = 0;
  while (end < batch.length) {
    const length = (batch[end] as Uint8Array).length;
    if (length >= COALESCE_BELOW || size + length > MAX_COALESCED_WRITE) break;
    size += length;
    end++;
  }
  return Math.max(end, start + 1);
}

/** Copies `batch[start]` … `batch[end - 1]` into one buffer. */
function join(batch: Uint8Array[], start: number, end: number): Uint8Array {
  let size = 0;
  for (let i = start; i < end; i++) size += (batch[i] as Uint8Array).length;
  const joined = takeBytes(size);
  let offset = 0;
  for (let i = start; i < end; i++) {
    const bytes = batch[i] as Uint8Array;
    joined.set(bytes, offset);
    offset += bytes.length;
  }
  return joined;
}
