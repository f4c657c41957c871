/**
 * Who may hold what, in two JetStream key-value buckets:
 *
 * - `<cluster>-nodes` (a bucket TTL of {@linkcode LEASE_MS}): `node.<slot>` = the node's instance
 *   id. A node takes the first free slot with `create` and rewrites its key every
 *   {@linkcode HEARTBEAT_MS}: that is its lease. A node that dies stops rewriting it, and the key
 *   expires.
 * - `<cluster>-names` (no TTL): `n.<hex of the name's skeleton>` = `<slot>:<instance>` of the
 *   node whose user has the name. `create` refuses a taken key, so of two nodes racing for one
 *   name exactly one wins. A key whose holder's lease is gone is taken over with a compare-and-set
 *   `update` on its revision.
 * @module
 */

import type { KV } from "@nats-io/kv";
import { nameSkeleton } from "../protocol/name_skeleton.ts";

/** Lifetime of a node's lease without a renewal (ms). */
export const LEASE_MS = 5000;
/** How often a node renews its lease and says it is alive (ms). */
export const HEARTBEAT_MS = 1000;
/** How long a bus operation may take before the answer is "unavailable" (ms). */
export const BUS_TIMEOUT_MS = 2000;
/** The largest numbering slot (ids are `slot × 2^41 + n`, within 2^53). */
export const MAX_SLOT = 4095;

/** The answer to a claim on a name. */
export type Claim = "ok" | "taken" | "unavailable";

/** The KV key of a name: one per skeleton, so look-alikes share it. */
export function nameKeyOf(name: string): string {
  let hex = "";
  for (const byte of new TextEncoder().encode(nameSkeleton(name))) {
    hex += byte.toString(16).padStart(2, "0");
  }
  return `n.${hex}`;
}

/** Resolves with `promise`, or rejects after `ms`. */
export function within<T>(promise: Promise<T>, ms = BUS_TIMEOUT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("bus timeout")), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** This node's lease and its names; see the module comment. */
export class Leases {
  readonly #nodes: KV;
  readonly #names: KV;
  readonly instance: string;
  slot = 0;

  /** Leases in the two buckets, for the node `instance`. */
  constructor(nodes: KV, names: KV, instance: string) {
    this.#nodes = nodes;
    this.#names = names;
    this.instance = instance;
  }

  /** What this node writes as a name's holder. */
  get owner(): string {
    return `${this.slot}:${this.instance}`;
  }

  /**
   * Takes the first free numbering slot (a dead node's frees when its lease expires). Patient:
   * a bucket just created by several nodes at once may take seconds to elect its leader.
   */
  async takeSlot(deadline = Date.now() + 30_000): Promise<number> {
    for (let slot = 1; slot <= MAX_SLOT;) {
      try {
        await within(this.#nodes.create(`node.${slot}`, this.instance), 5000);
        this.slot = slot;
        return slot;
      } catch (error) {
        if (isTaken(error)) slot++;
        else if (Date.now() > deadline) throw error;
        else await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    throw new Error(`every numbering slot up to ${MAX_SLOT} is taken`);
  }

  /** Renews the lease. */
  async renew(): Promise<void> {
    await within(this.#nodes.put(`node.${this.slot}`, this.instance));
  }

  /** Whether the holder `owner` (`<slot>:<instance>`) still has its lease. */
  async alive(owner: string): Promise<boolean> {
    const [slot, instance] = owner.split(":");
    const entry = await within(this.#nodes.get(`node.${slot}`));
    return entry !== null && entry.operation === "PUT" && entry.string() === instance;
  }

  /** Claims `name` for this node; see the module comment. */
  async claim(name: string): Promise<Claim> {
    const key = nameKeyOf(name);
    try {
      await within(this.#names.create(key, this.owner));
      return "ok";
    } catch (error) {
      if (!isTaken(error)) return "unavailable";
    }
    try {
      const entry = await within(this.#names.get(key));
      if (entry === null || entry.operation !== "PUT") {
        await within(this.#names.create(key, this.owner));
        return "ok";
      }
      const holder = entry.string();
      if (holder === this.owner) return "ok";
      if (await this.alive(holder)) return "taken";
      await within(this.#names.update(key, this.owner, entry.revision));
      return "ok";
    } catch (error) {
      return isTaken(error) ? "taken" : "unavailable";
    }
  }

  /**
   * Takes `name` over from `from` (`<slot>:<instance>`, a node that handed a session over or
   * died): a compare-and-set, so a name someone else got meanwhile stays theirs. Otherwise the same
   * as {@linkcode Leases.claim}.
   */
  async takeOver(name: string, from: string): Promise<Claim> {
    const key = nameKeyOf(name);
    try {
      const entry = await within(this.#names.get(key));
      if (entry === null || entry.operation !== "PUT") return await this.claim(name);
      const holder = entry.string();
      if (holder === this.owner) return "ok";
      if (holder !== from) return await this.claim(name);
      await within(this.#names.update(key, this.owner, entry.revision));
      return "ok";
    } catch (error) {
      return isTaken(error) ? "taken" : "unavailable";
    }
  }

  /** Gives `name` up if `owner` (this node by default) still holds it. */
  async release(name: string, owner = this.owner): Promise<void> {
    const key = nameKeyOf(name);
    try {
      const entry = await within(this.#names.get(key));
      if (entry === null || entry.operation !== "PUT" || entry.string() !== owner) return;
      await within(this.#names.delete(key, { previousSeq: entry.revision }));
    } catch {
      // Lost a race or the bus is away: the holder's lease decides, as for a dead node.
    }
  }

  /** Gives up the slot (a clean shutdown): the next node may take it at once. */
  async leave(): Promise<void> {
    await within(this.#nodes.delete(`node.${this.slot}`)).catch(() => {});
  }
}

/** Whether a KV error says the key exists or moved on (`create`/`update` lost). */
function isTaken(error: unknown): boolean {
  const text = String((error as Error)?.message ?? error);
  return /wrong last sequence|key exists/i.test(text);
}
