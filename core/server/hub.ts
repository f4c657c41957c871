/**
 * Names, groups and routing. The hub decides who receives what; it never touches a socket:
 * a {@linkcode Peer} only has to accept bytes. A broadcast is one `Uint8Array` handed to every
 * recipient.
 * @module
 */

import { formatLine, nameKey } from "../protocol/grammar.ts";
import { nameSkeleton } from "../protocol/name_skeleton.ts";
import { encodeText } from "../util/byte_slab.ts";

/** Something the hub can route to: a named connection. */
export interface Peer {
  /** Display name, as the client spelled it. */
  name: string;
  /** The account the peer logged in to: its name is the account's and does not change. */
  account?: string | undefined;
  /** Wants message ids: `MSG` and `PM` lines as `@<id> MSG …` (`:ids on`). */
  readonly ids?: boolean;
  /** Groups this peer belongs to. */
  readonly groups: Set<Group>;
  /**
   * Queues bytes for this peer. Never throws; a peer that cannot take them closes itself.
   * `messages`: how many chat messages `bytes` holds (counted per connection for `/connz`).
   */
  deliver(bytes: Uint8Array, messages?: number): void;
  /**
   * Queues a presence line (`JOIN`, `LEAVE`, `KICK`, `PART`) to go out with this peer's next
   * write, or when {@linkcode Peer.sendSoon} is called (the hub calls it within
   * {@linkcode PRESENCE_DELAY_MS}). Absent: presence lines are delivered at once.
   */
  deliverSoon?(bytes: Uint8Array): void;
  /** Writes what {@linkcode Peer.deliverSoon} queued, if no write has taken it yet. */
  sendSoon?(): void;
}

/**
 * How long a presence line may wait for a write to join (ms). A client that is not otherwise
 * written to hears of arrivals and departures this much later; a busy one, or one that leaves
 * meanwhile, gets them in a write it makes anyway. Under connection churn, presence lines were a
 * write and a Nagle switch of their own for four sessions in ten.
 */
export const PRESENCE_DELAY_MS = 10;

/** A named set of peers; exists while it has members. */
export interface Group {
  /** Display name, without `#`. */
  readonly name: string;
  /** Members, in join order. */
  readonly members: Set<Peer>;
}

/** Options of {@linkcode Hub.remove}. */
export interface RemoveOptions {
  /** Set when the peer was kicked: the lobby hears `KICK <name> :<kickText>` instead of `LEAVE`. */
  kickText?: string | undefined;
  /** Announce the departure (false during shutdown, where it would only be noise). @default {true} */
  announce?: boolean;
}

/** Options of the {@linkcode Hub} constructor. */
export interface HubOptions {
  /** Online count up to which lobby announcements go to everyone. */
  announceLimit: number;
  /**
   * Names no client may take, nor any look-alike of them (see `nameSkeleton`); the console's
   * name `server` is always among them. @default {[]}
   */
  reservedNames?: readonly string[];
}

/**
 * Told of every change to the roster after it happened (a cluster publishes its own peers'
 * changes to the other nodes). Not called for messages: those pass the recording point.
 */
export interface HubObserver {
  /** `peer` was registered. */
  registered(peer: Peer): void;
  /** `peer` was called `oldName`. */
  renamed(peer: Peer, oldName: string): void;
  /** `peer` left for `reason` (kicked when `kickText` is set). */
  removed(peer: Peer, reason: string, kickText: string | undefined): void;
  /** `peer` joined or created `group`. */
  joined(peer: Peer, group: Group): void;
  /** `peer` left `group` for `reason`. */
  left(peer: Peer, group: Group, reason: string): void;
}

/** The console's name: reserved whatever the configured list says, as console lines come from it. */
export const CONSOLE_NAME = "server";

