/**
 * The messages a resumed session may have missed: the last lobby, group and private messages, in
 * id order, kept as the wire bytes every recipient was sent (no copy is made: the recording point
 * encodes a batch once and hands the same buffer to the queues and to this keeper).
 *
 * Bounded two ways: by bytes (`maxBytes`, oldest first out) and by age (`maxAgeMs`, what the
 * resume grace needs). Batches recorded while no session can resume (no connection has ids on,
 * nobody is held) are not kept at all. Either way, {@linkcode RecentMessages.keptFrom} says
 * whether everything from a position on is still here: a resume that would need a message no longer
 * kept fails instead of skipping it silently.
 * @module
 */

import { prefixIds, type RecordedBatch } from "./record.ts";
import type { Group, Peer } from "./hub.ts";
import { nameKey } from "../protocol/grammar.ts";
import { idSlot } from "../protocol/message_ids.ts";

/**
 * One recorded batch, with who sent it and to whom as session numbers (see `sessions.ts`). Only
 * what a replay needs is kept: holding the batch itself would keep its sender's and recipient's
 * connections (and their buffers) alive for as long as the entry lives.
 */
interface Entry {
  readonly firstId: number;
  readonly count: number;
  readonly time: number;
  /** The wire lines, shared with the queues they were sent to. */
  readonly wire: Uint8Array;
  /** A private message (to `to`), not a lobby or group one. */
  readonly private: boolean;
  /** Its first message's position in arrival order (see {@linkcode RecentMessages.position}). */
  readonly pos: number;
  /** The sender's session, if it has one. */
  readonly from: number | undefined;
  /** The recipient's session, for a private message. */
  readonly to: number | undefined;
  /** The group, for a group message. */
  readonly group: Group | undefined;
  /** The slot of the node that recorded it (see `message_ids.ts`). */
  readonly slot: number;
  /** The sender's name, case-folded: a session resumed from another node is named, not numbered. */
  readonly fromKey: string;
  /** The recipient's name, case-folded, for a private message. */
  readonly toKey: string | undefined;
}

/** Who a replay is for: its session, and the groups it is in. */
export interface ReplayTarget {
  /** The session's number (as `sessionOf` returns it). */
  readonly session: number;
  /** Its groups. */
  readonly groups: ReadonlySet<Group>;
}

/** Who a replay for a session of another node is for: its name and its groups here. */
export interface NamedReplayTarget {
  /** The session's name. */
  readonly name: string;
  /** Its groups, as this node's hub holds them. */
  readonly groups: ReadonlySet<Group>;
}

/** The recent messages; see the module comment. */
export class RecentMessages {
  readonly #entries: Entry[] = [];
  #head = 0;
  #bytes = 0;
  /** Every position below this one may be missing: evicted, or recorded while nothing was kept. */
  #gapPos = 0;
  /** Every message recorded since this time (ms) is kept: nothing later was evicted or skipped. */
  #keptSince = Date.now();
  #nextPos = 0;
  readonly #maxBytes: number;
  readonly #maxAgeMs: number;
  readonly #sessionOf: (peer: Peer | undefined) => number | undefined;

  /**
   * Keeps at most `maxBytes` of wire bytes, none older than `maxAgeMs`. `sessionOf` names the
   * session a peer belongs to (it is asked when a batch is kept: peers change, sessions stay).
   */
  constructor(
    maxBytes: number,
    maxAgeMs: number,
    sessionOf: (peer: Peer | undefined) => number | undefined,
  ) {
    this.#maxBytes = maxBytes;
    this.#maxAgeMs = maxAgeMs;
    this.#sessionOf = sessionOf;
  }

