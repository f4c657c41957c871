/**
 * The `:command` table: what each verb needs (a name, admin rights) and what it does. Every
 * command ends with exactly one `OK <verb> …` or `ERR <code> :…` line, after its data lines.
 * @module
 */

import type { Caller, ConnectionHandle, ServerContext } from "../context.ts";
import type { ErrorCode } from "../../protocol/errors.ts";
import type { Group, Peer } from "../hub.ts";
import {
  accept,
  decline,
  FILE_USAGE,
  files,
  get,
  payloadSize,
  put,
  refusePayload,
  rm,
  send,
} from "./files.ts";
import { commandArgs } from "./run_args.ts";
import { execute, findCommand, listCommands } from "./run.ts";
import {
  errLine,
  formatLine,
  groupName,
  HELP_LINES,
  nameProblem,
  neutralize,
  okLine,
  splitWords,
} from "../../protocol/grammar.ts";

type Requirement = "none" | "name" | "admin";

interface CommandSpec {
  needs: Requirement;
  usage: string;
  run(ctx: ServerContext, caller: Caller, rest: string): void;
}

const encoder = new TextEncoder();

const COMMANDS = new Map<string, CommandSpec>([
  ["help", { needs: "none", usage: ":help", run: help }],
  ["ping", { needs: "name", usage: ":ping", run: (_ctx, caller) => caller.send(okLine("ping")) }],
  ["whoami", { needs: "name", usage: ":whoami", run: whoami }],
  ["auth", { needs: "none", usage: ":auth <token>", run: auth }],
  ["pm", { needs: "name", usage: ":pm <user> <text>", run: privateMessage }],
  ["group", {
    needs: "name",
    usage: ":group create|join|leave|members <group> | :group send <group> <text>",
    run: group,
  }],
  ["groups", { needs: "name", usage: ":groups", run: listGroups }],
  ["list", { needs: "name", usage: ":list", run: list }],
  ["name", { needs: "name", usage: ":name <new>", run: rename }],
  ["kick", { needs: "admin", usage: ":kick <user> [reason]", run: kick }],
  ["rename", { needs: "admin", usage: ":rename <old> <new>", run: adminRename }],
  ["shutdown", { needs: "admin", usage: ":shutdown [grace-seconds] [reason]", run: shutdown }],
  ["stats", { needs: "admin", usage: ":stats", run: stats }],
  // Files, transfers, remote commands and acknowledgements (docs/protocol.md, sb/1 additions).
  ["put", { needs: "name", usage: FILE_USAGE.put, run: put }],
  ["get", { needs: "name", usage: FILE_USAGE.get, run: get }],
  ["files", { needs: "name", usage: FILE_USAGE.files, run: files }],
  ["rm", { needs: "name", usage: FILE_USAGE.rm, run: rm }],
  ["send", { needs: "name", usage: FILE_USAGE.send, run: send }],
  ["accept", { needs: "name", usage: FILE_USAGE.accept, run: accept }],
  ["decline", { needs: "name", usage: FILE_USAGE.decline, run: decline }],
  ["run", { needs: "name", usage: ":run <command> [args...]", run: runRemote }],
  ["commands", { needs: "name", usage: ":commands", run: listCommands }],
  ["ack", { needs: "none", usage: ":ack [on|off]", run: ack }],
]);

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
    return refuse(caller, verb, rest, "not-registered", "send your name first");
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

/** `:run <command> [args...]` → `STDOUT`/`STDERR` lines, then `OK run <command> <exit-code>`. */
function runRemote(ctx: ServerContext, caller: Caller, rest: string): void {
  const [name = "", words = ""] = splitWords(rest, 1);
  if (name === "") return usage(caller, "run");
  const session = caller.session;
  if (session === undefined) {
    caller.send(errLine("not-allowed", "the console cannot run commands"));
    return;
  }
  const spec = findCommand(ctx, name);
  if (spec === undefined) {
    caller.send(errLine("no-such-command", `no command "${neutralize(name)}"; try :commands`));
    return;
  }
  if (spec.admin && !caller.admin) {
    caller.send(errLine("not-allowed", `${name} is for admins (see :auth)`));
    return;
  }
  const args = commandArgs(words, spec);
  if (typeof args === "string") {
    caller.send(errLine("bad-args", args));
    return;
  }
  session.defer(
    (signal) => execute({ ctx, caller, session, name, spec, words: args, signal }),
    { abortOnEof: true },
  );
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
  else if (word !== "") return usage(caller, "ack");
  caller.send(okLine("ack", session.ack ? "on" : "off"));
}

function usage(caller: Caller, verb: string): void {
  caller.send(errLine("bad-args", `usage: ${COMMANDS.get(verb)?.usage ?? ":" + verb}`));
}

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

