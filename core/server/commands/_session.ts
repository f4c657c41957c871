/**
 * Commands about the caller's own session: `:help`, `:ping`, `:whoami`, `:ack`, `:ids` and
 * `:resume` (see `sessions.ts`).
 * @module
 */

import type { Caller, ServerContext } from "../context.ts";
import { errLine, formatLine, HELP_LINES, okLine, splitWords } from "../../protocol/grammar.ts";
import { type CommandFamily, sendUsage } from "./_spec.ts";

/** The session commands. */
/** At most this many ids in a `:resume`: one per cluster node the client heard from. */
export const MAX_RESUME_IDS = 64;

export const SESSION_COMMANDS: CommandFamily = {
  help: { needs: "none", usage: ":help", run: help },
  ping: { needs: "name", usage: ":ping", run: (_ctx, caller) => caller.send(okLine("ping")) },
  whoami: { needs: "name", usage: ":whoami", run: whoami },
  ack: { needs: "none", usage: ":ack [on|off]", run: ack },
  ids: { needs: "name", usage: ":ids [on|off]", run: ids },
  resume: { needs: "none", usage: ":resume <token> <last-id>[,<last-id>…]", run: resume },
};

function help(_ctx: ServerContext, caller: Caller): void {
  for (const line of HELP_LINES) caller.send(formatLine("HELP", [], line));
  caller.send(okLine("help"));
}

function whoami(_ctx: ServerContext, caller: Caller): void {
  const groups = caller.peer === undefined ? [] : [...caller.peer.groups].map((g) => `#${g.name}`);
  const role = caller.admin ? "admin" : "user";
  caller.send(formatLine("WHOAMI", [caller.name || "-", caller.address, role], groups.join(" ")));
  caller.send(okLine("whoami"));
}

/** `:ack [on|off]` → `OK ack on|off`. */
function ack(_ctx: ServerContext, caller: Caller, rest: string): void {
  const session = caller.session;
  if (session === undefined) {
    caller.send(errLine("not-allowed", "the console has no acknowledgements"));
    return;
  }
  const word = rest.trim().toLowerCase();
  if (word === "on" || word === "off") session.setAck(word === "on");
  else if (word !== "") return sendUsage(caller, SESSION_COMMANDS, "ack");
  caller.send(okLine("ack", session.ack ? "on" : "off"));
}

/** `:ids [on|off]` → `OK ids on|off`: message ids in front of `MSG` and `PM` lines. */
function ids(_ctx: ServerContext, caller: Caller, rest: string): void {
  const session = caller.session;
  if (session === undefined) {
    caller.send(errLine("not-allowed", "the console has no message ids"));
    return;
  }
  const word = rest.trim().toLowerCase();
  if (word === "on" || word === "off") session.setIds(word === "on");
  else if (word !== "") return sendUsage(caller, SESSION_COMMANDS, "ids");
  caller.send(okLine("ids", session.ids ? "on" : "off"));
}

/**
 * `:resume <token> <last-id>[,<last-id>…]`, before a name: takes a broken session over. The ids
 * are the newest the client saw from each cluster node (one on a single server), at most
 * {@linkcode MAX_RESUME_IDS}.
 */
function resume(_ctx: ServerContext, caller: Caller, rest: string): void {
  const [token = "", last = "", extra = ""] = splitWords(rest, 2);
  const ids = last.split(",");
  if (
    token === "" || extra !== "" || ids.length > MAX_RESUME_IDS ||
    !ids.every((id) => /^\d{1,16}$/.test(id) && Number.isSafeInteger(Number(id)))
  ) {
    return sendUsage(caller, SESSION_COMMANDS, "resume");
  }
  const session = caller.session;
  if (session === undefined || caller.registered) {
    caller.send(errLine("not-allowed", "resume a session before registering, as the first line"));
    return;
  }
  session.resume(token, ids.map(Number));
}
