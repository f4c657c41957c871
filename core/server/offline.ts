/**
 * Private messages to account holders who are offline: a `:pm` to an account that is not online is
 * kept (`OK pm <user> stored`) and handed over at the holder's next `:login`, as `PM` lines after
 * `WELCOME` and before `OK login`, then forgotten.
 *
 * Bounded: at most `maxPerRecipient` messages wait for one account (one more gets
 * `ERR mailbox-full`), and none older than `maxAgeMs`. Accounts are bounded by the accounts file,
 * so the whole mailbox is too. This in-memory mailbox forgets everything at a restart; with the
 * message history on, the history's database keeps them instead (`history/mailbox.ts`).
 * @module
 */

import { nameKey } from "../protocol/grammar.ts";
import type { MessageKeeper, RecordedBatch } from "./record.ts";

/** Where offline private messages wait; see the module comment. */
export interface Mailbox extends MessageKeeper {
  /** Whether one more message may wait for `recipient` (an account name). */
  hasRoom(recipient: string, now: number): boolean;
  /** The waiting messages of `recipient` as `PM <from> :<text>` wire lines, oldest first; removes them. */
  take(recipient: string, now: number): Uint8Array[];
  /** As {@linkcode Mailbox.take}, with when each was said (to merge them with other nodes'). */
  takeTimed(recipient: string, now: number): Waiting[];
}

/** One waiting message: when the server accepted it, and its `PM <from> :<text>\n` line. */
export interface Waiting {
  readonly time: number;
  readonly line: Uint8Array;
}

/** `lists` of waiting messages (each oldest first) as one list, oldest first; ties keep list order. */
export function mergeWaiting(...lists: readonly (readonly Waiting[])[]): Waiting[] {
  return lists.flat().sort((a, b) => a.time - b.time);
}

/** A {@linkcode Mailbox} in memory. */
export class MemoryMailbox implements Mailbox {
  readonly #byRecipient = new Map<string, Waiting[]>();
  readonly #maxPerRecipient: number;
  readonly #maxAgeMs: number;

  /** At most `maxPerRecipient` messages per account, none older than `maxAgeMs`. */
  constructor(maxPerRecipient: number, maxAgeMs: number) {
    this.#maxPerRecipient = maxPerRecipient;
    this.#maxAgeMs = maxAgeMs;
  }

  hasRoom(recipient: string, now: number): boolean {
    return this.#fresh(recipient, now).length < this.#maxPerRecipient;
  }

  /** Keeps the batches the recording point routed to an offline account. */
  keep(batch: RecordedBatch): void {
    if (batch.route.kind !== "offline") return;
    const key = nameKey(batch.route.account);
    const list = this.#byRecipient.get(key) ?? [];
    // One `PM` line per message; a batch to an offline account is one message in practice.
    let start = 0;
    for (let i = 0; i < batch.count; i++) {
      const end = batch.wire.indexOf(0x0a, start) + 1;
      list.push({ time: batch.time, line: batch.wire.subarray(start, end) });
      start = end;
    }
    this.#byRecipient.set(key, list);
  }

  take(recipient: string, now: number): Uint8Array[] {
    return this.takeTimed(recipient, now).map((waiting) => waiting.line);
  }

  takeTimed(recipient: string, now: number): Waiting[] {
    const waiting = this.#fresh(recipient, now);
    this.#byRecipient.delete(nameKey(recipient));
    return waiting;
  }

  #fresh(recipient: string, now: number): Waiting[] {
    const key = nameKey(recipient);
    const list = this.#byRecipient.get(key);
    if (list === undefined) return [];
    const fresh = list.filter((waiting) => now - waiting.time <= this.#maxAgeMs);
    if (fresh.length !== list.length) this.#byRecipient.set(key, fresh);
    return fresh;
  }
}
