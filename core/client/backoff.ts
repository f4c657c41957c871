/**
 * Reconnect policies as plain functions `(attempt) => milliseconds`, so a client's retry timing
 * is configurable and testable without sleeping.
 * @module
 */

/**
 * How long to wait before reconnect attempt number `attempt` (1 for the first retry), in
 * milliseconds.
 */
export type Backoff = (attempt: number) => number;

/** Options shared by the backoff policies. */
export interface JitterOptions {
  /**
   * Fraction of the delay added or removed at random, so clients cut off together do not all
   * come back in the same instant. `0.1` means ±10 %. @default {0.1}
   */
  jitter?: number;
  /** Source of randomness in [0, 1), replaceable in tests. @default {Math.random} */
  random?: () => number;
}

/**
 * The same delay before every attempt (the classic "retry every 5 s"), with jitter.
 *
 * @example
 * ```ts
 * import { fixedBackoff } from "./backoff.ts";
 * const backoff = fixedBackoff(5000, { jitter: 0 });
 * console.assert(backoff(1) === 5000 && backoff(7) === 5000);
 * ```
 */
export function fixedBackoff(delayMs: number, options: JitterOptions = {}): Backoff {
  const spread = jittered(options);
  return () => spread(delayMs);
}

/** Options of {@linkcode exponentialBackoff}. */
export interface ExponentialBackoffOptions extends JitterOptions {
  /** Delay before the first retry. @default {500} */
  initialMs?: number;
  /** Largest delay. @default {30000} */
  maxMs?: number;
  /** Growth factor per attempt. @default {2} */
  factor?: number;
}

/**
 * A delay that grows by `factor` per attempt up to `maxMs`, with jitter.
 *
 * @example
 * ```ts
 * import { exponentialBackoff } from "./backoff.ts";
 * const backoff = exponentialBackoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
 * console.assert(backoff(1) === 100 && backoff(2) === 200 && backoff(10) === 1000);
 * ```
 */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): Backoff {
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const factor = options.factor ?? 2;
  const spread = jittered(options);
  return (attempt) => spread(Math.min(max, initial * factor ** Math.max(0, attempt - 1)));
}

function jittered(options: JitterOptions): (ms: number) => number {
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.1));
  const random = options.random ?? Math.random;
  return (ms) => Math.max(0, Math.round(ms * (1 + jitter * (2 * random() - 1))));
}
