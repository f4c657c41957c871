/**
 * Failed secret attempts per client address, and the lockouts they earn: what keeps a client from
 * guessing the admin token (and later account passwords, or the HTTP monitor's credentials) by
 * trying as fast as it can. Every place that checks a secret asks the same table, so guesses made
 * through one door count against the others.
 *
 * Policy (numbers are {@linkcode AttemptLimiterOptions} defaults):
 *
 * - Attempts are counted per {@linkcode attemptKey}: an IPv4 address, or an IPv6 /64 (what one
 *   host or home usually gets, so walking through its addresses gains nothing).
 * - 5 failures within a sliding 60 s lock the address out for 60 s. While it is locked out every
 *   attempt is refused without looking at the secret; refused attempts neither count as failures
 *   nor lengthen the lockout (as in ergo's login throttling), so a locked-out address knows when
 *   it may try again.
 * - An address that was locked out stays on probation for 15 minutes after its lockout ends: a
 *   single failure then locks it out again for twice as long as the last time (fail2ban's
 *   `bantime.increment`, stricter: one failure instead of five), up to 15 minutes — 60 s, 2, 4,
 *   8, then 15 minutes each time. A probation with no failure forgets the address.
 * - A success forgets the address: its failures and its lockout history.
 *
 * Memory is bounded: at most `maxEntries` addresses (4096) are remembered, each with at most
 * `maxFailures` failure times; an address beyond that evicts the one whose last failure is the
 * oldest. An entry takes a few hundred bytes, so the table stays around a megabyte.
 *
 * Time is whatever the caller passes as `now` (milliseconds, e.g. `performance.now()`), so tests
 * drive it without waiting.
 *
 * @example
 * ```ts
 * import { AttemptLimiter } from "./attempts.ts";
 * const limiter = new AttemptLimiter();
 * for (let i = 0; i < 5; i++) limiter.fail("10.0.0.1", 0);
 * console.assert(limiter.check("10.0.0.1", 1_000).retryAfterMs === 59_000);
 * console.assert(limiter.check("10.0.0.2", 1_000).allowed);
 * ```
 * @module
 */

import { attemptKey } from "../util/cidr.ts";

/** Failures within the window that lock an address out. */
export const DEFAULT_MAX_FAILURES = 5;
/** The window failures are counted in, in milliseconds: one minute. */
export const DEFAULT_FAILURE_WINDOW_MS = 60_000;
/** The first lockout, in milliseconds: one minute. */
export const DEFAULT_LOCKOUT_MS = 60_000;
/** The longest lockout, and the probation after one, in milliseconds: 15 minutes. */
export const DEFAULT_MAX_LOCKOUT_MS = 15 * 60_000;
/** Addresses remembered at once. */
export const DEFAULT_MAX_ENTRIES = 4096;

/** Options of {@linkcode AttemptLimiter}; durations in milliseconds. */
export interface AttemptLimiterOptions {
  /** Failures within `windowMs` that lock an address out; 0 turns locking off. @default {5} */
  maxFailures?: number;
  /** The sliding window failures are counted in. @default {60000} */
  windowMs?: number;
  /** The first lockout; each lockout on probation doubles the last. @default {60000} */
  lockoutMs?: number;
  /** The longest lockout, also how long the probation after a lockout lasts. @default {900000} */
  maxLockoutMs?: number;
  /** Addresses remembered at once; beyond it the least recently failed is forgotten. @default {4096} */
  maxEntries?: number;
}

/** The answer of {@linkcode AttemptLimiter.check}. */
export interface AttemptCheck {
  /** True when the secret may be checked. */
  allowed: boolean;
  /** When refused: milliseconds until the lockout ends (0 when allowed). */
  retryAfterMs: number;
}

/** The answer of {@linkcode AttemptLimiter.fail}. */
export interface AttemptFailure {
  /** True when this failure locked the address out: the moment to log a warning. */
  locked: boolean;
  /** The length of that lockout in milliseconds (0 when not locked). */
  lockoutMs: number;
  /** The address as counted ({@linkcode attemptKey}): what to name in the warning. */
  key: string;
}

interface Entry {
  /** Times of failures in the current window, oldest first; at most `maxFailures`. */
  failures: number[];
  /** Lockouts so far (0: never locked out, or forgotten). */
  lockouts: number;
  /** Length of the last lockout. */
  lastLockoutMs: number;
  /** When the last lockout ends (or ended). */
  lockedUntil: number;
}

