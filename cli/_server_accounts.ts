/**
 * `server accounts add|remove|list`: edits the accounts file the server reads for `:login`.
 * The file is the one the server itself would use with the same `--accounts`, `--config` and
 * `SWITCHBOARD_*` settings (flags over the environment over the config file, a relative path in
 * the config file taken from the file's folder). Every write is atomic with mode 0600
 * (`writeAccountsFile`). Exit codes: 0 done, 2 usage or validation (a bad name, an unknown
 * account, a file that is not a valid accounts file), 1 when the file cannot be read or written.
 * Private to `cli/`.
 * @module
 */

import { parseArgs } from "node:util";
import { flagProblem } from "../core/util/flag_problem.ts";
import { flagsIn } from "./_usage_problem.ts";
import {
  accountNameProblem,
  type AccountsData,
  parseAccounts,
  writeAccountsFile,
} from "../core/config/accounts_file.ts";
import { ConfigError, loadServerConfig, serverEnvironment } from "../core/config/config_file.ts";
import { fsReason } from "../core/config/path_checks.ts";
import { nameSkeleton } from "../core/protocol/name_skeleton.ts";
import { hashPassword } from "../core/util/password_hash.ts";
import { EXIT, type ExitCode } from "./_exit_codes.ts";
import { PromptAborted, readPipedLine, readSecret } from "./_password_prompt.ts";

/** The `server accounts --help` text. */
export const ACCOUNTS_USAGE: string =
  `Usage: server accounts <command> [--accounts FILE | --config FILE]

Manages the accounts file that :login checks (JSON, written atomically with mode 0600).

Commands:
  add <name> [--role admin|user]  add an account, or set a new password (and role) for one;
                                  the password is asked twice on a terminal, or read as one
                                  line from piped stdin
  remove <name>                   remove an account (any case of its name)
  list                            the accounts and their roles, one a line

Options:
  --accounts FILE             the accounts file
  --config FILE               a server config file: its "accounts" key names the file
  --role admin|user           with add: admin accounts have admin rights after :login
                              (default for a new account: user; an update keeps the role)
  --help                      show this text

Without --accounts the file comes from SWITCHBOARD_ACCOUNTS, then from the config file
(--config or SWITCHBOARD_CONFIG), as the server would find it. A running server reads the file
again on reload (SIGHUP, or :reload from an admin).

Exit codes: 0 done, 1 the file cannot be read or written, 2 a usage or validation error.`;

const RELOAD_HINT = "A running server picks this up on reload (SIGHUP, or :reload from an admin).";

/** Runs `server accounts …`; `args` are the arguments after `accounts`. */
export async function accountsMain(args: string[]): Promise<ExitCode> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        accounts: { type: "string" },
        config: { type: "string" },
        role: { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    return usage(flagProblem((error as Error).message, flagsIn(ACCOUNTS_USAGE)));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(ACCOUNTS_USAGE);
    return EXIT.ok;
  }
  const [command, name, ...extra] = positionals;
  if (command === undefined) return usage("which command? add, remove or list");
  if (!["add", "remove", "list"].includes(command)) {
    return usage(`unknown command "${command}" (add, remove or list)`);
  }
  const wantsName = command !== "list";
  if (wantsName && name === undefined) return usage(`${command} needs an account name`);
  const surplus = wantsName ? extra : positionals.slice(1);
  if (surplus.length > 0) return usage(`unexpected argument "${surplus[0]}"`);
  if (values.role !== undefined && command !== "add") return usage("--role goes with add");
  if (values.role !== undefined && values.role !== "admin" && values.role !== "user") {
    return usage(`--role must be admin or user, not "${values.role}"`);
  }

  let path: string;
  try {
    const found = await accountsPath(values.accounts, values.config);
    if (found === undefined) {
      return usage(
        'no accounts file named: give --accounts FILE, or --config FILE with an "accounts" key, or set SWITCHBOARD_ACCOUNTS',
      );
    }
    path = found;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return usage(error.message);
  }

  const loaded = await load(path, command === "add");
  if (typeof loaded === "number") return loaded;
  switch (command) {
    case "list":
      return list(loaded);
    case "remove":
      return await remove(path, loaded, name!);
    default:
      return await add(path, loaded, name!, values.role as "admin" | "user" | undefined);
  }
}

/** The accounts file the server would read with these settings, if any is named. */
async function accountsPath(
  accounts: string | undefined,
  config: string | undefined,
): Promise<string | undefined> {
  const args = [
    ...(accounts === undefined ? [] : ["--accounts", accounts]),
    ...(config === undefined ? [] : ["--config", config]),
  ];
  const loaded = await loadServerConfig(args, serverEnvironment());
  const path = loaded.options.accounts;
  return path === undefined || path === "" ? undefined : path;
}

