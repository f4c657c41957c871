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
