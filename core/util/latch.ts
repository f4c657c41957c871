/**
 * A one-time event to wait for, that may happen before anyone waits: a close that began, a reader
 * that finished. Unlike a `Promise` made up front (with its resolver closure and context, about
 * 170 bytes each), it costs a boolean until somebody actually waits — and most never do: of
 * 10 000 idle connections, none.
 * @module
 */

/**
 * An event that happens once.
 *
 * @example
 * ```ts
 * import { Latch } from "./latch.ts";
 * const done = new Latch();
 * const waited = done.wait();
 * done.open();
 * await waited;
 * await done.wait(); // already open: resolves at once
 * ```
 */
export class Latch {
  #open = false;
  #promise: Promise<void> | undefined;
  #resolve: (() => void) | undefined;

  /** Whether it happened. */
  get isOpen(): boolean {
    return this.#open;
  }

  /** It happened: every wait, past and future, resolves. */
  open(): void {
    if (this.#open) return;
    this.#open = true;
    this.#resolve?.();
  }

  /** Resolves once it happened (at once if it has). */
  wait(): Promise<void> {
    if (this.#open) return Promise.resolve();
    return this.#promise ??= new Promise((resolve) => this.#resolve = resolve);
  }
}