/** Reads the file: its accounts, or the exit code after printing why not. */
async function load(path: string, missingIsEmpty: boolean): Promise<AccountsData | ExitCode> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      if (missingIsEmpty) return { users: {} };
      console.error(
        `server accounts: accounts file ${path}: no such file (create it with \`server accounts add <name>\`)`,
      );
      return EXIT.failure;
    }
    console.error(`server accounts: accounts file ${path}: ${fsReason(error)}`);
    return EXIT.failure;
  }
  try {
    return parseAccounts(text, path);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`server accounts: ${error.message}`);
    return EXIT.usage;
  }
}

function list(data: AccountsData): ExitCode {
  const names = Object.keys(data.users).sort((a, b) =>
    a.toLowerCase().localeCompare(b.toLowerCase()) || a.localeCompare(b)
  );
  const width = Math.max(0, ...names.map((name) => name.length));
  for (const name of names) {
    console.log(`${name.padEnd(width)}  ${data.users[name]!.admin ? "admin" : "user"}`);
  }
  if (names.length === 0) console.error("server accounts: no accounts yet");
  return EXIT.ok;
}

async function remove(path: string, data: AccountsData, name: string): Promise<ExitCode> {
  const stored = findAccount(data, name);
  if (stored === undefined) {
    console.error(`server accounts: no account "${name}" in ${path}`);
    return EXIT.usage;
  }
  delete data.users[stored];
  if (!(await save(path, data))) return EXIT.failure;
  console.log(`removed account "${stored}"`);
  console.log(RELOAD_HINT);
  return EXIT.ok;
}

async function add(
  path: string,
  data: AccountsData,
  name: string,
  role: "admin" | "user" | undefined,
): Promise<ExitCode> {
  const problem = accountNameProblem(name);
  if (problem !== undefined) {
    console.error(`server accounts: invalid account name "${name}": ${problem}`);
    return EXIT.usage;
  }
  // The same name in another case is that account; another look-alike would be refused by the
  // server when it reads the file (the two would reserve each other), so it is refused here.
  const existing = findAccount(data, name);
  if (existing === undefined) {
    const skeleton = nameSkeleton(name);
    const twin = Object.keys(data.users).find((other) => nameSkeleton(other) === skeleton);
    if (twin !== undefined) {
      console.error(
        `server accounts: "${name}" looks like the account "${twin}" (case and look-alike characters such as I l 1, O 0 count as the same); choose another name`,
      );
      return EXIT.usage;
    }
  }
  const password = await askPassword(existing ?? name);
  if (typeof password === "number") return password;
  const previous = existing === undefined ? undefined : data.users[existing];
  const stored = existing ?? name;
  const admin = role === undefined ? previous?.admin === true : role === "admin";
  data.users[stored] = { password: await hashPassword(password), admin };
  if (!(await save(path, data))) return EXIT.failure;
  console.log(
    `${existing === undefined ? "added" : "updated"} account "${stored}" (${
      admin ? "admin" : "user"
    }) in ${path}`,
  );
  console.log(RELOAD_HINT);
  return EXIT.ok;
}

/** The password: asked twice on a terminal, else one line of stdin; or the exit code. */
async function askPassword(name: string): Promise<string | ExitCode> {
  let password: string | undefined;
  try {
    if (Deno.stdin.isTerminal()) {
      password = await readSecret(`Password for ${name}: `);
      if (password === "") {
        console.error("server accounts: the password must not be empty");
        return EXIT.usage;
      }
      const again = await readSecret("Again: ");
      if (again !== password) {
        console.error("server accounts: the passwords do not match; nothing changed");
        return EXIT.usage;
      }
    } else {
      password = await readPipedLine();
      if (password === undefined || password === "") {
        console.error(
          "server accounts: no password: stdin is not a terminal, so its first line is the password, and that line is empty",
        );
        return EXIT.usage;
      }
    }
  } catch (error) {
    if (error instanceof PromptAborted) {
      console.error("server accounts: aborted; nothing changed");
      return EXIT.usage;
    }
    if (error instanceof RangeError) {
      console.error(`server accounts: ${error.message}`);
      return EXIT.usage;
    }
    throw error;
  }
  return password;
}

/** The stored spelling of the account `name` names, in any case. */
function findAccount(data: AccountsData, name: string): string | undefined {
  if (Object.hasOwn(data.users, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(data.users).find((stored) => stored.toLowerCase() === lower);
}

async function save(path: string, data: AccountsData): Promise<boolean> {
  try {
    await writeAccountsFile(path, data);
    return true;
  } catch (error) {
    console.error(`server accounts: cannot write accounts file ${path}: ${fsReason(error)}`);
    return false;
  }
}

function usage(problem: string): ExitCode {
  console.error(`server accounts: ${problem}`);
  console.error("Run `server accounts --help` for usage.");
  return EXIT.usage;
}
