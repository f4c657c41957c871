/**
 * Routing between the bus and the hub: which subject a recorded batch is published on, and how a
 * batch from another node is delivered here (the same bytes, through `Recorder.relay`).
 * @module
 */

import type { CongestionGate } from "../server/congestion.ts";
import type { Hub } from "../server/hub.ts";
import type { RecordedBatch, Recorder } from "../server/record.ts";
import { RemotePeer } from "./roster.ts";
import { Subjects } from "./subjects.ts";
import { decodeBatch } from "./wire.ts";

/**
 * The subject a batch recorded here goes to, or `undefined` when it stays on this node (relayed
 * from elsewhere, a private message to a local user, an offline message).
 */
export function subjectOf(batch: RecordedBatch, subjects: Subjects): string | undefined {
  // Relayed batches came from the bus: publishing them again would echo them around the cluster
  // (a console line, or a sender whose `JOIN` has not arrived, has no remote peer to tell by).
  if (batch.relayed === true || batch.sender instanceof RemotePeer) return undefined;
  switch (batch.route.kind) {
    case "lobby":
      return subjects.lobby;
    case "group":
      return subjects.group(batch.route.group.name);
    case "user":
      return batch.route.peer instanceof RemotePeer
        ? subjects.user(batch.route.peer.name)
        : undefined;
    default:
      return undefined;
  }
}

/** What relaying needs from the server. */
export interface RelayParts {
  readonly hub: Hub;
  readonly recorder: Recorder;
  readonly gate: CongestionGate;
}

/**
 * Delivers a batch another node published on `subject` to this node's lobby, group members or
 * user, as that node delivered it to its own. Returns false when nobody here is concerned.
 */
export function relayBatch(
  parts: RelayParts,
  kind: "lobby" | "group" | "user",
  subject: string,
  data: Uint8Array,
): boolean {
  const batch = decodeBatch(data);
  if (batch === undefined) return false;
  const hub = parts.hub;
  let route: RecordedBatch["route"];
  let target: string;
  if (kind === "lobby") {
    route = { kind: "lobby" };
    target = "*";
  } else if (kind === "group") {
    const group = hub.findGroup(Subjects.nameIn(subject));
    if (group === undefined) return false;
    route = { kind: "group", group };
    target = `#${group.name}`;
  } else {
    const peer = hub.find(Subjects.nameIn(subject));
    if (peer === undefined) return false;
    route = { kind: "user", peer };
    target = peer.name;
    if (peer instanceof RemotePeer) {
      // For a user of another node: kept only, in case its session is resumed here.
      parts.recorder.relay(
        { ...batch, route, target, sender: hub.find(batch.from) },
        false,
      );
      return false;
    }
  }
  const sender = hub.find(batch.from);
  // A full queue takes relayed bytes (up to a bound): their sender is held on its own node.
  parts.gate.relaying = true;
  try {
    parts.recorder.relay({ ...batch, route, target, sender });
  } finally {
    parts.gate.relaying = false;
  }
  return true;
}
