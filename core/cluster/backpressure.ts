/**
 * The gate's rule across nodes. On one server, lobby senders wait while any named client is
 * congested (see `server/congestion.ts`). Messages relayed from other nodes have no sender here to
 * hold, so a node whose own clients are congested says so (`<cluster>.congestion`, and in every
 * heartbeat), and each other node counts it as one more congested recipient of its gate.
 * @module
 */

import type { CongestionGate } from "../server/congestion.ts";

/** Stands for the senders of other nodes in this node's gate. */
const REMOTE_SENDERS = { unblocked(): void {} };

/** How often a node looks whether its own clients are congested (ms). */
export const CONGESTION_POLL_MS = 5;

/** This node's side and the other nodes' side of cluster-wide backpressure. */
export class Backpressure {
  readonly #gate: CongestionGate;
  readonly #tell: (congested: boolean) => void;
  /** Other nodes whose clients are congested, as recipients of this node's gate. */
  readonly #nodes = new Map<string, object>();
  #said = false;

  /** Backpressure over `gate`; `tell` publishes this node's state when it changes. */
  constructor(gate: CongestionGate, tell: (congested: boolean) => void) {
    this.#gate = gate;
    this.#tell = tell;
  }

  /** Whether this node last said its own clients are congested. */
  get said(): boolean {
    return this.#said;
  }

  /** Whether this node's own clients are congested now (other nodes' stand-ins not counted). */
  get congested(): boolean {
    return this.#gate.congested > this.#nodes.size;
  }

  /** Tells the other nodes if this node's own state changed. */
  check(): void {
    const congested = this.congested;
    if (congested === this.#said) return;
    this.#said = congested;
    // Senders of other nodes now wait on this node's congested clients: as for a local sender,
    // a congested client that reads nothing is cut after --stall-timeout (the gate releases
    // this stand-in once nobody here is congested).
    if (congested) this.#gate.waitForLobby(REMOTE_SENDERS);
    this.#tell(congested);
  }

  /** Another node's clients are congested (`on`) or drained. */
  set(node: string, on: boolean): void {
    const known = this.#nodes.get(node);
    if (on && known === undefined) {
      const token = {};
      this.#nodes.set(node, token);
      this.#gate.set(token, true);
    } else if (!on && known !== undefined) {
      this.#nodes.delete(node);
      this.#gate.set(known, false);
    }
  }

  /** Forgets every other node's congestion (the link is lost: nobody would say "drained"). */
  clear(): void {
    for (const node of [...this.#nodes.keys()]) this.set(node, false);
  }
}
