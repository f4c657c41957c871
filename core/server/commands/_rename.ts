/**
 * A rename, by the client itself (`:name`) or by an admin (`:rename`): checked, applied to the
 * hub, announced, logged and emitted in one place.
 * @module
 */

import type { Caller, ConnectionHandle, ServerContext } from "../context.ts";
import type { Peer } from "../hub.ts";
import { errLine } from "../../protocol/grammar.ts";
import { nameRefusal } from "../_name_rules.ts";

/** Validates and applies a rename; reports the problem to `caller` and returns false if any. */
export function applyRename(
  ctx: ServerContext,
  caller: Caller,
  peer: Peer,
  newName: string,
): boolean {
  const refusal = nameRefusal(ctx, newName, peer);
  if (refusal !== undefined) {
    caller.send(errLine(refusal.code, refusal.text));
    return false;
  }
  if (peer.name === newName) return true;
  renamePeer(ctx, peer, newName);
  return true;
}

/** Renames `peer` (the name already checked), logs it and emits the `rename` event. */
export function renamePeer(ctx: ServerContext, peer: Peer, newName: string): void {
  const from = peer.name;
  ctx.hub.rename(peer, newName);
  ctx.log.conn.info("renamed {from} to {to}", { from, to: newName });
  const id = (peer as Partial<ConnectionHandle>).id ?? 0;
  ctx.events.emit("rename", { id, from, to: newName });
}
