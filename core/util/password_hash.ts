/**
 * Password hashes for accounts: scrypt from `node:crypto` with a random salt per password, the
 * cost parameters stored in the string so they can be raised later without invalidating the
 * hashes already written:
 *
 * ```text
 * scrypt$<N>$<r>$<p>$<salt, base64>$<hash, base64>
 * ```
 *
 * The defaults (N = 2^14, r = 8, p = 1: 16 MiB and about 50 ms per hash on one core) are
 * scrypt's interactive-login parameters, those `node:crypto` uses by default. Verification
 * compares in constant time, and {@linkcode verifyDummy} spends the same work on a password for
 * which there is no hash, so an unknown name and a wrong password take the same time.
 *
 * @example
 * ```ts
 * import { hashPassword, verifyPassword } from "./password_hash.ts";
 * const hash = await hashPassword("correct horse", { N: 1024 });
 * console.assert(hash.startsWith("scrypt$1024$8$1$"));
 * console.assert(await verifyPassword("correct horse", hash));
 * console.assert(!(await verifyPassword("wrong horse", hash)));
 * ```
 * @module
 */

import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";

/** scrypt's cost parameters. */
export interface ScryptParams {
  /** CPU and memory cost: a power of two, at least 2. @default {16384} */
  N: number;
  /** Block size. @default {8} */
  r: number;
  /** Parallelism. @default {1} */
  p: number;
}

/** The parameters new hashes get. */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({
  N: 16384,
  r: 8,
  p: 1,
});

/** The largest parameters a hash string may carry: 1 GiB of memory, so a typo cannot take more. */
const LIMITS = { N: 2 ** 20, r: 32, p: 16, memory: 1024 ** 3 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/** A parsed hash string. */
export interface PasswordHash extends ScryptParams {
  /** The random salt. */
  salt: Uint8Array;
  /** The derived key. */
  key: Uint8Array;
}

/** Hashes `password` with a fresh salt: the string to store. */
export async function hashPassword(
  password: string,
  params: Partial<ScryptParams> = {},
): Promise<string> {
  const full = { ...DEFAULT_SCRYPT_PARAMS, ...params };
  const problem = paramsProblem(full);
  if (problem !== undefined) throw new RangeError(`bad scrypt parameters: ${problem}`);
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, full, KEY_BYTES);
  return ["scrypt", full.N, full.r, full.p, base64(salt), base64(key)].join("$");
}

/**
 * Parses a hash string; returns what is wrong with it as a string instead when it is not one
 * this module wrote (or could have written).
 */
export function parsePasswordHash(text: string): PasswordHash | string {
  const parts = text.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") {
    return "not a hash of the form scrypt$N$r$p$salt$hash";
  }
  const [N, r, p] = parts.slice(1, 4).map((part) => /^\d{1,10}$/.test(part) ? Number(part) : NaN);
  const params = { N: N!, r: r!, p: p! };
  const problem = paramsProblem(params);
  if (problem !== undefined) return problem;
  const salt = fromBase64(parts[4]!);
  const key = fromBase64(parts[5]!);
  if (salt === undefined || salt.length < 8) return "the salt is not base64 of at least 8 bytes";
  if (key === undefined || key.length < 16) return "the hash is not base64 of at least 16 bytes";
  return { ...params, salt, key };
}

/**
 * Whether `password` matches `hash` (a string from {@linkcode hashPassword}). A malformed hash
 * matches nothing. The comparison takes the same time wherever the keys differ.
 */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parsed = parsePasswordHash(hash);
  if (typeof parsed === "string") return false;
  const key = await derive(password, parsed.salt, parsed, parsed.key.length);
  return timingSafeEqual(key, parsed.key);
}

let dummy: Promise<string> | undefined;

/**
 * Spends the work of verifying `password` against a hash with the default parameters, and
 * returns false: what a login for a name without an account does, so that it takes as long as a
 * wrong password.
 */
export async function verifyDummy(password: string): Promise<false> {
  dummy ??= hashPassword("switchboard dummy password");
  await verifyPassword(password, await dummy);
  return false;
}

/** What is wrong with a set of parameters, or `undefined`. */
function paramsProblem({ N, r, p }: ScryptParams): string | undefined {
  if (!Number.isInteger(N) || N < 2 || N > LIMITS.N || (N & (N - 1)) !== 0) {
    return `N must be a power of two from 2 to ${LIMITS.N}`;
  }
  if (!Number.isInteger(r) || r < 1 || r > LIMITS.r) return `r must be 1 to ${LIMITS.r}`;
  if (!Number.isInteger(p) || p < 1 || p > LIMITS.p) return `p must be 1 to ${LIMITS.p}`;
  if (memory({ N, r, p }) > LIMITS.memory) return "N × r × p needs more than 1 GiB";
  return undefined;
}

/** Bytes scrypt needs for these parameters (its `maxmem` must allow them). */
function memory({ N, r, p }: ScryptParams): number {
  return 128 * r * (N + p + 2);
}

function derive(
  password: string,
  salt: Uint8Array,
  params: ScryptParams,
  length: number,
): Promise<Uint8Array> {
  const { N, r, p } = params;
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize("NFC"),
      salt,
      length,
      { N, r, p, maxmem: memory(params) + 1024 * 1024 },
      (error, key) => error === null ? resolve(new Uint8Array(key)) : reject(error),
    )
  );
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64").replace(/=+$/, "");
}

function fromBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, "base64"));
}
