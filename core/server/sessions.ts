/**
 * Sessions that outlive their connection: what lets a client whose line broke come back with
 * `:resume <token> <last-id>` and receive every message it missed, exactly once, while everyone
 * else sees nothing happen.
 *
 * - Every registration opens a session, named by a random token (`SESSION <token>` after
 *   `WELCOME`). A token is good for one resume; the resumed session gets a fresh one.
 * - A connection with `:ids on` (a client that can resume) that ends without `:quit` — the peer
 *   closed or reset, a read or write failed, it went stale, idle or too slow — is held for
 *   `resumeGrace` seconds: a {@linkcode HeldSession} takes its place in the hub, with its name
 *   and its groups, so the name stays taken and nobody hears a `LEAVE`. Messages addressed to it
 *   are counted against `resumeMaxBytes`; past that, or when the grace runs out, the session ends
 *   and the `LEAVE` (with the original reason) goes out then. Connections without ids on leave at
 *   once, as before: a program like `ncat` cannot resume, so its name is not kept hostage.
 * - What a session missed comes from {@linkcode RecentMessages}, which keeps the last messages as
 *   the wire bytes already sent; a resume that would need one no longer kept is refused rather
 *   than incomplete.
 * - A resume may also take over a connection the server still thinks alive (the client noticed
 *   the broken line first): that connection is closed with `BYE replaced`.
 *
 * - In a cluster a session may also be resumed on another node (its own lost, or the client
 *   moved): the nodes find it through a {@linkcode SessionDirectory} (`core/cluster/`), the node
 *   that held it hands it over ({@linkcode Sessions.handOver}) and the new node replays what the
 *   client had not seen from its own recent messages ({@linkcode Sessions.adopt}).
 *
 * Sessions live in memory: a server restart ends them all (a client then registers again).
 * @module
 */

import type { DisconnectReason } from "../protocol/errors.ts";
import type { Group, Hub, Peer } from "./hub.ts";
import type { MessageKeeper, RecordedBatch } from "./record.ts";
import { RecentMessages } from "./recent_messages.ts";
import { newestBySlot } from "../protocol/message_ids.ts";

/** Where a cluster lists its sessions, so that another node can take one over. */
export interface SessionDirectory {
  /** A session was opened (or got a new token) for `peer`, at `start` (ms). */
  opened(token: string, peer: SessionPeer, start: number): void;
  /** The session of `token` ended, or its token changed. */
  closed(token: string): void;
}

/** A session this node handed to another node: what that node needs to take it over. */
export interface HandedOverSession {
  /** The session's name. */
  readonly name: string;
  /** Its groups. */
  readonly groups: readonly Group[];
  /** The peer it was held by: a live connection (to close) or a placeholder (already ended). */
  readonly previous: SessionPeer;
}

/** A peer a session can belong to: a live connection, or the placeholder of a held one. */
export interface SessionPeer extends Peer {
  /** Wants message ids (`:ids on`); only such sessions are held. */
  readonly ids?: boolean;
  /** Admin rights, carried over to the connection that resumes. */
  readonly admin?: boolean;
}

/** One session; see the module comment. */
export interface SessionRecord {
  /** A number for it alone, what the recent messages name it by. */
  readonly serial: number;
  /** The token that resumes it (changes with each resume). */
  readonly token: string;
  /** Who holds it now. */
  readonly peer: SessionPeer;
  /** The first id it could have received: a resume with last id 0 replays from here. */
  readonly startId: number;
  /** The position of the first message the session could receive (`RecentMessages.position`). */
  readonly startPos: number;
  /** When it was opened (ms since the epoch). */
  readonly start: number;
}

/** What the session table needs from its server. */
export interface SessionsParts {
  readonly hub: Hub;
  /** Seconds a broken session is held; 0 holds none. */
  resumeGrace(): number;
  /** Bytes addressed to a held session before it ends. */
  resumeMaxBytes(): number;
  /** The id the next recorded message gets. */
  nextId(): number;
  /** True once shutdown began: nothing is held then. */
  draining(): boolean;
  /** Notes a held session that ended without a resume. */
  ended(name: string, reason: string, why: string): void;
}

/** Why a session could not be resumed (the text of `ERR bad-session`). */
export type ResumeRefusal = { refused: string };

