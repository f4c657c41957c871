/**
 * Opens the server's history from its options: the one place that turns `history`,
 * `historyMaxMessages`, `historyDays`, `offlineMax` and the library-only clock and interval into
 * a {@linkcode HistoryStore}, and its failure into a `SwitchboardError`.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { ResolvedServerOptions } from "../../config/options.ts";
import { SwitchboardError } from "../../protocol/errors.ts";
import { HistoryFileError, HistoryStore } from "./store.ts";

/**
 * The history `options` ask for, or `undefined` when `history` is `""`. `current` gives the
 * options in force when retention runs, so a reload changes the limits.
 * @throws {SwitchboardError} `history` when the file cannot be used.
 */
export function openHistory(
  options: ResolvedServerOptions,
  current: () => ResolvedServerOptions,
): HistoryStore | undefined {
  if (options.history === "") return undefined;
  const log = getLogger(["switchboard", "server"]);
  try {
    return HistoryStore.open(options.history, {
      limits: () => {
        const { historyMaxMessages, historyDays, offlineMax } = current();
        return { maxMessages: historyMaxMessages, days: historyDays, offlineMax };
      },
      now: options.historyNow ?? Date.now,
      retentionInterval: options.historyRetentionInterval * 1000,
      onError: (what, error) =>
        log.error("history: {what} failed: {error}", { what, error: String(error) }),
    });
  } catch (error) {
    if (!(error instanceof HistoryFileError)) throw error;
    throw new SwitchboardError("history", error.message, { cause: error });
  }
}
