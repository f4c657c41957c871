/**
 * Command-line mistakes in a person's words. `node:util` `parseArgs` throws sentences written for
 * programmers (`Unknown option '--prot'. To specify a positional argument starting with a '-',
 * place it at the end of the command after '--', as in '-- "--prot"`); {@linkcode flagProblem}
 * turns them into one short sentence, and suggests the known option an unknown one is closest to.
 * Shared by the server's configuration and the `client` and `shutdown` programs.
 * @module
 */

/**
 * The known option closest to `flag` (given with its dashes), when one is close enough to be a
 * typo: at most one edit for short names, two for longer ones, or the start of exactly one name.
 *
 * @example
 * ```ts
 * import { closestFlag } from "./flag_problem.ts";
 * console.assert(closestFlag("--prot", ["port", "host"]) === "--port");
 * console.assert(closestFlag("--zzz", ["port", "host"]) === undefined);
 * ```
 */
export function closestFlag(flag: string, known: Iterable<string>): string | undefined {
  const name = flag.replace(/^-+/, "").replace(/=.*$/, "").toLowerCase();
  if (name === "") return undefined;
  const names = [...new Set(known)].filter((k) => k.length > 1);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of names) {
    const distance = editDistance(name, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = name.length <= 4 ? 1 : 2;
  if (best !== undefined && bestDistance <= allowed) return `--${best}`;
  const prefixed = names.filter((candidate) => candidate.startsWith(name));
  if (name.length >= 3 && prefixed.length === 1) return `--${prefixed[0]}`;
  return undefined;
}

/**
 * One sentence for an error `parseArgs` threw, e.g. `unknown option --prot (did you mean
 * --port?)`, `option --port needs a value`. `known` are the long option names (without dashes)
 * the program takes; with `allowNegative`, include the `no-…` forms of its switches.
 *
 * @example
 * ```ts
 * import { flagProblem } from "./flag_problem.ts";
 * const message = "Unknown option '--prot'. To specify a positional argument starting with a '-', place it at the end";
 * console.assert(flagProblem(message, ["port"]) === "unknown option --prot (did you mean --port?)");
 * ```
 */
export function flagProblem(message: string, known: Iterable<string>): string {
  const unknown = /^Unknown option '([^']*)'/.exec(message);
  if (unknown !== null) {
    const flag = unknown[1] ?? "";
    const suggestion = closestFlag(flag, known);
    return `unknown option ${flag}${
      suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`
    }`;
  }
  const missing = /^Option '([^']*)' argument missing/.exec(message);
  if (missing !== null) return `option ${longForm(missing[1] ?? "")} needs a value`;
  const ambiguous = /^Option '([^']*)' argument is ambiguous/.exec(message);
  if (ambiguous !== null) {
    const flag = longForm(ambiguous[1] ?? "");
    return `option ${flag} needs a value (write ${flag}=VALUE for a value that begins with '-')`;
  }
  const noValue = /^Option '([^']*)' does not take an argument/.exec(message);
  if (noValue !== null) return `option ${longForm(noValue[1] ?? "")} takes no value`;
  // Anything else: its first sentence, without the quotes parseArgs leaves open.
  return (message.split(/\.\s/)[0] ?? message).replace(/'/g, "");
}

/** The option as parseArgs quotes it (`-n, --name <value>`): its long name when it has one. */
function longForm(quoted: string): string {
  return /--[^\s,<]+/.exec(quoted)?.[0] ?? quoted.split(/[\s,]/)[0] ?? quoted;
}

/** Levenshtein distance (insertions, deletions, substitutions), adjacent swaps counting one. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0]![j] = j;
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}
