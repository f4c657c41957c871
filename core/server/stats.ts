/**
 * Server counters, reported by `:stats` and {@linkcode Server.stats}.
 * @module
 */

import { DISCONNECT_REASONS, type DisconnectReason } from "../protocol/errors.ts";

/** A snapshot of the server's counters. */
export interface ServerStats {
  /** Seconds since the server started. */
  uptime: number;
  /** Connections open now. */
  connections: number;
  /** Named clients online now. */
  online: number;
  /** Groups that exist now. */
  groups: number;
  /** Connections whose outbound queue is above its high-water mark now (readers behind). */
  backedUp: number;
  /** Connections accepted since start (refused ones included). */
  accepted: number;
  /** Connections the peer reset before the server could accept them (skipped, not served). */
  resetBeforeAccept: number;
  /** TLS connections whose handshake failed or did not finish within the register timeout. */
  tlsFailed: number;
  /** Messages recorded: lobby lines, `:pm`, `:group send`, console broadcasts, echoed lines. */
  messages: number;
  /** Messages handed to recipients' queues, counted per recipient. */
  deliveries: number;
  /** Commands handled. */
  commands: number;
  /** Addresses locked out after failed `:auth` attempts (one per lockout); see `attempts.ts`. */
  lockouts: number;
  /** `:auth` attempts refused with `ERR too-many-attempts`, without checking the token. */
  attemptsRefused: number;
  /** Bytes read from clients. */
  bytesIn: number;
  /** Bytes written to clients. */
  bytesOut: number;
  /** Disconnects by reason. */
  disconnects: Record<DisconnectReason, number>;
}

/** Mutable counters; the server owns one. */
export class StatsCounter {
  readonly startedAt = performance.now();
  accepted = 0;
  resetBeforeAccept = 0;
  tlsFailed = 0;
  messages = 0;
  deliveries = 0;
  commands = 0;
  bytesIn = 0;
  bytesOut = 0;
  readonly disconnects = Object.fromEntries(DISCONNECT_REASONS.map((r) => [r, 0])) as Record<
    DisconnectReason,
    number
  >;

  /** A snapshot with the live figures filled in. */
  snapshot(
    live: {
      connections: number;
      online: number;
      groups: number;
      backedUp: number;
      lockouts: number;
      attemptsRefused: number;
    },
  ): ServerStats {
    const { lockouts, attemptsRefused, ...now } = live;
    return {
      uptime: Math.round((performance.now() - this.startedAt) / 1000),
      ...now,
      accepted: this.accepted,
      resetBeforeAccept: this.resetBeforeAccept,
      tlsFailed: this.tlsFailed,
      messages: this.messages,
      deliveries: this.deliveries,
      commands: this.commands,
      lockouts,
      attemptsRefused,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      disconnects: { ...this.disconnects },
    };
  }
}