function auth(ctx: ServerContext, caller: Caller, rest: string): void {
  const [token = ""] = splitWords(rest, 1);
  if (token === "") return usage(caller, "auth");
  if (!ctx.checkToken(token)) {
    ctx.throttle.warning(ctx.log.admin, caller.ip, "failed :auth from {name} ({peer})", {
      name: caller.name,
      peer: caller.address,
    });
    caller.send(errLine("not-allowed", "wrong token"));
    return;
  }
  caller.admin = true;
  ctx.log.admin.info("admin rights granted to {name} ({peer})", {
    name: caller.name,
    peer: caller.address,
  });
  caller.send(okLine("auth", "admin"));
}

function privateMessage(ctx: ServerContext, caller: Caller, rest: string): void {
  const [to = "", text = ""] = splitWords(rest, 1);
  if (to === "" || text === "") return usage(caller, "pm");
  const target = ctx.hub.find(to);
  if (target === undefined) {
    caller.send(errLine("no-such-user", `nobody called "${neutralize(to)}" is online`));
    return;
  }
  const clean = neutralize(text);
  target.deliver(encoder.encode(formatLine("PM", [caller.name], clean)));
  recordMessage(ctx, caller, target.name, clean, 1);
  caller.send(okLine("pm", target.name));
}

/**
 * Groups one client may belong to at once. Groups live as long as they have members, so this
 * bounds the hub's memory at max-clients × this, whatever clients send.
 */
export const MAX_GROUPS_PER_CLIENT = 100;

function group(ctx: ServerContext, caller: Caller, rest: string): void {
  const [sub = "", rawName = "", text = ""] = splitWords(rest, 2);
  const name = groupName(rawName);
  if (name === "" || !["create", "join", "leave", "members", "send"].includes(sub)) {
    return usage(caller, "group");
  }
  const hub = ctx.hub;
  const existing = hub.findGroup(name);
  if (sub === "members") {
    if (existing === undefined) return noSuchGroup(caller, name);
    for (const member of existing.members) {
      caller.send(formatLine("MEMBER", [`#${existing.name}`, member.name]));
    }
    caller.send(okLine("group", "members", existing.name, existing.members.size));
    return;
  }
  const peer = caller.peer;
  if (peer === undefined) {
    caller.send(errLine("not-allowed", "the console cannot be a group member"));
    return;
  }
  const joining = sub === "create" || (sub === "join" && !existing?.members.has(peer));
  if (joining && peer.groups.size >= MAX_GROUPS_PER_CLIENT) {
    caller.send(
      errLine("too-many-groups", `you are in ${MAX_GROUPS_PER_CLIENT} groups; leave one first`),
    );
    return;
  }
  switch (sub) {
    case "create": {
      const problem = nameProblem(name);
      if (problem !== undefined) {
        caller.send(errLine("bad-args", `group names follow the name rules: ${problem}`));
        return;
      }
      if (existing !== undefined) {
        caller.send(errLine("group-exists", `#${existing.name} exists; use :group join`));
        return;
      }
      hub.createGroup(name, peer);
      caller.send(okLine("group", "create", name));
      return;
    }
    case "join":
      if (existing === undefined) return noSuchGroup(caller, name);
      hub.join(peer, existing);
      caller.send(okLine("group", "join", existing.name));
      return;
    case "leave":
      if (existing === undefined) return noSuchGroup(caller, name);
      if (!existing.members.has(peer)) return notMember(caller, existing);
      hub.leave(peer, existing, "left");
      caller.send(okLine("group", "leave", existing.name));
      return;
    case "send": {
      if (text === "") return usage(caller, "group");
      if (existing === undefined) return noSuchGroup(caller, name);
      if (!existing.members.has(peer)) return notMember(caller, existing);
      const clean = neutralize(text);
      const line = formatLine("MSG", [caller.name, `#${existing.name}`], clean);
      const recipients = hub.toGroup(existing, encoder.encode(line), peer);
      recordMessage(ctx, caller, `#${existing.name}`, clean, recipients);
      caller.send(okLine("group", "send", existing.name));
      return;
    }
  }
}

function noSuchGroup(caller: Caller, name: string): void {
  caller.send(errLine("no-such-group", `there is no group #${neutralize(name)}`));
}

function notMember(caller: Caller, group: Group): void {
  caller.send(errLine("not-allowed", `you are not a member of #${group.name}`));
}

function listGroups(ctx: ServerContext, caller: Caller): void {
  let count = 0;
  for (const group of ctx.hub.groups()) {
    caller.send(formatLine("GROUP", [`#${group.name}`, group.members.size]));
    count++;
  }
  caller.send(okLine("groups", count));
}

