/**
 * Tasks parked until something changes: a queue drained, a token arrived, a shutdown began.
 * @module
 */

/**
 * A list of parked waits that are all released at once.
 *
 * @example
 * ```ts
 * import { WakeList } from "./wake_list.ts";
 * const parked = new WakeList();
 * const woken = parked.wait();
 * parked.wakeAll();
 * await woken;
 * ```
 */
export class WakeList {
  /** Made with the first wait: every connection has wake lists, few ever park on them. */
  #resolvers: (() => void)[] | undefined;

  /** How many waits are parked. */
  get size(): number {
    return this.#resolvers?.length ?? 0;
  }

  /** A promise that resolves at the next {@linkcode WakeList.wakeAll}. */
  wait(): Promise<void> {
    return new Promise((resolve) => (this.#resolvers ??= []).push(resolve));
  }

  /** Releases every parked wait. */
  wakeAll(): void {
    const resolvers = this.#resolvers;
    if (resolvers === undefined || resolvers.length === 0) return;
    this.#resolvers = undefined;
    for (const resolve of resolvers) resolve();
  }
}
