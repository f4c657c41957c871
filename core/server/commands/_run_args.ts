/**
 * The words a client adds to a `:run` command, and where they go on the program's command line:
 * after a `--` (the default, so no word is ever taken as an option), or — when the operator
 * declared a pattern — right after `argv`, each word matching that pattern in full.
 * @module
 */

import { compileWordPattern } from "../../config/word_pattern.ts";
import type { CommandArgs, RemoteCommand } from "../../config/options.ts";

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
/** Longest part of a refused word quoted back to the client. */
const SHOWN_WORD_CHARS = 40;

/**
 * Splits the words a client gave after the command name (runs of spaces separate them; there is
 * no quoting) and checks them against the command's limits. Returns the words, or why they are
 * refused.
 */
export function commandArgs(rest: string, spec: Required<RemoteCommand>): string[] | string {
  const words = rest.split(" ").filter((word) => word !== "");
  if (words.length > spec.maxArgs) {
    return spec.maxArgs === 0
      ? "this command takes no arguments"
      : `this command takes at most ${spec.maxArgs} arguments`;
  }
  if (words.some((word) => CONTROL.test(word))) {
    return "arguments cannot contain control characters";
  }
  return typeof spec.args === "object" ? matchPattern(words, spec.args.pattern) : words;
}

/**
 * The program's arguments after the program itself: the declared fixed ones, then the client's
 * words where `args` puts them.
 */
export function placeArgs(fixed: readonly string[], words: string[], args: CommandArgs): string[] {
  if (words.length === 0) return [...fixed];
  return args === "after-dashes" ? [...fixed, "--", ...words] : [...fixed, ...words];
}

function matchPattern(words: string[], pattern: string): string[] | string {
  let whole: RegExp;
  try {
    whole = compileWordPattern(pattern);
  } catch {
    // Validated in the config file; a library caller may still pass a broken one: refuse all.
    return "this command's argument pattern is invalid (a server configuration error)";
  }
  const refused = words.find((word) => !whole.test(word));
  if (refused === undefined) return words;
  const chars = [...refused];
  const shown = chars.length > SHOWN_WORD_CHARS
    ? `${chars.slice(0, SHOWN_WORD_CHARS).join("")}…`
    : refused;
  return `argument ${JSON.stringify(shown)} refused: each word must match ${pattern} in full`;
}