/** Counts failed attempts per address and locks out the ones that fail too often. */
export class AttemptLimiter {
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #lockoutMs: number;
  readonly #maxLockoutMs: number;
  readonly #maxEntries: number;
  /** By key; in order of last failure, so the first is the one to evict. */
  readonly #entries = new Map<string, Entry>();
  #lockouts = 0;
  #refused = 0;

  /** @throws {RangeError} when an option is negative, or `maxEntries` is not at least 1. */
  constructor(options: AttemptLimiterOptions = {}) {
    this.#maxFailures = options.maxFailures ?? DEFAULT_MAX_FAILURES;
    this.#windowMs = options.windowMs ?? DEFAULT_FAILURE_WINDOW_MS;
    this.#lockoutMs = options.lockoutMs ?? DEFAULT_LOCKOUT_MS;
    this.#maxLockoutMs = Math.max(options.maxLockoutMs ?? DEFAULT_MAX_LOCKOUT_MS, this.#lockoutMs);
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!(Number.isInteger(this.#maxFailures) && this.#maxFailures >= 0)) {
      throw new RangeError(`maxFailures must be a whole number, got ${this.#maxFailures}`);
    }
    for (const [name, value] of [["windowMs", this.#windowMs], ["lockoutMs", this.#lockoutMs]]) {
      if (!(typeof value === "number" && value > 0)) {
        throw new RangeError(`${name} must be positive, got ${value}`);
      }
    }
    if (!(Number.isInteger(this.#maxEntries) && this.#maxEntries >= 1)) {
      throw new RangeError(`maxEntries must be a positive whole number, got ${this.#maxEntries}`);
    }
  }

  /** Lockouts begun since start. */
  get lockouts(): number {
    return this.#lockouts;
  }

  /** Attempts refused because their address was locked out, since start. */
  get refused(): number {
    return this.#refused;
  }

  /** Addresses remembered now (never more than `maxEntries`). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Whether `ip` may try a secret at `now`. Call it before checking the secret; a refusal is
   * counted (see {@linkcode AttemptLimiter.refused}) and must not be followed by a check.
   */
  check(ip: string, now: number): AttemptCheck {
    const entry = this.#entries.get(attemptKey(ip));
    if (entry === undefined || now >= entry.lockedUntil) return { allowed: true, retryAfterMs: 0 };
    this.#refused++;
    return { allowed: false, retryAfterMs: entry.lockedUntil - now };
  }

  /** Counts a failed attempt of `ip` at `now`; says whether it locked the address out. */
  fail(ip: string, now: number): AttemptFailure {
    const key = attemptKey(ip);
    const none = { locked: false, lockoutMs: 0, key };
    if (this.#maxFailures === 0) return none;
    let entry = this.#entries.get(key);
    if (entry !== undefined) {
      // Re-inserted: the map stays in order of last failure.
      this.#entries.delete(key);
    } else {
      if (this.#entries.size >= this.#maxEntries) {
        const oldest = this.#entries.keys().next().value as string;
        this.#entries.delete(oldest);
      }
      entry = { failures: [], lockouts: 0, lastLockoutMs: 0, lockedUntil: -Infinity };
    }
    this.#entries.set(key, entry);
    // A failure while locked out means the caller did not check first: nothing more to count.
    if (now < entry.lockedUntil) return none;
    if (entry.lockouts > 0) {
      if (now < entry.lockedUntil + this.#maxLockoutMs) {
        return this.#lock(entry, key, Math.min(entry.lastLockoutMs * 2, this.#maxLockoutMs), now);
      }
      entry.lockouts = 0; // probation passed without a failure
    }
    const failures = entry.failures.filter((time) => time > now - this.#windowMs);
    failures.push(now);
    entry.failures = failures;
    if (failures.length < this.#maxFailures) return none;
    return this.#lock(entry, key, this.#lockoutMs, now);
  }

  /** A successful attempt of `ip`: its failures and lockout history are forgotten. */
  succeed(ip: string): void {
    this.#entries.delete(attemptKey(ip));
  }

  #lock(entry: Entry, key: string, lockoutMs: number, now: number): AttemptFailure {
    entry.failures = [];
    entry.lockouts++;
    entry.lastLockoutMs = lockoutMs;
    entry.lockedUntil = now + lockoutMs;
    this.#lockouts++;
    return { locked: true, lockoutMs, key };
  }
}
