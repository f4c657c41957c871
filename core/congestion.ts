/**
 * The server-wide backpressure gate. While any client's outbound queue is above its high-water
 * mark, chat connections stop handling input (so stop reading) until it drains or is cut as a
 * slow consumer. Queues never grow past one batch beyond the mark, and healthy readers are never
 * cut during a flood.
 * @module
 */

/** Tracks congested queues and lets senders wait until there are none. */
export class CongestionGate {
  readonly #congested = new Set<object>();
  #waiters: (() => void)[] = [];

  /** True while some queue is congested. */
  get closed(): boolean {
    return this.#congested.size > 0;
  }

  /** Number of congested queues. */
  get size(): number {
    return this.#congested.size;
  }

  /** Marks `source` congested (true) or drained/gone (false). */
  set(source: object, congested: boolean): void {
    if (congested) {
      this.#congested.add(source);
      return;
    }
    if (!this.#congested.delete(source) || this.#congested.size > 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves when no queue is congested. */
  opened(): Promise<void> {
    if (this.#congested.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Opens the gate for good (shutdown): wakes every waiter. */
  release(): void {
    this.#congested.clear();
    this.set({}, false);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }
}
