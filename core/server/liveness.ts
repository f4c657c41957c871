/**
 * Liveness on one timer wheel: a single sweep over all connections replaces per-connection
 * timers. Each sweep asks {@linkcode livenessAction} what a connection needs: a `PING`, or to be
 * closed as idle, stale or a slow consumer.
 * @module
 */

import type { DisconnectReason } from "../protocol/errors.ts";

/** The timestamps (ms, `performance.now()`) a liveness decision looks at. */
export interface LivenessState {
  /** Accepted at. */
  acceptedAt: number;
  /** Still waiting for a name (chat mode). */
  registering: boolean;
  /** Last byte received. */
  lastReceived: number;
  /** Last line of the client's own (a `:pong` does not count). */
  lastActivity: number;
  /** When the unanswered `PING` went out, or 0. */
  pingSentAt: number;
  /** Bytes waiting in the outbound queue. */
  queuedBytes: number;
  /** Last time the outbound queue made progress. */
  lastProgress: number;
  /** Since when the outbound queue is above its high-water mark, or 0. */
  congestedSince: number;
  /** Other senders wait for this client's queue to drain (see congestion.ts). */
  holding: boolean;
}

/** Timeouts in seconds, as in the server options. */
export interface LivenessLimits {
  /** 0 turns the idle check off. */
  idleTimeout: number;
  /** 0 turns PINGs off. */
  pingInterval: number;
  pingTimeout: number;
  registerTimeout: number;
  writeDeadline: number;
  /** How long a client others wait on may go without reading anything. */
  stallTimeout: number;
}

/** What a sweep should do with one connection. */
export type LivenessAction =
  | { kind: "ping" }
  | { kind: "close"; reason: DisconnectReason; text: string }
  | undefined;

/** Decides what a connection needs at time `now` (ms). Pure, so it is tested without sleeping. */
export function livenessAction(
  state: LivenessState,
  limits: LivenessLimits,
  now: number,
): LivenessAction {
  const ms = (seconds: number) => seconds * 1000;
  const optional = (seconds: number) => seconds > 0 ? seconds * 1000 : Infinity;
  if (
    state.holding && state.queuedBytes > 0 && now - state.lastProgress > ms(limits.stallTimeout)
  ) {
    return close(
      "slow-consumer",
      `others' messages waited on you and you read nothing for ${limits.stallTimeout} s`,
    );
  }
  if (state.queuedBytes > 0 && now - state.lastProgress > ms(limits.writeDeadline)) {
    return close("slow-consumer", `no progress writing to you for ${limits.writeDeadline} s`);
  }
  if (state.congestedSince !== 0 && now - state.congestedSince > ms(limits.writeDeadline)) {
    return close("slow-consumer", `you fell behind for more than ${limits.writeDeadline} s`);
  }
  if (state.registering) {
    if (now - state.acceptedAt > ms(limits.registerTimeout)) {
      return close("idle", `no name received within ${limits.registerTimeout} s`);
    }
  } else if (now - state.lastActivity > optional(limits.idleTimeout)) {
    return close("idle", `no activity for ${limits.idleTimeout} s`);
  }
  if (state.pingSentAt !== 0) {
    if (now - state.pingSentAt > ms(limits.pingTimeout)) {
      return close("stale", `no answer to PING within ${limits.pingTimeout} s`);
    }
  } else if (now - state.lastReceived > optional(limits.pingInterval)) {
    return { kind: "ping" };
  }
  return undefined;
}

function close(reason: DisconnectReason, text: string): LivenessAction {
  return { kind: "close", reason, text };
}

/** How often to sweep: a quarter of the shortest limit, between 10 ms and 1 s. */
export function sweepInterval(limits: LivenessLimits): number {
  const shortest = Math.min(
    limits.idleTimeout || Infinity,
    limits.pingInterval || Infinity,
    limits.pingTimeout,
    limits.registerTimeout,
    limits.writeDeadline,
    limits.stallTimeout,
  );
  return Math.max(10, Math.min(1000, (shortest * 1000) / 4));
}

/** The outbound queue as the liveness sweep samples it; an `Outbound` fits. */
export interface QueueSample {
  readonly queuedBytes: number;
  readonly bytesWritten: number;
  readonly congestedSince: number;
}

/**
 * One connection's liveness readings. Clock readings happen in the sweep, not per chunk or per
 * write: the hot path only raises {@linkcode LivenessClock.received} and
 * {@linkcode LivenessClock.active}, and each sweep turns them into times. A time seen this way is
 * at most one sweep late, so a timeout can fire up to one sweep interval late, never early.
 */
export class LivenessClock {
  /** When the connection was accepted (`performance.now()`). */
  readonly acceptedAt: number;
  /** Last byte received, as of the last sweep. */
  lastReceived: number;
  /** Last line of the client's own (a `:pong` does not count), as of the last sweep. */
  lastActivity: number;
  /** When the unanswered `PING` went out, or 0. */
  pingSentAt = 0;
  /** Bytes arrived since the last sweep. */
  receivedSinceSweep = false;
  /** A line of the client's own arrived since the last sweep. */
  activeSinceSweep = false;
  /** When the outbound queue was last seen empty or making progress (sweep time). */
  #progressAt: number;
  #writtenAtSweep = 0;
  #emptyAtSweep = true;

  /** A clock for a connection accepted at `now`. */
  constructor(now: number = performance.now()) {
    this.acceptedAt =
      this.lastReceived =
      this.lastActivity =
      this.#progressAt =
        now;
  }

  /** Notes received bytes: proof of life, which answers a `PING`. Called per chunk. */
  received(): void {
    this.receivedSinceSweep = true;
    this.pingSentAt = 0;
  }

  /** Notes a line of the client's own. */
  active(): void {
    this.activeSinceSweep = true;
  }

  /**
   * Dates what happened since the last sweep to `now` and returns the state a liveness decision
   * looks at. `busy` (a download or `:run` in progress) counts as activity and as life: only the
   * slow-consumer rules apply to it.
   */
  sweep(
    now: number,
    queue: QueueSample,
    flags: { busy: boolean; registering: boolean; holding: boolean },
  ): LivenessState {
    if (this.receivedSinceSweep) {
      this.receivedSinceSweep = false;
      this.lastReceived = now;
    }
    if (this.activeSinceSweep || flags.busy) {
      this.activeSinceSweep = false;
      this.lastActivity = now;
      if (flags.busy) this.lastReceived = now;
    }
    // Bytes written since the previous sweep, or a queue that was empty then (whatever it holds
    // came later), date progress to now: a stalled reader is never cut before the write
    // deadline, at most one sweep after it.
    const { queuedBytes, bytesWritten } = queue;
    if (queuedBytes === 0 || bytesWritten !== this.#writtenAtSweep || this.#emptyAtSweep) {
      this.#progressAt = now;
    }
    this.#writtenAtSweep = bytesWritten;
    this.#emptyAtSweep = queuedBytes === 0;
    return {
      acceptedAt: this.acceptedAt,
      registering: flags.registering,
      lastReceived: this.lastReceived,
      lastActivity: this.lastActivity,
      pingSentAt: this.pingSentAt,
      queuedBytes,
      lastProgress: this.#progressAt,
      congestedSince: queue.congestedSince,
      holding: flags.holding,
    };
  }
}
