/**
 * The accounts file (`--accounts FILE`): who may log in with `:login`, with what password hash,
 * and whether they are admins. JSON, written by `server accounts add|remove`:
 *
 * ```json
 * { "users": { "alice": { "password": "scrypt$16384$8$1$…$…", "admin": true } } }
 * ```
 *
 * Reading validates everything the server relies on, and says where a problem is: each name is a
 * valid name and not the console's (`server`), no two names are look-alikes of each other (they
 * would reserve each other), each password is a hash `password_hash.ts` can check (never a
 * plain password), `admin` is a boolean. Writing is atomic (a temporary file renamed over the
 * old one) with mode 0600: the hashes are not secret the way passwords are, but a hash is all an
 * offline guesser needs.
 *
 * @example
 * ```ts ignore
 * import { readAccountsFile, writeAccountsFile } from "./accounts_file.ts";
 * const accounts = await readAccountsFile("accounts.json");
 * await writeAccountsFile("accounts.json", accounts);
 * ```
 * @module
 */

import { dirname } from "node:path";
import { nameProblem } from "../protocol/grammar.ts";
import { nameSkeleton } from "../protocol/name_skeleton.ts";
import { parsePasswordHash } from "../util/password_hash.ts";
import { ConfigError } from "./config_error.ts";
import { fsReason } from "./path_checks.ts";

/** One account as stored. */
export interface AccountRecord {
  /** The password hash (`scrypt$N$r$p$salt$hash`), never the password. */
  password: string;
  /** Admin rights after login, without the admin token. @default {false} */
  admin?: boolean;
}

/** The whole file. */
export interface AccountsData {
  /** Accounts by name, as the users spell them. */
  users: Record<string, AccountRecord>;
}

/** The console's name: no account may take it (console lines come from it). */
const CONSOLE_NAME = "server";

/**
 * Reads and validates an accounts file. A file that does not exist is an error unless
 * `missingIsEmpty` (what `server accounts add` wants for its first account).
 * @throws {ConfigError} naming the file and the problem.
 */
export async function readAccountsFile(
  path: string,
  options: { missingIsEmpty?: boolean } = {},
): Promise<AccountsData> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound && options.missingIsEmpty) return { users: {} };
    const why = error instanceof Deno.errors.NotFound
      ? "no such file (create it with `server accounts add <name>`)"
      : fsReason(error);
    throw new ConfigError(`accounts file ${path}: ${why}`);
  }
  return parseAccounts(text, path);
}

/**
 * Validates the text of an accounts file.
 * @throws {ConfigError} naming `source` and the problem.
 */
export function parseAccounts(text: string, source: string): AccountsData {
  const fail = (why: string): never => {
    throw new ConfigError(`accounts file ${source}: ${why}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail(`not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(json) || !isObject(json.users)) {
    return fail(`expected {"users": {"<name>": {"password": "<hash>", "admin": false}}}`);
  }
  for (const key of Object.keys(json)) {
    if (key !== "users") fail(`unknown key "${key}" (only "users")`);
  }
  const users: Record<string, AccountRecord> = {};
  const skeletons = new Map<string, string>();
  for (const [name, entry] of Object.entries(json.users)) {
    const problem = accountNameProblem(name);
    if (problem !== undefined) fail(`account "${name}": ${problem}`);
    const skeleton = nameSkeleton(name);
    const twin = skeletons.get(skeleton);
    if (twin !== undefined) fail(`accounts "${twin}" and "${name}" are look-alikes; keep one`);
    skeletons.set(skeleton, name);
    if (!isObject(entry)) fail(`account "${name}": expected {"password": "<hash>"}`);
    const record = entry as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (key !== "password" && key !== "admin") {
        fail(`account "${name}": unknown key "${key}" (only "password" and "admin")`);
      }
    }
    if (typeof record.password !== "string") fail(`account "${name}": "password" is missing`);
    const hash = parsePasswordHash(record.password as string);
    if (typeof hash === "string") {
      fail(
        `account "${name}": "password" is not a hash (${hash}); set it with \`server accounts add\``,
      );
    }
    if (record.admin !== undefined && typeof record.admin !== "boolean") {
      fail(`account "${name}": "admin" must be true or false`);
    }
    users[name] = { password: record.password as string, admin: record.admin === true };
  }
  return { users };
}

/** What makes `name` unusable as an account name, or `undefined`. */
export function accountNameProblem(name: string): string | undefined {
  const problem = nameProblem(name);
  if (problem !== undefined) return problem;
  if (nameSkeleton(name) === nameSkeleton(CONSOLE_NAME)) {
    return `"${name}" is the operator console's name`;
  }
  return undefined;
}

/**
 * Writes `data` to `path` atomically with mode 0600: a temporary file in the same folder, then
 * a rename over the old file, so a reader (a reloading server) sees the old file or the new one,
 * never half of one.
 */
export async function writeAccountsFile(path: string, data: AccountsData): Promise<void> {
  const sorted = Object.fromEntries(
    Object.entries(data.users).sort(([a], [b]) => a.localeCompare(b)).map((
      [name, record],
    ) => [name, { password: record.password, admin: record.admin === true }]),
  );
  const text = JSON.stringify({ users: sorted }, null, 2) + "\n";
  const folder = dirname(path);
  const temporary = `${folder}/.${crypto.randomUUID()}.accounts.tmp`;
  try {
    await Deno.writeTextFile(temporary, text, { mode: 0o600, createNew: true });
    // `mode` is subject to the umask; the file must end up 0600 whatever it is.
    if (Deno.build.os !== "windows") await Deno.chmod(temporary, 0o600);
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