/**
 * The registry of named peers and groups.
 *
 * @example
 * ```ts
 * import { Hub, type Peer } from "./hub.ts";
 * const inbox: string[] = [];
 * const peer = (name: string): Peer => ({ name, groups: new Set(), deliver: (b) => inbox.push(`${name}<${new TextDecoder().decode(b)}`) });
 * const hub = new Hub({ announceLimit: 100 });
 * const alice = peer("alice"), bob = peer("bob");
 * hub.register(alice); hub.register(bob);
 * hub.broadcast(new TextEncoder().encode("MSG alice * :hi\n"), alice);
 * console.assert(inbox.at(-1) === "bob<MSG alice * :hi\n");
 * ```
 */
export class Hub {
  // Lookups (`find`, `:pm`, `:kick`) go by nameKey: exact but for case. Uniqueness goes by
  // skeleton, so a look-alike of an online name or group is refused like the name itself.
  readonly #peers = new Map<string, Peer>();
  readonly #peerSkeletons = new Map<string, Peer>();
  readonly #groups = new Map<string, Group>();
  readonly #groupSkeletons = new Map<string, Group>();
  readonly #reserved = new Map<string, string>();
  /** Peers with presence lines queued to send soon (see {@linkcode Peer.deliverSoon}). */
  readonly #soon = new Set<Peer>();
  #soonTimer: ReturnType<typeof setTimeout> | undefined;
  /** Presence lines wait for a write to join; off once the server stops. */
  #deferring = true;
  /** Online count up to which lobby announcements go to everyone. */
  announceLimit: number;
  /** Told of roster changes (a cluster); see {@linkcode HubObserver}. */
  observer: HubObserver | undefined;

  /** Creates an empty hub. */
  constructor(options: HubOptions) {
    this.announceLimit = options.announceLimit;
    this.reserve(options.reservedNames ?? []);
  }

  /**
   * Replaces the reserved names (a reload): `names` and the console's name. Peers already online
   * under a newly reserved name keep it; only new registrations and renames are checked.
   */
  reserve(names: readonly string[]): void {
    this.#reserved.clear();
    for (const name of [CONSOLE_NAME, ...names]) this.#reserved.set(nameSkeleton(name), name);
  }

  /** Named peers online. */
  get online(): number {
    return this.#peers.size;
  }

  /** Every named peer, in registration order. */
  peers(): IterableIterator<Peer> {
    return this.#peers.values();
  }

  /** Every group, in creation order. */
  groups(): IterableIterator<Group> {
    return this.#groups.values();
  }

  /** The peer with this name (any case), if online. */
  find(name: string): Peer | undefined {
    return this.#peers.get(nameKey(name));
  }

  /** The group with this name (any case, without `#`). */
  findGroup(name: string): Group | undefined {
    return this.#groups.get(nameKey(name));
  }

  /**
   * True when a peer already uses this name or a look-alike of it: the same skeleton, so case
   * and confusable characters (`aIice` for `alice`) do not count as different. `except` may
   * keep its own name, or change it to a look-alike of itself.
   */
  isTaken(name: string, except?: Peer): boolean {
    const holder = this.#peerSkeletons.get(nameSkeleton(name));
    return holder !== undefined && holder !== except;
  }

  /** The peer whose name is `name` or a look-alike of it (same skeleton), if one is online. */
  holderLike(name: string): Peer | undefined {
    return this.#peerSkeletons.get(nameSkeleton(name));
  }

  /** The reserved name that `name` is, or imitates; `undefined` when it is free to take. */
  reservedLike(name: string): string | undefined {
    return this.#reserved.get(nameSkeleton(name));
  }

  /** The group whose name `name` is, or imitates (same skeleton), if there is one. */
  groupLike(name: string): Group | undefined {
    return this.#groupSkeletons.get(nameSkeleton(name));
  }

