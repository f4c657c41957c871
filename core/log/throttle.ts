/**
 * Summarises repeated warnings, so that a client cannot flood `errors.log` and rotate earlier
 * warnings out of it by failing `:auth` (or sending bad lines, or reconnecting while refused) as
 * fast as it can.
 *
 * Warnings are counted by kind (their message template, or a finer kind the caller names) and
 * client address. In each window the first {@linkcode DEFAULT_REPEAT_ALLOWANCE} of a kind from
 * one address are logged as they come; the rest are only counted, and when the window ends (or
 * at {@linkcode LogThrottle.close}) one summary line per kind and address says how many there
 * were: `… and 12345 more like this from 127.0.0.1 in the last minute like="failed :auth from
 * {name} ({peer})"`. A window opens with the first warning after a quiet spell and lasts
 * `windowMs`; one unreferenced timer ends it, and none runs while nothing is counted.
 *
 * Memory is bounded: at most `maxKeys` (kind, address) pairs are tracked per window; warnings
 * from further addresses share one entry per kind, summarised as coming `from other addresses`.
 * The hot path reads no clock: a warning costs one string concatenation and one map lookup.
 *
 * @example
 * ```ts
 * import { getLogger } from "@logtape/logtape";
 * import { LogThrottle } from "./throttle.ts";
 *
 * using throttle = new LogThrottle({ windowMs: 60_000, allowance: 2 });
 * const log = getLogger(["switchboard", "admin"]);
 * for (let i = 0; i < 5; i++) {
 *   throttle.warning(log, "10.0.0.1", "failed :auth from {name} ({peer})", {
 *     name: "mallory",
 *     peer: "10.0.0.1:4000",
 *   });
 * }
 * // Two lines were logged; disposing writes "… and 3 more like this from 10.0.0.1 in the last minute".
 * ```
 * @module
 */

import type { Logger } from "@logtape/logtape";

/** Warnings of one kind from one address logged as they come in each window. */
export const DEFAULT_REPEAT_ALLOWANCE = 5;
/** Length of a window in milliseconds: one minute. */
export const DEFAULT_REPEAT_WINDOW_MS = 60_000;
/** (kind, address) pairs tracked at once; more addresses share one entry per kind. */
export const DEFAULT_MAX_REPEAT_KEYS = 256;

/** The summary of one address's repeats; `{like}` (shown after the line) names what repeated. */
export const REPEAT_SUMMARY = "… and {count} more like this from {ip} in the last {window}";
/** The summary of repeats from addresses beyond the tracked ones. */
export const OVERFLOW_SUMMARY =
  "… and {count} more like this from other addresses in the last {window}";

/** Options of {@linkcode LogThrottle}. */
export interface LogThrottleOptions {
  /** Length of a window in milliseconds. @default {60000} */
  windowMs?: number;
  /** Warnings of one kind from one address logged as they come per window. @default {5} */
  allowance?: number;
  /** (kind, address) pairs tracked per window. @default {256} */
  maxKeys?: number;
}

interface Entry {
  readonly logger: Logger;
  readonly kind: string;
  /** The client address, or undefined for the entry shared by addresses over the cap. */
  readonly ip: string | undefined;
  logged: number;
  suppressed: number;
}

/**
 * Logs warnings that clients can trigger at will, summarising repeats per kind and address. Call
 * {@linkcode LogThrottle.close} (or dispose it) before the log sinks are disposed: it writes the
 * pending summaries and stops the timer. After that, warnings are logged unthrottled.
 */
export class LogThrottle implements Disposable {
  readonly #windowMs: number;
  readonly #allowance: number;
  readonly #maxKeys: number;
  readonly #window: string;
  readonly #entries = new Map<string, Entry>();
  /** Entries with an address (the shared overflow entries are not counted: one per kind). */
  #tracked = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /** @throws {RangeError} when an option is not a positive number (allowance: not negative). */
  constructor(options: LogThrottleOptions = {}) {
    this.#windowMs = options.windowMs ?? DEFAULT_REPEAT_WINDOW_MS;
    this.#allowance = options.allowance ?? DEFAULT_REPEAT_ALLOWANCE;
    this.#maxKeys = options.maxKeys ?? DEFAULT_MAX_REPEAT_KEYS;
    if (!(this.#windowMs > 0 && this.#windowMs < 2 ** 31)) {
      throw new RangeError(`windowMs must be positive, got ${this.#windowMs}`);
    }
    if (!(Number.isInteger(this.#allowance) && this.#allowance >= 0)) {
      throw new RangeError(`allowance must be a whole number, got ${this.#allowance}`);
    }
    if (!(Number.isInteger(this.#maxKeys) && this.#maxKeys >= 1)) {
      throw new RangeError(`maxKeys must be a positive whole number, got ${this.#maxKeys}`);
    }
    this.#window = describeWindow(this.#windowMs);
  }

  /**
   * Logs `message` with `properties` at warning level on `logger`, unless `ip` already had its
   * allowance of this kind in the current window; then it is only counted.
   *
   * @param ip the client's address (without port), the unit repeats are counted by
   * @param kind what counts as "the same warning"; defaults to `message`. Pass a finer kind when
   * one template covers different causes (e.g. `"refused: server-full"`). It is shown in the
   * summary, so it must come from a small fixed set, never from client data.
   */
  warning(
    logger: Logger,
    ip: string,
    message: string,
    properties: Record<string, unknown>,
    kind: string = message,
  ): void {
    if (this.#closed) return logger.warning(message, properties);
    const entry = this.#entry(logger, kind, ip);
    if (entry.logged < this.#allowance) {
      entry.logged++;
      logger.warning(message, properties);
    } else {
      entry.suppressed++;
    }
  }

  /** Writes a summary for every kind and address that went over its allowance; a new window starts. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    this.#tracked = 0;
    for (const { logger, kind, ip, suppressed } of entries) {
      if (suppressed === 0) continue;
      const properties = { count: suppressed, window: this.#window, like: kind };
      if (ip === undefined) logger.warning(OVERFLOW_SUMMARY, properties);
      else logger.warning(REPEAT_SUMMARY, { ...properties, ip });
    }
  }

  /** Writes the pending summaries and stops the timer; later warnings are logged as they come. */
  close(): void {
    this.flush();
    this.#closed = true;
  }

  /** Same as {@linkcode LogThrottle.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #entry(logger: Logger, kind: string, ip: string): Entry {
    const key = `${kind}\n${ip}`;
    let entry = this.#entries.get(key);
    if (entry !== undefined) return entry;
    if (this.#tracked >= this.#maxKeys) {
      const shared = `${kind}\n`;
      entry = this.#entries.get(shared);
      if (entry !== undefined) return entry;
      entry = { logger, kind, ip: undefined, logged: 0, suppressed: 0 };
      this.#entries.set(shared, entry);
    } else {
      entry = { logger, kind, ip, logged: 0, suppressed: 0 };
      this.#entries.set(key, entry);
      this.#tracked++;
    }
    if (this.#timer === undefined) {
      const timer = setTimeout(() => this.flush(), this.#windowMs);
      // The window never keeps the process alive; the server's shutdown flushes it.
      Deno.unrefTimer(timer as unknown as number);
      this.#timer = timer;
    }
    return entry;
  }
}

/** `minute`, `5 minutes` or `2.5 s`: the window as the summary line says it. */
function describeWindow(ms: number): string {
  if (ms === 60_000) return "minute";
  if (ms % 60_000 === 0) return `${ms / 60_000} minutes`;
  return `${ms / 1000} s`;
}