/** A session taken over by a new connection: what to send it. */
export interface ResumedSession {
  /** The session's name. */
  readonly name: string;
  /** The groups it is in. */
  readonly groups: readonly Group[];
  /** The peer it was held by: a live connection (to close) or a placeholder. */
  readonly previous: SessionPeer;
  /** The new token. */
  readonly token: string;
  /** The missed messages as `@<id> …` lines, in order. */
  readonly replay: Uint8Array[];
  /** How many messages the replay holds. */
  readonly count: number;
}

/** Reasons a connection may end with and still be held: the line broke, not the client left. */
const RESUMABLE: ReadonlySet<DisconnectReason> = new Set([
  "idle",
  "stale",
  "slow-consumer",
  "read-error",
  "write-error",
]);

/** The ring of recent messages keeps at most this many bytes. */
const RECENT_MAX_BYTES = 64 * 1024 * 1024;

interface Record extends SessionRecord {
  token: string;
  peer: SessionPeer;
}

/** The session table; see the module comment. */
export class Sessions implements MessageKeeper {
  readonly #parts: SessionsParts;
  readonly #byToken = new Map<string, Record>();
  /**
   * Every peer that holds a session, and the connections of held or resumed sessions until
   * collected (a message recorded just after its sender dropped is still named by its session).
   * A session that ends takes its peer out at once: left to the collector, the entries of a
   * churning server's sessions kept their connections alive into V8's old space (a third of the
   * server's garbage-collection time under connection churn).
   */
  readonly #byPeer = new WeakMap<Peer, Record>();
  readonly #held = new Set<HeldSession>();
  readonly #recent: RecentMessages;
  /** Live connections with ids on: while there are none (and nobody is held), nothing is kept. */
  #idsOn = 0;
  #serials = 0;
  /**
   * The cluster's list of sessions, when this server is a node of one; messages are then always
   * kept, since a session of another node may be resumed here.
   */
  #directory: SessionDirectory | undefined;

