/**
 * The users of other nodes, as this node's hub holds them: each is a {@linkcode RemotePeer}
 * registered in the hub like a local peer, so `:list`, `:groups`, `:group members`, `:pm` and
 * the `JOIN`/`LEAVE`/`PART` lines work on the whole cluster unchanged. A remote peer takes no
 * bytes (its own node delivers to it); the hub's loops skip it at the cost of one call.
 *
 * Roster events (`<cluster>.presence`, JSON) carry the origin node's changes; a `roster` event
 * is a node's whole roster (sent when a node says hello), applied as a difference. A roster goes
 * in chunks of {@linkcode ROSTER_CHUNK} users (one NATS message holds 1 MiB by default, about
 * 40 000 users): chunks `part` 0, 1, … of one `serial`, the final one with `last: true`. The
 * difference is applied once the last chunk of a serial is in, all parts present; a roster with
 * a part missing (a failover) is not applied: the next one will be.
 * @module
 */

import type { Group, Hub, Peer } from "../server/hub.ts";
import { nameKey } from "../protocol/grammar.ts";

/** A user of another node. */
export class RemotePeer implements Peer {
  name: string;
  readonly groups: Set<Group> = new Set();
  /** The instance id of the node the user is on. */
  readonly node: string;
  /** Asks the user's node to close the connection (`:kick`). */
  readonly #close: (peer: RemotePeer, reason: string, text: string) => Promise<void>;

  /** A user `name` on node `node`. */
  constructor(
    name: string,
    node: string,
    close: (peer: RemotePeer, reason: string, text: string) => Promise<void>,
  ) {
    this.name = name;
    this.node = node;
    this.#close = close;
  }

  /** Its own node delivers to it. */
  deliver(): void {}

  /** Closes the user's connection on its node (`:kick`); the `LEAVE`/`KICK` comes from there. */
  close(reason: string, text: string): Promise<void> {
    return this.#close(this, reason, text);
  }
}

/** One roster change. */
export type RosterEvent =
  | { op: "join"; node: string; name: string }
  | { op: "leave"; node: string; name: string; reason: string; kick?: string | undefined }
  | { op: "rename"; node: string; name: string; from: string }
  | { op: "gjoin"; node: string; name: string; group: string }
  | { op: "gpart"; node: string; name: string; group: string; reason: string }
  | {
    op: "roster";
    node: string;
    users: [string, string[]][];
    /** Which roster of its node this chunk belongs to (absent: the whole roster in one). */
    serial?: number;
    /** This chunk's place, from 0. */
    part?: number;
    /** False on every chunk but the last. */
    last?: boolean;
  }
  /** A session of another node was resumed on `node`: its user is there now, with `groups`. */
  | { op: "move"; node: string; name: string; groups: string[] };

/** Users per roster chunk: about 50 KiB of JSON with short names and a few groups. */
export const ROSTER_CHUNK = 2000;

/**
 * `users` of `node` as the roster events that carry them: chunks of at most `size` users of
 * roster `serial`, the last one marked (an empty roster is one empty chunk: it removes all).
 */
export function rosterChunks(
  node: string,
  users: readonly [string, string[]][],
  serial: number,
  size: number = ROSTER_CHUNK,
): RosterEvent[] {
  const step = Math.max(1, Math.floor(size));
  const chunks: RosterEvent[] = [];
  for (let part = 0, at = 0; part === 0 || at < users.length; part++, at += step) {
    const last = at + step >= users.length;
    chunks.push({ op: "roster", node, users: users.slice(at, at + step), serial, part, last });
  }
  return chunks;
}

/** The remote users, by node; applies roster events to the hub. */
export class Roster {
  readonly #hub: Hub;
  readonly #byNode = new Map<string, Set<RemotePeer>>();
  /** Chunks of a roster still arriving, by node. */
  readonly #pending = new Map<
    string,
    { serial: number; next: number; users: [string, string[]][] }
  >();
  readonly #close: (peer: RemotePeer, reason: string, text: string) => Promise<void>;

  /** A roster over `hub`; `close` kicks a remote user. */
  constructor(hub: Hub, close: (peer: RemotePeer, reason: string, text: string) => Promise<void>) {
    this.#hub = hub;
    this.#close = close;
  }

  /** The remote peer `name` of `node`, if known. */
  find(name: string, node?: string): RemotePeer | undefined {
    const peer = this.#hub.find(name);
    if (!(peer instanceof RemotePeer)) return undefined;
    return node === undefined || peer.node === node ? peer : undefined;
  }

