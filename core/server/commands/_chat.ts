/**
 * Chat commands: `:pm`, `:group …`, `:groups`, `:list`, `:name`. Messages go to the recording
 * point; the rest is the hub's roster.
 * @module
 */

import type { Caller, ConnectionHandle, ServerContext } from "../context.ts";
import type { Group } from "../hub.ts";
import {
  errLine,
  formatLine,
  groupName,
  nameProblem,
  neutralize,
  okLine,
  splitWords,
} from "../../protocol/grammar.ts";
import { applyRename } from "./_rename.ts";
import { nameRefusal } from "../_name_rules.ts";
import { type CommandFamily, sendUsage } from "./_spec.ts";

/** The chat commands. */
export const CHAT_COMMANDS: CommandFamily = {
  pm: { needs: "name", usage: ":pm <user> <text>", run: privateMessage },
  group: {
    needs: "name",
    usage: ":group create|join|leave|members <group> | :group send <group> <text>",
    run: group,
  },
  groups: { needs: "name", usage: ":groups", run: listGroups },
  list: { needs: "name", usage: ":list", run: list },
  name: { needs: "name", usage: ":name <new>", run: rename },
};

const encoder = new TextEncoder();

/**
 * Groups one client may belong to at once. Groups live as long as they have members, so this
 * bounds the hub's memory at max-clients × this, whatever clients send.
 */
export const MAX_GROUPS_PER_CLIENT = 100;

function privateMessage(ctx: ServerContext, caller: Caller, rest: string): void {
  const [to = "", text = ""] = splitWords(rest, 1);
  if (to === "" || text === "") return sendUsage(caller, CHAT_COMMANDS, "pm");
  const target = ctx.hub.find(to);
  if (target === undefined) return storeForAccount(ctx, caller, to, text);
  ctx.recorder.record(caller, { kind: "user", peer: target }, [encoder.encode(neutralize(text))]);
  caller.send(okLine("pm", target.name));
}

/** A `:pm` to someone offline: kept for an account's next login, else `ERR no-such-user`. */
function storeForAccount(ctx: ServerContext, caller: Caller, to: string, text: string): void {
  const account = ctx.accounts.nameOf(to);
  if (account === undefined) {
    caller.send(errLine("no-such-user", `nobody called "${neutralize(to)}" is online`));
    return;
  }
  if (!ctx.mailbox.hasRoom(account, Date.now())) {
    caller.send(errLine("mailbox-full", `${account} has too many messages waiting; try later`));
    return;
  }
  ctx.recorder.record(caller, { kind: "offline", account }, [encoder.encode(neutralize(text))]);
  caller.send(okLine("pm", account, "stored"));
}

function group(ctx: ServerContext, caller: Caller, rest: string): void {
  const [sub = "", rawName = "", text = ""] = splitWords(rest, 2);
  const name = groupName(rawName);
  if (name === "" || !["create", "join", "leave", "members", "send"].includes(sub)) {
    return sendUsage(caller, CHAT_COMMANDS, "group");
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
      const lookalike = hub.groupLike(name);
      if (lookalike !== undefined) {
        caller.send(
          errLine("group-exists", `#${name} looks like #${lookalike.name}; pick another`),
        );
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
      if (text === "") return sendUsage(caller, CHAT_COMMANDS, "group");
      if (existing === undefined) return noSuchGroup(caller, name);
      if (!existing.members.has(peer)) return notMember(caller, existing);
      const route = { kind: "group", group: existing } as const;
      ctx.recorder.record(caller, route, [encoder.encode(neutralize(text))]);
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
  if (newName === "") return sendUsage(caller, CHAT_COMMANDS, "name");
  const peer = caller.peer;
  if (peer === undefined) {
    caller.send(errLine("not-allowed", "the console is always called server"));
    return;
  }
  const cluster = ctx.cluster;
  const session = caller.session;
  if (cluster === undefined || session === undefined || nameRefusal(ctx, newName, peer)) {
    if (applyRename(ctx, caller, peer, newName)) caller.send(okLine("name", newName));
    return;
  }
  // In a cluster the new name is claimed cluster-wide first, as a name line's is.
  session.defer(async () => {
    const claim = await cluster.claim(newName);
    if (claim === "ok" && applyRename(ctx, caller, peer, newName)) {
      caller.send(okLine("name", newName));
      return;
    }
    if (claim === "ok") cluster.release(newName);
    else if (claim === "taken") caller.send(errLine("name-taken", `"${newName}" is taken`));
    else caller.send(errLine("cluster-unavailable", "the cluster cannot check names now"));
  });
}
