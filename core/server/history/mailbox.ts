/**
 * Offline private messages kept in the history's database, so that they survive a restart: the
 * {@linkcode Mailbox} the server uses when the history is on (`offline.ts` keeps them in memory
 * otherwise). The limit per recipient (`offlineMax`) and the expiry (`historyDays`) are the
 * store's.
 * @module
 */

import { nameKey } from "../../protocol/grammar.ts";
import { batchTexts, type RecordedBatch } from "../record.ts";
import type { Mailbox, Waiting } from "../offline.ts";
import type { HistoryStore } from "./store.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A {@linkcode Mailbox} in the history's database. */
export class HistoryMailbox implements Mailbox {
  readonly #store: HistoryStore;
  readonly #offlineMax: () => number;

  /** Offline messages in `store`, at most `offlineMax()` per account. */
  constructor(store: HistoryStore, offlineMax: () => number) {
    this.#store = store;
    this.#offlineMax = offlineMax;
  }

  hasRoom(recipient: string, _now: number): boolean {
    return this.#store.offlineCount(nameKey(recipient)) < this.#offlineMax();
  }

  /** Writes the batches the recording point routed to an offline account (before it returns). */
  keep(batch: RecordedBatch): void {
    if (batch.route.kind !== "offline") return;
    const recipient = nameKey(batch.route.account);
    let id = batch.firstId;
    for (const text of batchTexts(batch)) {
      this.#store.storeOffline(recipient, id++, batch.time, batch.from, decoder.decode(text));
    }
  }

  take(recipient: string, now: number): Uint8Array[] {
    return this.takeTimed(recipient, now).map((waiting) => waiting.line);
  }

  takeTimed(recipient: string, _now: number): Waiting[] {
    return this.#store.takeOffline(nameKey(recipient)).map((entry) => ({
      time: entry.time,
      line: encoder.encode(`PM ${entry.from} :${entry.text}\n`),
    }));
  }
}
