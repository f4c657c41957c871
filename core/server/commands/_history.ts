/**
 * `:history [*|#group] [n] [before <id>]`: the stored lobby or group messages, as
 * `HISTORY <id> <time> <from> <target> :<text>` lines, oldest first, then `OK history <count>`.
 * A group's history is for its members only. Lines go out paced (`Session.sendPaced`), so a
 * thousand of them never overfill the caller's queue nor hold anyone else back.
 * @module
 */

import type { Caller, ServerContext } from "../context.ts";
import type { HistoryEntry } from "../history/store.ts";
import { errLine, formatLine, groupName, neutralize, okLine } from "../../protocol/grammar.ts";
import { type CommandFamily, sendUsage } from "./_spec.ts";

/** The history command. */
export const HISTORY_COMMANDS: CommandFamily = {
  history: { needs: "name", usage: ":history [*|#group] [n] [before <id>]", run: history },
};

/** Messages `:history` sends when no count is given. */
export const DEFAULT_HISTORY_LINES = 50;
/** Messages one `:history` sends at most; a larger count is cut to it. */
export const MAX_HISTORY_LINES = 1000;

/** Characters of `HISTORY` lines queued at once. */
const PIECE_CHARS = 16 * 1024;

/** A parsed `:history` request. */
interface HistoryRequest {
  /** `*` or the group's name (without `#`). */
  readonly target: string;
  readonly limit: number;
  readonly before: number | undefined;
}

/** The request in `rest`, or `undefined` when it does not follow the usage. */
export function parseHistoryArgs(rest: string): HistoryRequest | undefined {
  const words = rest.trim().split(/\s+/).filter((word) => word !== "");
  let target = "*";
  let limit = DEFAULT_HISTORY_LINES;
  let before: number | undefined;
  let at = 0;
  const first = words[0];
  if (first === "*") at++;
  else if (first?.startsWith("#")) {
    target = groupName(first);
    if (target === "") return undefined;
    at++;
  }
  if (words[at] !== undefined && /^[0-9]+$/.test(words[at]!)) {
    limit = Math.min(MAX_HISTORY_LINES, Number(words[at]));
    if (limit < 1) return undefined;
    at++;
  }
  if (words[at]?.toLowerCase() === "before") {
    const id = words[at + 1];
    if (id === undefined || !/^[0-9]{1,15}$/.test(id)) return undefined;
    before = Number(id);
    at += 2;
  }
  return at === words.length ? { target, limit, before } : undefined;
}

/** `HISTORY <id> <time> <from> <target> :<text>`, the time in ISO 8601 UTC with milliseconds. */
export function historyLine(entry: HistoryEntry): string {
  return formatLine("HISTORY", [
    entry.id,
    new Date(entry.time).toISOString(),
    entry.from,
    entry.target,
  ], entry.text);
}

function history(ctx: ServerContext, caller: Caller, rest: string): void {
  const request = parseHistoryArgs(rest);
  if (request === undefined) return sendUsage(caller, HISTORY_COMMANDS, "history");
  const store = ctx.history;
  if (store === undefined) {
    caller.send(errLine("disabled", "this server keeps no history"));
    return;
  }
  let target = "*";
  if (request.target !== "*") {
    const group = ctx.hub.findGroup(request.target);
    const peer = caller.peer;
    // Only members: whether a group exists is no secret (:groups), what it said is.
    if (group === undefined || peer === undefined || !group.members.has(peer)) {
      const name = neutralize(request.target);
      caller.send(errLine("not-allowed", `only members of #${name} may read its history`));
      return;
    }
    target = `#${group.name}`;
  }
  let entries: HistoryEntry[];
  try {
    entries = store.query(target, request.limit, request.before);
  } catch (error) {
    ctx.log.server.error("history: reading failed: {error}", { error: String(error) });
    caller.send(errLine("io-error", "the history cannot be read now"));
    return;
  }
  const session = caller.session;
  if (session === undefined) {
    // The console: its replies are collected, not queued to a socket.
    for (const entry of entries) caller.send(historyLine(entry));
    caller.send(okLine("history", entries.length));
    return;
  }
  session.defer(async (signal) => {
    // Lines go out in pieces of about 16 KiB, each paced: few awaits, and never a big string.
    let piece = "";
    for (const entry of entries) {
      piece += historyLine(entry);
      if (piece.length >= PIECE_CHARS) {
        if (!await session.sendPaced(piece, signal)) return;
        piece = "";
      }
    }
    if (piece !== "" && !await session.sendPaced(piece, signal)) return;
    caller.send(okLine("history", entries.length));
  });
}
