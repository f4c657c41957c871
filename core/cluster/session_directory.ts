/**
 * The cluster's sessions, in the JetStream key-value bucket `<cluster>-sessions`: what lets a
 * client resume its session on another node than the one it was on (that node died, or the
 * client simply reconnected elsewhere).
 *
 * Key `s.<hex SHA-256 of the token>` (the token itself, the secret, never travels or is stored);
 * value JSON {@linkcode SessionEntry}: the user's name, the node holding the session, when it
 * began and the rights it carries. Written when a session opens or gets a new token, deleted when
 * it ends. The bucket's TTL ({@linkcode SESSION_ENTRY_TTL_MS}) bounds what the sessions of nodes
 * that died leave behind; a session older than that can be resumed on its own node only.
 * Writes are not awaited by the session: a resume on another node in the first moments of a
 * session may not find it yet, and is then refused like any unknown session.
 * @module
 */

import type { KV } from "@nats-io/kv";
import type { SessionDirectory, SessionPeer } from "../server/sessions.ts";
import { within } from "./leases.ts";

/** Entries of the sessions bucket expire this long after their last write (ms). */
export const SESSION_ENTRY_TTL_MS = 24 * 3600 * 1000;

/** One session, as the bucket holds it. */
export interface SessionEntry {
  /** The user's name. */
  readonly name: string;
  /** The instance id of the node that holds it. */
  readonly node: string;
  /** That node's numbering slot. */
  readonly slot: number;
  /** When the session began (ms since the epoch). */
  readonly start: number;
  /** Admin rights. */
  readonly admin: boolean;
  /** The account it is logged in as, if any. */
  readonly account?: string | undefined;
}

const encoder = new TextEncoder();

/** The bucket of sessions; see the module comment. */
export class ClusterSessions implements SessionDirectory {
  readonly #bucket: KV;
  readonly #node: () => { instance: string; slot: number };
  readonly #onError: (error: unknown) => void;

  /** The directory in `bucket`, written as node `node()`; failed writes go to `onError`. */
  constructor(
    bucket: KV,
    node: () => { instance: string; slot: number },
    onError: (error: unknown) => void,
  ) {
    this.#bucket = bucket;
    this.#node = node;
    this.#onError = onError;
  }

  /** Lists the session of `token`, held by `peer` on this node. */
  opened(token: string, peer: SessionPeer, start: number): void {
    const { instance, slot } = this.#node();
    const entry: SessionEntry = {
      name: peer.name,
      node: instance,
      slot,
      start,
      admin: peer.admin === true,
      ...(peer.account === undefined ? {} : { account: peer.account }),
    };
    void keyOf(token)
      .then((key) => within(this.#bucket.put(key, encoder.encode(JSON.stringify(entry)))))
      .catch(this.#onError);
  }

  /** Removes the session of `token`. */
  closed(token: string): void {
    void keyOf(token).then((key) => within(this.#bucket.delete(key))).catch(this.#onError);
  }

  /** The session of `token`, or `undefined` when the bucket has none. */
  async find(token: string): Promise<SessionEntry | undefined> {
    const entry = await within(this.#bucket.get(await keyOf(token)));
    if (entry === null || entry.operation !== "PUT") return undefined;
    try {
      return entry.json<SessionEntry>();
    } catch {
      return undefined;
    }
  }
}

/** The bucket key of a token: its SHA-256, in hex. */
async function keyOf(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(token)));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return `s.${hex}`;
}