  /** Bytes kept. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Keeps `batch`. */
  add(batch: RecordedBatch): void {
    const route = batch.route;
    // Held for an account's next login by the mailbox, not for a resume.
    if (route.kind === "offline") return;
    this.#entries.push({
      firstId: batch.firstId,
      count: batch.count,
      time: batch.time,
      wire: batch.wire,
      private: route.kind === "user",
      pos: this.#nextPos,
      from: this.#sessionOf(batch.sender),
      to: route.kind === "user" ? this.#sessionOf(route.peer) : undefined,
      group: route.kind === "group" ? route.group : undefined,
      slot: idSlot(batch.firstId),
      fromKey: nameKey(batch.from),
      toKey: route.kind === "user" ? nameKey(route.peer.name) : undefined,
    });
    this.#nextPos += batch.count;
    this.#bytes += batch.wire.length;
    this.#evict(batch.time);
  }

  /** Notes that `batch` was not kept (nobody could resume): its messages are a gap. */
  skip(batch: RecordedBatch): void {
    this.#gapPos = this.#nextPos += batch.count;
    this.#keptSince = Math.max(this.#keptSince, batch.time + 1);
  }

  /**
   * The position the next message will have: messages are counted in the order they arrived
   * here. On one server that is the order of the ids; in a cluster, messages relayed from other
   * nodes keep their own ids, so a resume goes by position, not by comparing ids.
   */
  get position(): number {
    return this.#nextPos;
  }

  /** The position just after the kept message `id`, or `undefined` if it is not kept. */
  positionAfter(id: number): number | undefined {
    for (let i = this.#entries.length - 1; i >= this.#head; i--) {
      const { firstId, count, pos } = this.#entries[i]!;
      if (id >= firstId && id < firstId + count) return pos + id - firstId + 1;
    }
    return undefined;
  }

  /** Whether every message from position `pos` on is still kept (or was never needed). */
  keptFrom(pos: number): boolean {
    return pos >= this.#gapPos;
  }

  /**
   * The messages addressed to `target` from position `fromPos` on, in order, as `@<id> <line>`
   * wire bytes: lobby messages it did not send, messages to its groups it did not send, private
   * messages to it. Returns the buffers and how many messages they hold.
   */
  replay(target: ReplayTarget, fromPos: number): { parts: Uint8Array[]; count: number } {
    const parts: Uint8Array[] = [];
    let count = 0;
    for (let i = this.#head; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      const { pos, wire } = entry;
      if (pos + entry.count <= fromPos) continue;
      const addressed = entry.private
        ? entry.to === target.session
        : entry.from !== target.session &&
          (entry.group === undefined || target.groups.has(entry.group));
      if (!addressed) continue;
      const skip = Math.max(0, fromPos - pos);
      parts.push(prefixIds(skip === 0 ? wire : dropLines(wire, skip), entry.firstId + skip));
      count += entry.count - skip;
    }
    return { parts, count };
  }

  /**
   * The messages for a session another node held, which this node cannot number: everything
   * addressed to `target` (by name) that the session had not seen, as `@<id> <line>` bytes in
   * the order they arrived here. `seen` is the newest id the client saw from each node's slot
   * (one node's messages arrive everywhere in the order of their ids, so that describes exactly
   * what it saw); slots it saw nothing from replay what they recorded since `since` (the session's
   * start). Returns `undefined` when some of those messages are no longer kept.
   */
  replayNamed(
    target: NamedReplayTarget,
    seen: ReadonlyMap<number, number>,
    since: number,
  ): { parts: Uint8Array[]; count: number } | undefined {
    if (!this.#coversNamed(seen, since)) return undefined;
    const key = nameKey(target.name);
    const parts: Uint8Array[] = [];
    let count = 0;
    for (let i = this.#head; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      const addressed = entry.private
        ? entry.toKey === key
        : entry.fromKey !== key && (entry.group === undefined || target.groups.has(entry.group));
      if (!addressed) continue;
      const newest = seen.get(entry.slot);
      let skip = 0;
      if (newest === undefined) {
        if (entry.time < since) continue;
      } else {
        skip = Math.max(0, Math.min(entry.count, newest - entry.firstId + 1));
        if (skip === entry.count) continue;
      }
      const { wire, firstId } = entry;
      parts.push(prefixIds(skip === 0 ? wire : dropLines(wire, skip), firstId + skip));
      count += entry.count - skip;
    }
    return { parts, count };
  }

  /**
   * Whether everything a named replay needs is kept: all since `since`, or for every slot in
   * `seen` a message at or before the one the client saw (eviction goes oldest first, so all later
   * ones are here).
   */
  #coversNamed(seen: ReadonlyMap<number, number>, since: number): boolean {
    if (this.#keptSince <= since) return true;
    const overlapping = new Set<number>();
    for (let i = this.#head; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      const newest = seen.get(entry.slot);
      if (newest !== undefined && entry.firstId <= newest) overlapping.add(entry.slot);
    }
    return overlapping.size === seen.size;
  }

  #evict(now: number): void {
    const entries = this.#entries;
    while (
      this.#head < entries.length &&
      (this.#bytes > this.#maxBytes || now - entries[this.#head]!.time > this.#maxAgeMs)
    ) {
      const { wire, pos, count, time } = entries[this.#head]!;
      entries[this.#head++] = undefined as unknown as Entry;
      this.#bytes -= wire.length;
      this.#gapPos = Math.max(this.#gapPos, pos + count);
      this.#keptSince = Math.max(this.#keptSince, time + 1);
    }
    // Compact now and then, so the array does not grow with everything ever evicted.
    if (this.#head > 1024 && this.#head * 2 > entries.length) {
      entries.splice(0, this.#head);
      this.#head = 0;
    }
  }
}

/** `wire` without its first `count` lines. */
function dropLines(wire: Uint8Array, count: number): Uint8Array {
  let start = 0;
  for (let i = 0; i < count; i++) start = wire.indexOf(0x0a, start) + 1;
  return wire.subarray(start);
}
