/**
 * The operator console: lines typed at the server's terminal, or passed to `Server.console`. A
 * `:command` runs with admin rights, `exit` shuts down, anything else goes to the lobby as
 * `MSG server * :<text>` through the recording point, like any other message.
 * @module
 */

import type { Caller, ServerContext } from "./context.ts";
import { runCommand } from "./commands/table.ts";
import { LOBBY } from "./record.ts";
import { neutralize, parseCommand } from "../protocol/grammar.ts";

const encoder = new TextEncoder();

/** Runs one console line for the server behind `ctx`; returns the reply lines. */
export function runConsoleLine(ctx: ServerContext, line: string): string[] {
  const replies: string[] = [];
  const operator: Caller = {
    name: "server",
    registered: true,
    address: "console",
    ip: "console",
    secure: false,
    admin: true,
    account: undefined,
    peer: undefined,
    send: (reply) => replies.push(reply.replace(/\n$/, "")),
  };
  const trimmed = line.trim();
  if (trimmed === "") return replies;
  if (trimmed.toLowerCase() === "exit" || trimmed.toLowerCase() === ":quit") {
    void ctx.shutdown({ reason: "server shutting down" });
    replies.push("OK shutdown");
    return replies;
  }
  if (trimmed.startsWith(":") && !trimmed.startsWith("::")) {
    const { verb, rest } = parseCommand(trimmed);
    runCommand(ctx, operator, verb, rest);
    return replies;
  }
  const text = neutralize(trimmed.startsWith("::") ? trimmed.slice(1) : trimmed);
  const recipients = ctx.recorder.record(operator, LOBBY, [encoder.encode(text)]);
  replies.push(`OK broadcast ${recipients}`);
  return replies;
}