  /** How many remote users there are. */
  get size(): number {
    let count = 0;
    for (const peers of this.#byNode.values()) count += peers.size;
    return count;
  }

  /** The nodes that have users here. */
  nodes(): IterableIterator<string> {
    return this.#byNode.keys();
  }

  /** True while an event from another node is being applied (its changes are not this node's). */
  applying = false;

  /** Applies one event. */
  apply(event: RosterEvent): void {
    this.applying = true;
    try {
      this.#apply(event);
    } finally {
      this.applying = false;
    }
  }

  #apply(event: RosterEvent): void {
    const hub = this.#hub;
    switch (event.op) {
      case "join":
        this.#join(event.node, event.name);
        return;
      case "leave": {
        const peer = this.find(event.name, event.node);
        if (peer === undefined) return;
        this.#byNode.get(peer.node)?.delete(peer);
        hub.remove(peer, event.reason, { kickText: event.kick });
        return;
      }
      case "rename": {
        const peer = this.find(event.from, event.node);
        if (peer !== undefined && !hub.isTaken(event.name, peer)) hub.rename(peer, event.name);
        return;
      }
      case "gjoin": {
        const peer = this.find(event.name, event.node);
        if (peer !== undefined) this.#joinGroup(peer, event.group);
        return;
      }
      case "gpart": {
        const peer = this.find(event.name, event.node);
        const group = hub.findGroup(event.group);
        if (peer !== undefined && group !== undefined) hub.leave(peer, group, event.reason);
        return;
      }
      case "move": {
        const peer = hub.find(event.name);
        if (peer instanceof RemotePeer) {
          if (peer.node !== event.node) hub.swap(peer, this.adopt(peer.name, event.node, peer));
          return;
        }
        // Gone already here (its node was lost): it comes back.
        if (peer !== undefined) return;
        const joined = this.#join(event.node, event.name);
        if (joined !== undefined) {
          for (const group of event.groups) {
            this.#joinGroup(joined, group);
          }
        }
        return;
      }
      case "roster": {
        const users = this.#whole(event);
        if (users === undefined) return;
        const listed = new Set<RemotePeer>();
        for (const [name, groups] of users) {
          const peer = this.#join(event.node, name);
          if (peer === undefined) continue;
          listed.add(peer);
          for (const group of groups) this.#joinGroup(peer, group);
        }
        for (const peer of [...this.#byNode.get(event.node) ?? []]) {
          if (!listed.has(peer)) this.drop(peer, "quit");
        }
        return;
      }
    }
  }

  /**
   * A remote peer for user `name` of `node`, counted as that node's but not put in the hub: the
   * caller swaps it in for the user's current peer (`hub.swap`), silently. `replacing`, a remote
   * peer of another node, stops being counted there.
   */
  adopt(name: string, node: string, replacing?: RemotePeer): RemotePeer {
    if (replacing !== undefined) this.forget(replacing);
    const peer = new RemotePeer(name, node, this.#close);
    let set = this.#byNode.get(node);
    if (set === undefined) this.#byNode.set(node, set = new Set());
    set.add(peer);
    return peer;
  }

  /** Stops counting `peer` (a local connection took its place in the hub). */
  forget(peer: RemotePeer): void {
    this.#byNode.get(peer.node)?.delete(peer);
  }

  /** The users of `node` with the names of their groups, by case-folded name. */
  usersOf(node: string): Map<string, string[]> {
    const users = new Map<string, string[]>();
    for (const peer of this.#byNode.get(node) ?? []) {
      users.set(nameKey(peer.name), [...peer.groups].map((group) => group.name));
    }
    return users;
  }

  /**
   * The whole roster once `event` completes it (its last chunk, every part before it in), else
   * `undefined` (more to come, or a part was missed).
   */
  #whole(event: Extract<RosterEvent, { op: "roster" }>): [string, string[]][] | undefined {
    if (event.serial === undefined) return event.users;
    const part = event.part ?? 0;
    let pending = this.#pending.get(event.node);
    if (part === 0) pending = { serial: event.serial, next: 0, users: [] };
    this.#pending.delete(event.node);
    if (pending === undefined || pending.serial !== event.serial || pending.next !== part) {
      return undefined;
    }
    for (const user of event.users) pending.users.push(user);
    pending.next++;
    if (event.last !== false) return pending.users;
    this.#pending.set(event.node, pending);
    return undefined;
  }

  /** Removes every user of `node` (it stopped answering): `LEAVE <name> <reason>`. */
  dropNode(node: string, reason: string): RemotePeer[] {
    this.#pending.delete(node);
    const peers = [...this.#byNode.get(node) ?? []];
    for (const peer of peers) this.drop(peer, reason);
    this.#byNode.delete(node);
    return peers;
  }

  /** Removes one remote user. */
  drop(peer: RemotePeer, reason: string): void {
    this.#byNode.get(peer.node)?.delete(peer);
    this.#hub.remove(peer, reason);
  }

  #join(node: string, name: string): RemotePeer | undefined {
    const existing = this.#hub.find(name);
    if (existing instanceof RemotePeer && existing.node === node) return existing;
    // Held here already (a clash the name leases settle): the holder stays.
    if (this.#hub.isTaken(name)) return undefined;
    const peer = new RemotePeer(name, node, this.#close);
    let set = this.#byNode.get(node);
    if (set === undefined) this.#byNode.set(node, set = new Set());
    set.add(peer);
    this.#hub.register(peer);
    return peer;
  }

  #joinGroup(peer: RemotePeer, name: string): void {
    const hub = this.#hub;
    const group = hub.findGroup(name);
    if (group === undefined) hub.createGroup(name, peer);
    else hub.join(peer, group);
  }
}
