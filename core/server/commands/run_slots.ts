/**
 * The server-wide cap on `:run` programs (`--max-running`): a counter the server owns, so that
 * many clients together cannot start more programs than the machine can take.
 * @module
 */

/**
 * Slots for programs started by `:run`, at most `limit` taken at once (0 = no limit).
 *
 * @example
 * ```ts
 * import { RunSlots } from "./run_slots.ts";
 * const slots = new RunSlots(1);
 * const release = slots.take();
 * console.assert(release !== undefined && slots.take() === undefined);
 * release?.();
 * console.assert(slots.running === 0);
 * ```
 */
export class RunSlots {
  /**
   * Most programs running at once; 0 means no limit. A reload may change it: programs already
   * running past a lowered limit finish, and new ones wait for the count to fall below it.
   */
  limit: number;
  #running = 0;

  /** Creates the slots; `limit` 0 means no limit. */
  constructor(limit: number) {
    this.limit = limit;
  }

  /** Programs running now. */
  get running(): number {
    return this.#running;
  }

  /**
   * Takes a slot. Returns the function that gives it back (calling it again does nothing), or
   * undefined when every slot is taken.
   */
  take(): (() => void) | undefined {
    if (this.limit > 0 && this.#running >= this.limit) return undefined;
    this.#running++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#running--;
    };
  }
}