  /** A table for the server behind `parts`. */
  constructor(parts: SessionsParts) {
    this.#parts = parts;
    this.#recent = new RecentMessages(
      RECENT_MAX_BYTES,
      (parts.resumeGrace() + 60) * 1000,
      (peer) => peer === undefined ? undefined : this.#byPeer.get(peer)?.serial,
    );
  }

  /** Sessions held for a resume right now. */
  get held(): number {
    return this.#held.size;
  }

  /** Bytes of recent messages kept for resumes. */
  get keptBytes(): number {
    return this.#recent.bytes;
  }

  /** Lists every session in `directory` from now on (a cluster node joined). */
  listIn(directory: SessionDirectory): void {
    this.#directory = directory;
    for (const record of this.#byToken.values()) {
      directory.opened(record.token, record.peer, record.start);
    }
  }

  /** Opens a session for a peer that just registered; returns its token. */
  open(peer: SessionPeer, start = Date.now()): string {
    const record: Record = {
      serial: ++this.#serials,
      token: newToken(),
      peer,
      startId: this.#parts.nextId(),
      startPos: this.#recent.position,
      start,
    };
    this.#byToken.set(record.token, record);
    this.#byPeer.set(peer, record);
    this.#directory?.opened(record.token, peer, start);
    return record.token;
  }

  /** Counts a live connection turning ids on (`true`) or off. */
  idsChanged(on: boolean): void {
    this.#idsOn += on ? 1 : -1;
  }

  /** Takes a batch from the recording point: kept while some session could resume. */
  keep(batch: RecordedBatch): void {
    if (this.#idsOn > 0 || this.#held.size > 0 || this.#directory !== undefined) {
      this.#recent.add(batch);
    } else this.#recent.skip(batch);
  }

  /**
   * Called as `peer` leaves the hub with `reason` (`endedByPeer`: it closed or reset without
   * `:quit`). Returns true when its session is held instead: the hub then has a placeholder in
   * its place, and the caller must not remove it.
   */
  leave(peer: SessionPeer, reason: DisconnectReason, endedByPeer: boolean): boolean {
    const record = this.#byPeer.get(peer);
    if (record === undefined || record.peer !== peer) return false;
    if (peer.ids === true) this.idsChanged(false);
    const resumable = reason === "quit" ? endedByPeer : RESUMABLE.has(reason);
    const grace = this.#parts.resumeGrace();
    if (!resumable || peer.ids !== true || grace <= 0 || this.#parts.draining()) {
      this.#forget(record);
      return false;
    }
    const held = new HeldSession(peer, reason, this.#parts.resumeMaxBytes(), (why) => {
      this.#end(record, held, why);
    });
    this.#parts.hub.swap(peer, held);
    record.peer = held;
    this.#byPeer.set(held, record);
    this.#held.add(held);
    held.startTimer(grace * 1000);
    return true;
  }

  /** Whether `token` names a session of this node. */
  has(token: string): boolean {
    return this.#byToken.has(token);
  }

  /**
   * Takes the session of `token` over for `next` (a connection that sent `:resume` as its first
   * line), replaying what it missed after the last of `lastIds` it saw (the newest id it saw from
   * each node; one on a single server); or says why not.
   */
  resume(
    token: string,
    lastIds: readonly number[],
    next: SessionPeer,
  ): ResumedSession | ResumeRefusal {
    const record = this.#byToken.get(token);
    if (record === undefined) return { refused: "unknown or expired session" };
    // By arrival order: in a cluster, ids from other nodes interleave with this node's. The last
    // message the client saw is the one of `lastIds` that arrived last.
    let seen: number | undefined;
    for (const id of lastIds) {
      const after = this.#recent.positionAfter(id);
      if (after !== undefined && (seen === undefined || after > seen)) seen = after;
    }
    const lastId = Math.max(...lastIds);
    if (seen === undefined && lastId >= this.#parts.nextId()) {
      return { refused: `no message has id ${lastId} yet` };
    }
    const from = seen === undefined
      ? (lastId < record.startId ? record.startPos : -1)
      : Math.max(seen, record.startPos);
    const after = lastId;
    const previous = record.peer;
    if (!this.#recent.keptFrom(from)) {
      if (previous instanceof HeldSession) previous.end("messages missed are no longer kept");
      return { refused: `the messages after ${after} are no longer kept; register again` };
    }
    const { parts, count } = this.#recent.replay(
      { session: record.serial, groups: previous.groups },
      from,
    );
    const groups = [...previous.groups];
    if (previous instanceof HeldSession) {
      previous.cancel();
      this.#held.delete(previous);
    } else if (previous.ids === true) {
      this.idsChanged(false);
    }
    this.#parts.hub.swap(previous, next);
    this.#byToken.delete(record.token);
    this.#directory?.closed(record.token);
    record.token = newToken();
    record.peer = next;
    this.#byToken.set(record.token, record);
    this.#byPeer.set(next, record);
    this.#directory?.opened(record.token, next, record.start);
    return { name: next.name, groups, previous, token: record.token, replay: parts, count };
  }

  /**
   * Gives the session of `token` up to another node: it ends here without a word (no `LEAVE`:
   * the user goes on elsewhere). The caller puts the user's new place in the hub (`hub.swap`) and
   * closes `previous` if it is a live connection.
   */
  handOver(token: string): HandedOverSession | undefined {
    const record = this.#byToken.get(token);
    if (record === undefined) return undefined;
    const previous = record.peer;
    if (previous instanceof HeldSession) {
      previous.cancel();
      this.#held.delete(previous);
    } else if (previous.ids === true) {
      this.idsChanged(false);
    }
    this.#byToken.delete(token);
    this.#byPeer.delete(previous);
    return { name: previous.name, groups: [...previous.groups], previous };
  }

  /**
   * Opens a session for `next`, a connection that resumed a session of another node (already in
   * the hub under its name, in its groups), and replays what it had not seen: `lastIds` are the
   * newest ids it saw, one per node; `since` is when the session began. Refused when some of those
   * messages are no longer kept here.
   */
  adopt(
    next: SessionPeer,
    lastIds: readonly number[],
    since: number,
  ): { token: string; replay: Uint8Array[]; count: number } | ResumeRefusal {
    const seen = newestBySlot(lastIds.filter((id) => id > 0));
    const replay = this.#recent.replayNamed(next, seen, since);
    if (replay === undefined) {
      return { refused: "the messages it missed are no longer kept here; register again" };
    }
    const token = this.open(next, since);
    return { token, replay: replay.parts, count: replay.count };
  }

  /** Ends every held session without a word (shutdown: nobody is left to tell). */
  dropAll(): void {
    for (const held of [...this.#held]) held.cancel();
    this.#held.clear();
    this.#byToken.clear();
  }

  #end(record: Record, held: HeldSession, why: string): void {
    if (!this.#held.delete(held)) return;
    this.#forget(record);
    this.#parts.hub.remove(held, held.reason);
    this.#parts.ended(held.name, held.reason, why);
  }

  #forget(record: Record): void {
    this.#byPeer.delete(record.peer);
    if (this.#byToken.delete(record.token)) this.#directory?.closed(record.token);
  }
}

/**
 * The placeholder of a held session in the hub: it keeps the name and the groups, and counts
 * what is addressed to it (the messages themselves are kept by {@linkcode RecentMessages}).
 */
export class HeldSession implements SessionPeer {
  name: string;
  readonly groups = new Set<Group>();
  readonly account: string | undefined;
  readonly admin: boolean;
  /** Held sessions count as wanting ids: replays carry them. */
  readonly ids = true;
  /** Why its connection ended: the reason of the `LEAVE` if it is not resumed. */
  readonly reason: DisconnectReason;
  readonly #maxBytes: number;
  readonly #onEnd: (why: string) => void;
  #bytes = 0;
  #over = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    from: SessionPeer,
    reason: DisconnectReason,
    maxBytes: number,
    onEnd: (why: string) => void,
  ) {
    this.name = from.name;
    this.account = from.account;
    this.admin = from.admin === true;
    this.reason = reason;
    this.#maxBytes = maxBytes;
    this.#onEnd = onEnd;
  }

  /** Counts bytes addressed to the session; past the limit, the session ends. */
  deliver(bytes: Uint8Array): void {
    this.#bytes += bytes.length;
    if (this.#bytes > this.#maxBytes && !this.#over) {
      // Not from inside the delivery: the hub is walking its peers.
      this.#over = true;
      queueMicrotask(() => this.end(`more than ${this.#maxBytes} bytes were addressed to it`));
    }
  }

  /** Ends the session (as `:kick` or the limits do); a no-op once ended or resumed. */
  close(_reason: DisconnectReason, text: string): Promise<void> {
    this.end(text);
    return Promise.resolve();
  }

  /** Starts the grace. */
  startTimer(ms: number): void {
    this.#timer = setTimeout(() => this.end(`not resumed within ${ms / 1000} s`), ms);
  }

  /** Ends the session now. */
  end(why: string): void {
    this.cancel();
    this.#onEnd(why);
  }

  /** Stops the grace timer (resumed, or the server stops). */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** Bytes of randomness in a token: 128 bits, unguessable. */
const TOKEN_BYTES = 16;
/**
 * Random bytes for the next tokens, drawn 256 tokens at a time: `crypto.getRandomValues` per
 * token cost 2 % of the server's time under connection churn.
 */
const randomPool = new Uint8Array(TOKEN_BYTES * 256);
let poolUsed = randomPool.length;
/** The URL-safe base64 alphabet (RFC 4648 §5). */
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** A fresh token: 16 random bytes in unpadded base64url (22 characters, one word on the wire). */
function newToken(): string {
  if (poolUsed === randomPool.length) {
    crypto.getRandomValues(randomPool);
    poolUsed = 0;
  }
  const start = poolUsed;
  poolUsed += TOKEN_BYTES;
  let token = "";
  // Five whole groups of three bytes, then the last byte alone (two characters, no padding).
  for (let i = start; i < start + 15; i += 3) {
    const n = (randomPool[i]! << 16) | (randomPool[i + 1]! << 8) | randomPool[i + 2]!;
    token += BASE64URL[n >> 18]! + BASE64URL[(n >> 12) & 63]! + BASE64URL[(n >> 6) & 63]! +
      BASE64URL[n & 63]!;
  }
  const last = randomPool[start + 15]!;
  // Used bytes are wiped: a token is never left in memory beside the ones to come.
  randomPool.fill(0, start, start + TOKEN_BYTES);
  return token + BASE64URL[last >> 2]! + BASE64URL[(last & 3) << 4]!;
}
