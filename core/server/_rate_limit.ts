/**
 * Per-connection rate limiting as a token bucket: a burst of up to twice the rate, then a steady
 * rate. Lines over the limit are held, never dropped: the caller waits for `delay()`.
 * @module
 */

/**
 * A token bucket refilled at `rate` tokens a second, holding at most `2 × rate`.
 *
 * @example
 * ```ts
 * import { TokenBucket } from "./_rate_limit.ts";
 * let now = 0;
 * const bucket = new TokenBucket(10, () => now);
 * for (let i = 0; i < 20; i++) console.assert(bucket.take());
 * console.assert(!bucket.take());
 * console.assert(bucket.delay() === 100); // ms until the next token
 * now += 100;
 * console.assert(bucket.take());
 * ```
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #capacity: number;
  readonly #now: () => number;
  #tokens: number;
  #updated: number;

  /** @param rate tokens a second; @param now clock in milliseconds (injectable for tests) */
  constructor(rate: number, now: () => number = () => performance.now()) {
    this.#rate = rate;
    this.#capacity = rate * 2;
    this.#now = now;
    this.#tokens = this.#capacity;
    this.#updated = now();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is available (0 if one is). */
  delay(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) / this.#rate) * 1000);
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(
      this.#capacity,
      this.#tokens + ((now - this.#updated) / 1000) * this.#rate,
    );
    this.#updated = now;
  }
}
