/**
 * Admin commands: `:auth` (which grants admin rights), `:kick`, `:rename`, `:reload`,
 * `:shutdown`, `:stats`.
 * @module
 */

import type { Caller, ConnectionHandle, ServerContext } from "../context.ts";
import { errLine, formatLine, neutralize, okLine, splitWords } from "../../protocol/grammar.ts";
import { type ErrorCode, SwitchboardError } from "../../protocol/errors.ts";
import { applyRename } from "./_rename.ts";
import { maySendSecret, noteWrongSecret } from "./_secrets.ts";
import { type CommandFamily, sendUsage } from "./_spec.ts";

/** The admin commands. */
export const ADMIN_COMMANDS: CommandFamily = {
  auth: { needs: "none", usage: ":auth <token>", run: auth },
  kick: { needs: "admin", usage: ":kick <user> [reason]", run: kick },
  rename: { needs: "admin", usage: ":rename <old> <new>", run: adminRename },
  reload: { needs: "admin", usage: ":reload", run: reload },
  shutdown: {
    needs: "admin",
    usage: ":shutdown [node <slot>] [grace-seconds] [reason]",
    run: shutdown,
  },
  stats: { needs: "admin", usage: ":stats", run: stats },
};

function auth(ctx: ServerContext, caller: Caller, rest: string): void {
  const [token = ""] = splitWords(rest, 1);
  if (token === "") return sendUsage(caller, ADMIN_COMMANDS, "auth");
  if (!maySendSecret(ctx, caller, ":auth")) return;
  if (!ctx.checkToken(token)) {
    noteWrongSecret(ctx, caller, ":auth");
    caller.send(errLine("not-allowed", "wrong token"));
    return;
  }
  ctx.attempts.succeed(caller.ip);
  caller.admin = true;
  ctx.log.admin.info("admin rights granted to {name} ({peer})", {
    name: caller.name,
    peer: caller.address,
  });
  caller.send(okLine("auth", "admin"));
}

function adminRename(ctx: ServerContext, caller: Caller, rest: string): void {
  const [oldName = "", rawNewName = ""] = splitWords(rest, 1);
  const newName = rawNewName.trim();
  if (oldName === "" || newName === "") return sendUsage(caller, ADMIN_COMMANDS, "rename");
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

function kick(ctx: ServerContext, caller: Caller, rest: string): void {
  const [who = "", reason = ""] = splitWords(rest, 1);
  if (who === "") return sendUsage(caller, ADMIN_COMMANDS, "kick");
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

/**
 * `:reload`: `OK reload <applied> <needs-restart> <denied>` (counts; the log names the settings),
 * or `ERR bad-config :<problem>` with the configuration in force unchanged.
 */
function reload(ctx: ServerContext, caller: Caller): void {
  ctx.log.admin.info("reload requested by {name} ({peer})", {
    name: caller.name,
    peer: caller.address,
  });
  const answer = ctx.reload().then(
    (result) => okLine("reload", result.applied.length, result.needsRestart.length, result.denied),
    (error: unknown) => {
      const known = error instanceof SwitchboardError &&
        (error.code === "bad-config" || error.code === "disabled" ||
          error.code === "shutting-down");
      const code = (known ? error.code : "bad-config") as ErrorCode;
      return errLine(code, neutralize(error instanceof Error ? error.message : String(error)));
    },
  );
  // A client's reply waits for the reload, before its next line: replies stay in order.
  const session = caller.session;
  if (session === undefined) {
    void answer.then((line) => caller.send(line));
    return;
  }
  session.defer(async () => caller.send(await answer));
}

function shutdown(ctx: ServerContext, caller: Caller, rest: string): void {
  // `:shutdown node <slot> …` stops another node of a cluster (a reason may still start with
  // "node": only a number after it makes a slot).
  const [word = "", slot = "", afterSlot = ""] = splitWords(rest, 2);
  if (word === "node" && /^\d+$/.test(slot)) {
    return shutdownNode(ctx, caller, Number(slot), afterSlot);
  }
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

/**
 * `:shutdown node <slot> [grace] [reason]`: the node holding `slot` runs its graceful shutdown
 * (its own grace period unless one is given); this node's own slot stops this node.
 */
function shutdownNode(ctx: ServerContext, caller: Caller, slot: number, rest: string): void {
  const cluster = ctx.cluster;
  if (cluster === undefined) {
    return caller.send(errLine("no-such-node", "this server is not a cluster node"));
  }
  if (slot === cluster.state().slot) return shutdown(ctx, caller, rest);
  const [first = "", afterFirst = ""] = splitWords(rest, 1);
  const hasGrace = /^\d+(\.\d+)?$/.test(first);
  const grace = hasGrace ? Number(first) : undefined;
  const reason = neutralize((hasGrace ? afterFirst : rest).trim());
  ctx.log.admin.warning("shutdown of node {slot} requested by {name} ({peer})", {
    slot,
    name: caller.name,
    peer: caller.address,
  });
  const answer = cluster.shutdownNode(slot, grace, reason === "" ? undefined : reason).then(
    (outcome) => {
      if (outcome === "ok") return okLine("shutdown", "node", slot);
      if (outcome === "unavailable") {
        return errLine("cluster-unavailable", "the cluster cannot be reached now");
      }
      return errLine("no-such-node", `no node holds slot ${slot}`);
    },
  );
  const session = caller.session;
  if (session === undefined) void answer.then((line) => caller.send(line));
  else session.defer(async () => caller.send(await answer));
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
  const cluster = ctx.cluster;
  if (cluster === undefined) return caller.send(okLine("stats"));
  // In a cluster, every node's own counters follow: `STAT node.<slot>.<key> <value>`.
  const answer = cluster.nodeStats().then((nodes) => {
    for (const { slot, stats } of nodes) {
      for (const [key, value] of Object.entries(stats)) {
        caller.send(formatLine("STAT", [`node.${slot}.${key}`, value]));
      }
    }
    return okLine("stats");
  });
  const session = caller.session;
  if (session === undefined) void answer.then((line) => caller.send(line));
  else session.defer(async () => caller.send(await answer));
}
