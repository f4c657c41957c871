/**
 * The accounts a running server knows: who may `:login`, whose names are reserved for them, and
 * the password checks themselves.
 *
 * - Lookups ignore case (`Alice` logs in to `alice`, under the account's own spelling), and a
 *   name reserved for an account is also reserved against its look-alikes (`nameSkeleton`).
 * - A check for a name without an account hashes anyway ({@linkcode verifyDummy}), so an unknown
 *   name and a wrong password cost the same time and get the same answer.
 * - A check costs about 50 ms of CPU and 16 MiB of memory (scrypt), so checks are bounded: at most
 *   `maxRunning` at once (one per core, at least 2) and `maxWaiting` queued behind them; beyond
 *   that {@linkcode Accounts.verify} answers `"busy"` at once, before any work. Memory for
 *   password checks therefore stays under `maxRunning × 16 MiB` whatever clients send.
 * - {@linkcode Accounts.replace} swaps the whole table (a reload); checks already running finish
 *   against the table they started with.
 *
 * @example
 * ```ts
 * import { Accounts } from "./accounts.ts";
 * import { hashPassword } from "../util/password_hash.ts";
 * const accounts = new Accounts({ users: { alice: { password: await hashPassword("pw", { N: 1024 }) } } });
 * console.assert(accounts.reservedLike("ALICE") === "alice" && accounts.reservedLike("aIice") === "alice");
 * const account = await accounts.verify("Alice", "pw");
 * console.assert(typeof account === "object" && account.name === "alice");
 * console.assert(await accounts.verify("alice", "nope") === undefined);
 * ```
 * @module
 */

import { nameKey } from "../protocol/grammar.ts";
import { nameSkeleton } from "../protocol/name_skeleton.ts";
import type { AccountsData } from "../config/accounts_file.ts";
import { verifyDummy, verifyPassword } from "../util/password_hash.ts";

/** An account, as a logged-in connection knows it. */
export interface Account {
  /** The name as the accounts file spells it: the name its holder gets. */
  readonly name: string;
  /** Admin rights come with the login. */
  readonly admin: boolean;
}

/** Options of {@linkcode Accounts}. */
export interface AccountsOptions {
  /** Password checks running at once. @default {max(2, CPU cores)} */
  maxRunning?: number;
  /** Password checks waiting for a free slot; one more is answered `"busy"`. @default {64} */
  maxWaiting?: number;
}

interface Entry extends Account {
  readonly hash: string;
}

/** The accounts table; see the module comment. */
export class Accounts {
  #byKey = new Map<string, Entry>();
  #bySkeleton = new Map<string, string>();
  readonly #maxRunning: number;
  readonly #maxWaiting: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  /** A table of `data`'s accounts (empty when `data` is undefined). */
  constructor(data?: AccountsData, options: AccountsOptions = {}) {
    const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
    this.#maxRunning = options.maxRunning ?? Math.max(2, cores);
    this.#maxWaiting = options.maxWaiting ?? 64;
    if (data !== undefined) this.replace(data);
  }

  /** Accounts in the table. */
  get size(): number {
    return this.#byKey.size;
  }

  /** Replaces every account with those of `data` (validated by `accounts_file.ts`). */
  replace(data: AccountsData): void {
    const byKey = new Map<string, Entry>();
    const bySkeleton = new Map<string, string>();
    for (const [name, record] of Object.entries(data.users)) {
      byKey.set(nameKey(name), { name, admin: record.admin === true, hash: record.password });
      bySkeleton.set(nameSkeleton(name), name);
    }
    this.#byKey = byKey;
    this.#bySkeleton = bySkeleton;
  }

  /** The account called `name` (in any case; not a look-alike), as the file spells it. */
  nameOf(name: string): string | undefined {
    return this.#byKey.get(nameKey(name))?.name;
  }

  /** The account `name` is reserved for (the same name in any case, or a look-alike of it). */
  reservedLike(name: string): string | undefined {
    return this.#bySkeleton.get(nameSkeleton(name));
  }

  /**
   * The account if `password` is its password; `undefined` for a wrong password or a name
   * without an account (after the same work); `"busy"` when too many checks are under way;
   * `"refused"` when `admit`, asked once a slot is free and before any work, says no (an address
   * locked out while it waited).
   */
  async verify(
    name: string,
    password: string,
    admit: () => boolean = () => true,
  ): Promise<Account | undefined | "busy" | "refused"> {
    if (this.#running >= this.#maxRunning) {
      if (this.#waiting.length >= this.#maxWaiting) return "busy";
      await new Promise<void>((start) => this.#waiting.push(start));
    } else {
      this.#running++;
    }
    try {
      if (!admit()) return "refused";
      const entry = this.#byKey.get(nameKey(name));
      if (entry === undefined) return await verifyDummy(password) || undefined;
      const good = await verifyPassword(password, entry.hash);
      return good ? { name: entry.name, admin: entry.admin } : undefined;
    } finally {
      // The slot passes straight to the next waiter, if any.
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#running--;
    }
  }
}
