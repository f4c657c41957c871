/**
 * How the programs report a command line they cannot use: the problem in one sentence, the usage
 * line, and where the full list of options is. Private to `cli/`.
 * @module
 */

/**
 * Prints `<program>: <problem>`, the first line of `usage` and a pointer to `--help` on stderr.
 *
 * @example
 * ```ts ignore
 * usageProblem("client", "unknown option --prot (did you mean --port?)", CLIENT_USAGE);
 * // client: unknown option --prot (did you mean --port?)
 * // Usage: client [host] [port] [options]
 * // Run `client --help` for the options.
 * ```
 */
export function usageProblem(program: string, problem: string, usage: string): void {
  console.error(`${program}: ${problem}`);
  console.error(usage.split("\n")[0]);
  console.error(`Run \`${program} --help\` for the options.`);
}

/** The long options a usage text lists (`--port` → `port`), for `flagProblem`'s hints. */
export function flagsIn(usage: string): string[] {
  return [...usage.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((match) => match[1] ?? "");
}
