/**
 * The batches a node records while its link to the bus is down, in order, up to a byte bound;
 * published when the link is back. Without it the NATS client would buffer them itself, with no
 * limit. A batch that does not fit is dropped and counted, and the recording point answers its
 * sender `NACK <seq> cluster-unavailable` (lobby messages with acknowledgements on); the loss of a
 * group or private message shows in the log and in `:stats` (`STAT node.<slot>.dropped`).
 * @module
 */

import type { Refusal } from "../server/record.ts";

/** Bytes of batches a node holds while its link is down (payloads and subjects). */
export const OUTBOX_BYTES = 8 * 1024 * 1024;

/** What a batch that does not fit gets: its sender's `NACK` (see `Recorder.record`). */
export const CLUSTER_UNAVAILABLE: Refusal = Object.freeze({
  code: "cluster-unavailable",
  text: "the cluster link is down and its outbox is full: other nodes will not get this message",
});

/** One held batch. */
export interface Held {
  readonly subject: string;
  readonly payload: Uint8Array;
}

/** What was dropped during one break, by route. */
export interface Dropped {
  /** Batches dropped (since the node started). */
  batches: number;
  /** Messages in them. */
  messages: number;
}

/** A bounded FIFO of batches for the bus; see the module comment. */
export class Outbox {
  readonly #limit: number;
  #held: Held[] = [];
  #bytes = 0;
  /** Dropped since the node started. */
  readonly dropped: Dropped = { batches: 0, messages: 0 };
  /** Dropped during this break (reset by {@linkcode Outbox.take}). */
  #droppedNow: Dropped = { batches: 0, messages: 0 };

  /** An outbox of at most `limit` bytes. */
  constructor(limit = OUTBOX_BYTES) {
    this.#limit = limit;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Batches held now. */
  get size(): number {
    return this.#held.length;
  }

  /**
   * Holds `payload` for `subject` (a batch of `messages` messages); false, counted as dropped,
   * when it does not fit. Once one batch did not fit, later ones are dropped as well until the
   * outbox is emptied: what is held stays a prefix of what was recorded, with no gaps.
   */
  hold(subject: string, payload: Uint8Array, messages: number): boolean {
    const size = payload.length + subject.length;
    if (this.#droppedNow.batches === 0 && this.#bytes + size <= this.#limit) {
      this.#held.push({ subject, payload });
      this.#bytes += size;
      return true;
    }
    this.dropped.batches++;
    this.dropped.messages += messages;
    this.#droppedNow.batches++;
    this.#droppedNow.messages += messages;
    return false;
  }

  /** Whether this batch is the first dropped in this break (the moment to log a warning). */
  get firstDrop(): boolean {
    return this.#droppedNow.batches === 1;
  }

  /** Everything held, oldest first, and what was dropped in this break; empties the outbox. */
  take(): { held: Held[]; dropped: Dropped } {
    const result = { held: this.#held, dropped: this.#droppedNow };
    this.#held = [];
    this.#bytes = 0;
    this.#droppedNow = { batches: 0, messages: 0 };
    return result;
  }
}
