/**
 * Waiting with a bound: every wait in Switchboard ends by itself, and none leaves a timer behind
 * to keep the process alive.
 * @module
 */

/** Waits for `promise` at most `ms` milliseconds, leaving no timer behind. Never throws. */
export async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise.then(() => {}, () => {}),
    new Promise<void>((resolve) => timer = setTimeout(resolve, Math.max(0, ms))),
  ]);
  clearTimeout(timer);
}

/** Sleeps `ms` milliseconds, or less if `interrupt` settles first. */
export function sleep(ms: number, interrupt?: Promise<unknown>): Promise<void> {
  if (interrupt === undefined) return new Promise((resolve) => setTimeout(resolve, ms));
  return settleWithin(interrupt, ms);
}

/** A promise that resolves when `signal` aborts, and a way to stop listening. */
export function abortion(signal: AbortSignal): { promise: Promise<void>; dispose(): void } {
  let listener: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    listener = () => resolve();
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", listener, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener("abort", listener) };
}

/**
 * The value of `promise`, or the error `onTimeout` makes when `ms` milliseconds pass first.
 * Leaves no timer behind. The work behind `promise` goes on; stop it separately if it must end.
 *
 * @example
 * ```ts
 * import { withTimeout } from "./time.ts";
 * const never = new Promise<never>(() => {});
 * const error = await withTimeout(never, 10, () => new Error("too slow")).catch((e) => e);
 * console.assert(error.message === "too slow");
 * ```
 */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => Error,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => timer = setTimeout(() => reject(onTimeout()), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
