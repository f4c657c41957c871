/**
 * A rename, by the client itself (`:name`) or by an admin (`:rename`): checked, applied to the
 * hub, announced, logged and emitted in one place.
 * @module
 */

import type { Caller, ConnectionHandle, ServerContext } from "../context.ts";
import type { Peer } from "../hub.ts";
import { errLine, nameProblem, neutralize, reservedText } from "../../protocol/grammar.ts";

/** Validates and applies a rename; reports the problem to `caller` and returns false if any. */
export function applyRename(
  ctx: ServerContext,
  caller: Caller,
  peer: Peer,
  newName: string,
): boolean {
  const problem = nameProblem(newName);
  if (problem !== undefined) {
    caller.send(errLine("bad-name", `${problem}; "${neutralize(newName)}" is not a valid name`));
    return false;
  }
  const reserved = ctx.hub.reservedLike(newName);
  if (reserved !== undefined) {
    caller.send(errLine("name-reserved", reservedText(newName, reserved)));
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