  /** Adds a peer under its (validated, free) name and announces `JOIN` to the lobby. */
  register(peer: Peer): void {
    this.#peers.set(nameKey(peer.name), peer);
    this.#peerSkeletons.set(nameSkeleton(peer.name), peer);
    if (this.#announcesToAll()) this.#toAll(formatLine("JOIN", [peer.name]), peer);
    this.observer?.registered(peer);
  }

  /** Renames a peer and announces `NICK` (always to the peer itself). */
  rename(peer: Peer, newName: string): void {
    const oldName = peer.name;
    this.#peers.delete(nameKey(oldName));
    this.#peerSkeletons.delete(nameSkeleton(oldName));
    peer.name = newName;
    this.#peers.set(nameKey(newName), peer);
    this.#peerSkeletons.set(nameSkeleton(newName), peer);
    const line = encodeText(formatLine("NICK", [oldName, newName]));
    if (this.#announcesToAll()) this.broadcast(line);
    else this.#toConcerned(peer, line, true);
    this.observer?.renamed(peer, oldName);
  }

  /**
   * Removes a peer: it leaves every group (members get `PART <name> #g <reason>`) and the lobby
   * hears `LEAVE <name> <reason>`, or `KICK <name> :<text>` when it was kicked.
   */
  remove(peer: Peer, reason: string, options: RemoveOptions = {}): void {
    if (this.#peers.get(nameKey(peer.name)) !== peer) return;
    // Counted with the leaver, as its JOIN was: a roster that saw no JOIN sees no LEAVE.
    const toAll = (options.announce ?? true) && this.#announcesToAll();
    this.#peers.delete(nameKey(peer.name));
    this.#peerSkeletons.delete(nameSkeleton(peer.name));
    // What waits for it goes now, and the hub lets go of it: held until the timer, a connection
    // that closed meanwhile outlived young-generation collections and was promoted (bytes promoted
    // under churn, 40 000 sessions: 80 MB before, 66 MB after; full collections 4 → 3).
    if (this.#soon.delete(peer)) peer.sendSoon?.();
    for (const group of [...peer.groups]) this.leave(peer, group, reason, options.announce ?? true);
    const kickText = options.kickText;
    this.observer?.removed(peer, reason, kickText);
    if (!toAll) return;
    const line = kickText === undefined
      ? formatLine("LEAVE", [peer.name, reason])
      : formatLine("KICK", [peer.name], kickText);
    this.#toAll(line);
  }

  /**
   * Queues message lines to every named peer except `except`: `wire` as it is, or to peers that
   * want ids, `withIds()` (made once, when the first such peer comes). Returns the recipients.
   */
  broadcastMessages(
    wire: Uint8Array,
    except: Peer | undefined,
    withIds: () => Uint8Array,
    messages = 1,
  ): number {
    return deliverMessages(this.#peers.values(), wire, except, withIds, messages);
  }

  /** {@linkcode Hub.broadcastMessages} to a group's members. */
  groupMessages(
    group: Group,
    wire: Uint8Array,
    except: Peer | undefined,
    withIds: () => Uint8Array,
    messages = 1,
  ): number {
    return deliverMessages(group.members, wire, except, withIds, messages);
  }

  /**
   * Puts `next` in the place of `peer`, unseen by everyone else (a resumed session): the same
   * name, the same groups in the same order, no `JOIN`, `LEAVE` or `PART`. `next` takes `peer`'s
   * name; its own groups set must be empty.
   */
  swap(peer: Peer, next: Peer): void {
    next.name = peer.name;
    if (this.#peers.get(nameKey(peer.name)) === peer) this.#peers.set(nameKey(peer.name), next);
    if (this.#peerSkeletons.get(nameSkeleton(peer.name)) === peer) {
      this.#peerSkeletons.set(nameSkeleton(peer.name), next);
    }
    for (const group of peer.groups) {
      const members = [...group.members].map((member) => member === peer ? next : member);
      group.members.clear();
      for (const member of members) group.members.add(member);
      next.groups.add(group);
    }
    peer.groups.clear();
  }

  /** Queues `bytes` to every named peer except `except`; returns how many received it. */
  broadcast(bytes: Uint8Array, except?: Peer): number {
    let count = 0;
    for (const peer of this.#peers.values()) {
      if (peer === except) continue;
      peer.deliver(bytes);
      count++;
    }
    return count;
  }

  /**
   * Creates a group with `peer` as its first member. Returns undefined if the name, or a
   * look-alike of it ({@linkcode Hub.groupLike}), exists.
   */
  createGroup(name: string, peer: Peer): Group | undefined {
    const skeleton = nameSkeleton(name);
    if (this.#groupSkeletons.has(skeleton)) return undefined;
    const group: Group = { name, members: new Set([peer]) };
    this.#groups.set(nameKey(name), group);
    this.#groupSkeletons.set(skeleton, group);
    peer.groups.add(group);
    this.observer?.joined(peer, group);
    return group;
  }

  /** Adds a peer to a group; members already in it hear `JOIN <name> #<group>`. */
  join(peer: Peer, group: Group): void {
    if (group.members.has(peer)) return;
    this.#presence(encodeText(formatLine("JOIN", [peer.name, `#${group.name}`])), group.members);
    group.members.add(peer);
    peer.groups.add(group);
    this.observer?.joined(peer, group);
  }

  /** Removes a peer from a group (members hear `PART`); an empty group is deleted. */
  leave(peer: Peer, group: Group, reason: string, announce = true): void {
    if (!group.members.delete(peer)) return;
    peer.groups.delete(group);
    this.observer?.left(peer, group, reason);
    if (group.members.size === 0) {
      this.#groups.delete(nameKey(group.name));
      this.#groupSkeletons.delete(nameSkeleton(group.name));
      return;
    }
    if (announce) {
      this.#presence(
        encodeText(formatLine("PART", [peer.name, `#${group.name}`, reason])),
        group.members,
      );
    }
  }

  #announcesToAll(): boolean {
    return this.#peers.size <= this.announceLimit;
  }

  #toAll(line: string, except?: Peer): void {
    this.#presence(encodeText(line), this.#peers.values(), except);
  }

  /** Queues a presence line to `peers` but `except`, to go out soon (see `PRESENCE_DELAY_MS`). */
  #presence(bytes: Uint8Array, peers: Iterable<Peer>, except?: Peer): void {
    const soon = this.#soon;
    for (const peer of peers) {
      if (peer === except) continue;
      if (this.#deferring && peer.deliverSoon !== undefined) {
        peer.deliverSoon(bytes);
        soon.add(peer);
      } else peer.deliver(bytes);
    }
    if (soon.size > 0 && this.#soonTimer === undefined) {
      this.#soonTimer = setTimeout(this.#sendSoon, PRESENCE_DELAY_MS);
    }
  }

  readonly #sendSoon = (): void => {
    clearTimeout(this.#soonTimer);
    this.#soonTimer = undefined;
    for (const peer of this.#soon) peer.sendSoon?.();
    this.#soon.clear();
  };

  /** Sends the presence lines waiting, and from now on sends them at once (the server stops). */
  close(): void {
    this.#deferring = false;
    this.#sendSoon();
  }

  /** The peer itself (optionally) and everyone sharing a group with it, each once. */
  #toConcerned(peer: Peer, bytes: Uint8Array, includeSelf: boolean): void {
    const seen = new Set<Peer>();
    if (includeSelf) seen.add(peer);
    for (const group of peer.groups) for (const member of group.members) seen.add(member);
    if (!includeSelf) seen.delete(peer);
    for (const member of seen) member.deliver(bytes);
  }
}

/** Queues `wire` (or, to peers that want ids, `withIds()`, made once) to `peers` but `except`. */
function deliverMessages(
  peers: Iterable<Peer>,
  wire: Uint8Array,
  except: Peer | undefined,
  withIds: () => Uint8Array,
  messages: number,
): number {
  let count = 0;
  let idsWire: Uint8Array | undefined;
  for (const peer of peers) {
    if (peer === except) continue;
    peer.deliver(peer.ids === true ? (idsWire ??= withIds()) : wire, messages);
    count++;
  }
  return count;
}
