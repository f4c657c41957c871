/**
 * The batches a node records while its link to the bus is down, in order, up to a byte bound;
 * published when the link is back. Without it the NATS client would buffer them itself, with no
 * limit. A batch that does not fit is dropped and counted, and the recording point answers its
 * sender `NACK <seq> cluster-unavailable` (lobby messages with acknowledgements on); the loss of a
 * group or private message shows in the log and in `:stats` (`STAT node.<slot>.dropped`).
 * @module
 */

import type { Logger } from "@logtape/logtape";
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
  readonly #log: Logger | undefined;
  #held: Held[] = [];
  #bytes = 0;
  /** Dropped since the node started. */
  readonly dropped: Dropped = { batches: 0, messages: 0 };
  /** Dropped during this break (reset by {@linkcode Outbox.take}). */
  #droppedNow: Dropped = { batches: 0, messages: 0 };

  /** An outbox of at most `limit` bytes; the first drop of a break and each flush go to `log`. */
  constructor(limit = OUTBOX_BYTES, log?: Logger) {
    this.#limit = limit;
    this.#log = log;
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
    if (this.#droppedNow.batches === 1) {
      this.#log?.warn(
        "cluster outbox full ({bytes} bytes): messages for other nodes are dropped until the link is back",
        { bytes: this.#bytes },
      );
    }
    return false;
  }

  /** Hands everything held to `publish`, oldest first, and logs what this break cost. */
  flush(publish: (subject: string, payload: Uint8Array) => void): void {
    const { held, dropped } = this.take();
    for (const { subject, payload } of held) publish(subject, payload);
    if (held.length === 0 && dropped.batches === 0) return;
    this.#log?.info(
      "cluster link back: {held} held batches published, {dropped} batches ({messages} messages) dropped",
      { held: held.length, dropped: dropped.batches, messages: dropped.messages },
    );
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
