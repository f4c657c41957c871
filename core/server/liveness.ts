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
