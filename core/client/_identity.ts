/**
 * Who a client is on the server: the name and the groups the server confirmed, kept in step
 * with its answers (`WELCOME`, `OK name`, `OK group …`, a `NICK` about this client), so that a
 * reconnect can ask for the same again. It outlives every connection.
 * @module
 */

import { nameKey } from "../protocol/grammar.ts";
import type { NickEvent, OkEvent } from "../protocol/server_line.ts";
import { idSlot } from "../protocol/message_ids.ts";

/**
 * Message ids remembered to drop a replayed message already reported: a replay repeats at most
 * what was in flight when the line broke, a queue's worth (1 MiB of lines by default).
 */
export const RECENT_IDS = 65_536;

/** The name and groups a client holds, as the server confirmed them. */
export class Identity {
  #name: string | undefined;
  #token: string | undefined;
  #lastId = 0;
  /** The newest id seen from each cluster node's slot (one slot on a single server). */
  readonly #newest = new Map<number, number>();
  /** Ids of the last messages reported, oldest first (a Set keeps insertion order). */
  readonly #recent = new Set<number>();
  /** Group names (without `#`) by their case-folded key. */
  readonly #groups = new Map<string, string>();

  /** The registered name, or `undefined` before. */
  get name(): string | undefined {
    return this.#name;
  }

  /** The groups, as named when joined or created. */
  get groups(): string[] {
    return [...this.#groups.values()];
  }

  /** The groups as `[key, name]` pairs, a copy to walk while it changes. */
  memberships(): [string, string][] {
    return [...this.#groups];
  }

  /** The token of the server's last `SESSION` line: what a reconnect resumes with. */
  get token(): string | undefined {
    return this.#token;
  }

  /** The id of the last message reported, the one a resume continues after (0 before any). */
  get lastId(): number {
    return this.#lastId;
  }

  /**
   * What `:resume` says this client saw: the last id, then the newest id from each other cluster
   * node (ids tell their node apart, see `message_ids.ts`). One id on a single server; a node
   * the session moves to replays, from each node, what came after its id.
   */
  get resumeIds(): number[] {
    const ids = [this.#lastId];
    for (const id of this.#newest.values()) if (id !== this.#lastId) ids.push(id);
    return ids;
  }

  /** `SESSION <token>`: the session may be resumed with it (once). */
  sessionOpened(token: string): void {
    this.#token = token;
  }

  /** The session cannot be resumed (the server said `ERR bad-session`): register instead. */
  sessionLost(): void {
    this.#token = undefined;
  }

  /**
   * A message with id `id` arrived: true when it is new, false when it was reported already (a
   * resume replays from the last message this client saw, so nothing is reported twice). Ids are
   * compared for equality, never for order: in a cluster a connection receives the ids of several
   * nodes interleaved. The last {@linkcode RECENT_IDS} ids are remembered, far more than a replay
   * can repeat.
   */
  seen(id: number): boolean {
    if (this.#recent.has(id)) return false;
    this.#recent.add(id);
    if (this.#recent.size > RECENT_IDS) {
      this.#recent.delete(this.#recent.values().next().value!);
    }
    this.#lastId = id;
    const slot = idSlot(id);
    if (id > (this.#newest.get(slot) ?? -1)) this.#newest.set(slot, id);
    return true;
  }

  /** `WELCOME`: registered under `name`. */
  welcomed(name: string): void {
    this.#name = name;
  }

  /** An `OK` to this client's command: a rename, or a group created, joined or left. */
  confirmed(event: OkEvent): void {
    const [sub, group] = event.params;
    if (event.verb === "name" && sub !== undefined) this.#name = sub;
    if (event.verb !== "group" || group === undefined) return;
    if (sub === "create" || sub === "join") this.#groups.set(nameKey(group), group);
    if (sub === "leave") this.#groups.delete(nameKey(group));
  }

  /** A `NICK`: followed when it renames this client. */
  renamed(event: NickEvent): void {
    if (this.#name !== undefined && nameKey(event.from) === nameKey(this.#name)) {
      this.#name = event.to;
    }
  }

  /** A group that could not be joined again (it is gone, or refused this client). */
  lost(key: string): void {
    this.#groups.delete(key);
  }
}
