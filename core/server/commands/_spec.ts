/**
 * What every `:command` family declares about its verbs: what a verb needs (a name, admin
 * rights), its usage line, and the function that runs it.
 * @module
 */

import type { Caller, ServerContext } from "../context.ts";
import { errLine } from "../../protocol/grammar.ts";

/** What a caller must have before a command runs. */
export type Requirement = "none" | "name" | "admin";

/** One `:command`. */
export interface CommandSpec {
  /** What the caller needs first. */
  readonly needs: Requirement;
  /** The usage line `ERR bad-args` quotes. */
  readonly usage: string;
  /** Runs it; every command ends with exactly one `OK` or `ERR` line. */
  run(ctx: ServerContext, caller: Caller, rest: string): void;
}

/** A family of commands by verb (lower case, without the colon). */
export type CommandFamily = Readonly<Record<string, CommandSpec>>;

/** `ERR bad-args :usage: …` for `verb` of `family`. */
export function sendUsage(caller: Caller, family: CommandFamily, verb: string): void {
  caller.send(errLine("bad-args", `usage: ${family[verb]?.usage ?? ":" + verb}`));
}