function list(ctx: ServerContext, caller: Caller): void {
  let count = 0;
  for (const peer of ctx.hub.peers()) {
    const address = (peer as Partial<ConnectionHandle>).address;
    const params = caller.admin && address !== undefined ? [peer.name, address] : [peer.name];
    caller.send(formatLine("USER", params));
    count++;
  }
  caller.send(okLine("list", count));
}

function rename(ctx: ServerContext, caller: Caller, rest: string): void {
  const newName = rest.trim();
  if (newName === "") return usage(caller, "name");
  const peer = caller.peer;
  if (peer === undefined) {
    caller.send(errLine("not-allowed", "the console is always called server"));
    return;
  }
  if (!applyRename(ctx, caller, peer, newName)) return;
  caller.send(okLine("name", newName));
}

function adminRename(ctx: ServerContext, caller: Caller, rest: string): void {
  const [oldName = "", rawNewName = ""] = splitWords(rest, 1);
  const newName = rawNewName.trim();
  if (oldName === "" || newName === "") return usage(caller, "rename");
  const target = ctx.hub.find(oldName);
  if (target === undefined) {
    caller.send(errLine("no-such-user", `nobody called "${neutralize(oldName)}" is online`));
    return;
  }
  const previous = target.name;
  if (!applyRename(ctx, caller, target, newName)) return;
  ctx.log.admin.info("{name} renamed {from} to {to}", {
    name: caller.name,
    from: previous,
    to: target.name,
  });
  caller.send(okLine("rename", previous, target.name));
}

/** Validates and applies a rename; reports the problem to `caller` and returns false if any. */
function applyRename(ctx: ServerContext, caller: Caller, peer: Peer, newName: string): boolean {
  const problem = nameProblem(newName);
  if (problem !== undefined) {
    caller.send(errLine("bad-name", `${problem}; "${neutralize(newName)}" is not a valid name`));
    return false;
  }
  if (ctx.hub.isTaken(newName, peer)) {
    caller.send(errLine("name-taken", `"${newName}" is taken`));
    return false;
  }
  if (peer.name === newName) return true;
  const from = peer.name;
  ctx.hub.rename(peer, newName);
  ctx.log.conn.info("renamed {from} to {to}", { from, to: newName });
  const id = (peer as Partial<ConnectionHandle>).id ?? 0;
  ctx.events.emit("rename", { id, from, to: newName });
  return true;
}

function kick(ctx: ServerContext, caller: Caller, rest: string): void {
  const [who = "", reason = ""] = splitWords(rest, 1);
  if (who === "") return usage(caller, "kick");
  const target = ctx.hub.find(who) as ConnectionHandle | undefined;
  if (target === undefined) {
    caller.send(errLine("no-such-user", `nobody called "${neutralize(who)}" is online`));
    return;
  }
  const text = reason === "" ? `kicked by ${caller.name || "an admin"}` : reason;
  ctx.log.admin.info("{name} kicked {target}: {reason}", {
    name: caller.name,
    target: target.name,
    reason: text,
  });
  caller.send(okLine("kick", target.name));
  void target.close("kicked", text);
}

function shutdown(ctx: ServerContext, caller: Caller, rest: string): void {
  // `:shutdown [grace] [reason]`: a first word that is not a number starts the reason.
  const [first = "", afterFirst = ""] = splitWords(rest, 1);
  const hasGrace = /^\d+(\.\d+)?$/.test(first);
  const grace = hasGrace ? Number(first) : ctx.options.shutdownGrace;
  const reason = (hasGrace ? afterFirst : rest).trim();
  ctx.log.admin.warning("shutdown requested by {name} ({peer}), grace {grace} s", {
    name: caller.name,
    peer: caller.address,
    grace,
  });
  caller.send(okLine("shutdown", grace));
  void ctx.shutdown({ grace, reason: reason === "" ? "server shutting down" : neutralize(reason) });
}

function stats(ctx: ServerContext, caller: Caller): void {
  const snapshot = ctx.snapshot();
  for (const [key, value] of Object.entries(snapshot)) {
    if (typeof value === "object") {
      for (const [reason, count] of Object.entries(value as Record<string, number>)) {
        caller.send(formatLine("STAT", [`${key}.${reason}`, count]));
      }
    } else {
      caller.send(formatLine("STAT", [key, value]));
    }
  }
  caller.send(okLine("stats"));
}

function recordMessage(
  ctx: ServerContext,
  caller: Caller,
  target: string,
  text: string,
  recipients: number,
): void {
  ctx.counters.messages++;
  ctx.counters.deliveries += recipients;
  if (ctx.messages.enabled) {
    const bytes = encoder.encode(text);
    ctx.messages.add(Date.now(), caller.name, caller.address, target, recipients, bytes);
  }
  if (ctx.events.has("message")) {
    ctx.events.emit("message", { from: caller.name, target, text, recipients });
  }
}
