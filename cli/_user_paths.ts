/**
 * The folder the user started a program from, and paths relative to it. `deno task` runs a task
 * in the project folder, so the working directory is not where the user typed the command; it
 * sets `INIT_CWD` to that folder (as npm does). Every relative path the client takes (`:put`,
 * `:get` and `:accept` destinations, `:send`, `--downloads`, `--log-file`, `--tls-ca`) is
 * resolved against {@linkcode userFolder}. Private to `cli/`.
 * @module
 */

import { isAbsolute, join } from "node:path";

/** Set by `deno task` (and npm) to the folder the task was started from. */
const INIT_CWD = "INIT_CWD";

/**
 * The folder the user started the program from: `INIT_CWD` when set to an absolute path (run
 * through `deno task`), the working directory otherwise (also when the variable may not be read).
 */
export function userFolder(): string {
  let init: string | undefined;
  try {
    init = Deno.env.get(INIT_CWD);
  } catch {
    // No permission to read it: a plain `deno run` or a binary without it; the cwd is right then.
  }
  return init !== undefined && isAbsolute(init) ? init : Deno.cwd();
}

/**
 * `path` as the user meant it: unchanged when absolute, else relative to {@linkcode userFolder}.
 * A trailing separator is kept (it says "a folder" to `:get` and `:accept`).
 *
 * @example
 * ```ts
 * import { userPath } from "./_user_paths.ts";
 * console.assert(userPath("/tmp/a.txt") === "/tmp/a.txt");
 * console.assert(userPath("a.txt").endsWith("/a.txt"));
 * ```
 */
export function userPath(path: string): string {
  return isAbsolute(path) ? path : join(userFolder(), path);
}

/** The paths a client command line names, made absolute with {@linkcode userPath}. */
export function withUserPaths<
  T extends { downloads: string; logFile: string | undefined; tlsCa: string | undefined },
>(plan: T): T {
  return {
    ...plan,
    downloads: userPath(plan.downloads),
    logFile: plan.logFile === undefined ? undefined : userPath(plan.logFile),
    tlsCa: plan.tlsCa === undefined ? undefined : userPath(plan.tlsCa),
  };
}
