/**
 * The buffers a connection reads into. Sized to the traffic (small while a client types, large
 * while it streams) and reused: allocating a typed array costs about 1 µs for 1 KiB and 5 µs for
 * 64 KiB here, as much as the rest of an echo round trip's JavaScript.
 *
 * A chunk echoed as it is stays referenced by the outbound queue until written, so its buffer
 * cannot take the next read. The caller says so with {@linkcode ReadBuffers.retain}, giving the
 * queue's byte count at which the chunk will have been written; the buffer goes back into use
 * once the queue has written that many bytes. A second buffer takes the reads meanwhile, so an
 * echo server alternates between two buffers instead of allocating one per read.
 * @module
 */

/** Buffers kept per connection, the one being read into included. */
const POOL_SIZE = 3;

interface Slot {
  readonly buffer: Uint8Array;
  /** In use until the outbound queue has written this many bytes in total. */
  releaseAt: number;
}

/**
 * Read buffers for one connection.
 *
 * @example
 * ```ts
 * import { ReadBuffers } from "./read_buffers.ts";
 * const buffers = new ReadBuffers(1024, 65536);
 * const first = buffers.next(0);
 * buffers.filled(first.length); // a full read: the next buffer is bigger
 * console.assert(buffers.next(0).length === 4096);
 * ```
 */
export class ReadBuffers {
  readonly #min: number;
  readonly #max: number;
  #size: number;
  #slots: Slot[] = [];
  #current: Slot | undefined;
  #filled = -1;

  /** Buffers start at `min` bytes and grow fourfold, up to `max`, while reads fill them. */
  constructor(min: number, max: number) {
    this.#min = min;
    this.#max = Math.max(min, max);
    this.#size = min;
  }

  /**
   * The buffer for the next read. `written` is the total the outbound queue has written so far;
   * buffers retained up to it are free again.
   */
  next(written: number): Uint8Array {
    const filled = this.#filled;
    this.#filled = -1;
    if (filled === this.#size && this.#size < this.#max) {
      this.#resize(Math.min(this.#size * 4, this.#max));
    } else if (filled >= 0 && filled < this.#size / 16 && this.#size > this.#min) {
      this.#resize(Math.max(this.#min, this.#size / 4));
    }
    const current = this.#current;
    if (current !== undefined && current.releaseAt <= written) return current.buffer;
    let slot = this.#slots.find((candidate) => candidate.releaseAt <= written);
    if (slot === undefined) {
      slot = { buffer: new Uint8Array(this.#size), releaseAt: 0 };
      // Past the pool's size a buffer is used once and left to the garbage collector.
      // A new array (concat) rather than push (or a spread): those make room for 17 slots (152
      // bytes) to keep 1.
      if (this.#slots.length < POOL_SIZE) this.#slots = this.#slots.concat(slot);
    }
    this.#current = slot;
    return slot.buffer;
  }

  /** The last read put `count` bytes into the buffer {@linkcode ReadBuffers.next} returned. */
  filled(count: number): void {
    this.#filled = count;
  }

  /** The current buffer stays referenced until the outbound queue has written `until` bytes. */
  retain(until: number): void {
    if (this.#current !== undefined) this.#current.releaseAt = until;
  }

  /** Forgets every buffer (a new size, or the connection going quiet). */
  #resize(size: number): void {
    this.#size = size;
    this.#slots = [];
    this.#current = undefined;
  }
}
