/**
 * The `:command` table: finds the verb in its family (session, login, chat, history, admin,
 * files, run), checks what it needs (a name, admin rights) and runs it. Every command ends with exactly one
 * `OK <verb> …` or `ERR <code> :…` line, after its data lines.
 * @module
 */

import type { Caller, ServerContext } from "../context.ts";
import type { ErrorCode } from "../../protocol/errors.ts";
import { errLine, neutralize } from "../../protocol/grammar.ts";
import type { CommandSpec } from "./_spec.ts";
import { ADMIN_COMMANDS } from "./_admin.ts";
import { CHAT_COMMANDS } from "./_chat.ts";
import { FILE_COMMANDS, payloadSize, refusePayload } from "./_files.ts";
import { RUN_COMMANDS } from "./_run.ts";
import { SESSION_COMMANDS } from "./_session.ts";
import { LOGIN_COMMANDS } from "./_login.ts";
import { HISTORY_COMMANDS } from "./_history.ts";

/** Every command, by verb; each family's file says what its commands do. */
const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map(
  [
    SESSION_COMMANDS,
    LOGIN_COMMANDS,
    CHAT_COMMANDS,
    HISTORY_COMMANDS,
    ADMIN_COMMANDS,
    FILE_COMMANDS,
    RUN_COMMANDS,
  ].flatMap((family) => Object.entries(family)),
);

/** Runs one command for `caller`. `verb` is lower-case without its colon. */
export function runCommand(ctx: ServerContext, caller: Caller, verb: string, rest: string): void {
  ctx.counters.commands++;
  const spec = COMMANDS.get(verb);
  ctx.log.traffic.info("command {verb} from {name} ({peer})", {
    verb: spec === undefined ? "unknown" : verb,
    name: caller.name,
    peer: caller.address,
  });
  if (spec === undefined) {
    caller.send(errLine("unknown-command", `unknown command ":${neutralize(verb)}"; try :help`));
    return;
  }
  if (spec.needs === "name" && !caller.registered) {
    const first = ctx.options.requireLogin
      ? "log in first: :login <name> <password>"
      : "send your name first";
    return refuse(caller, verb, rest, "not-registered", first);
  }
  if (spec.needs === "admin" && !caller.admin) {
    caller.send(errLine("not-allowed", `:${verb} is for admins (see :auth)`));
    return;
  }
  spec.run(ctx, caller, rest);
}

/** A refusal before the command runs; a command with a sized payload still consumes it. */
function refuse(caller: Caller, verb: string, rest: string, code: ErrorCode, text: string): void {
  const size = payloadSize(verb, rest);
  if (size === undefined) caller.send(errLine(code, text));
  else refusePayload(caller, size, code, text);
}
