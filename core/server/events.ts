/**
 * Typed server events, so embedders can observe joins, messages and disconnects without reaching
 * into internals. Emitting costs nothing when nobody listens.
 * @module
 */

import type { DisconnectReason } from "../protocol/errors.ts";

/** Every event a server emits, with its payload. */
export interface ServerEventMap {
  /** The server accepts connections on `hostname:port`. */
  listening: { hostname: string; port: number };
  /** A connection was accepted (before any refusal at registration). */
  connect: { id: number; address: string };
  /** A connection was refused at accept. */
  refuse: { address: string; code: string };
  /** A client registered a name. */
  register: { id: number; name: string; address: string };
  /** A client was renamed. */
  rename: { id: number; from: string; to: string };
  /**
   * A message was recorded and routed: lobby (`*`), group (`#g`), private (a user name) or an
   * echoed line (`echo`). `id` is the server's strictly increasing message id, `time` when it
   * was accepted (ms since the epoch).
   */
  message: {
    id: number;
    time: number;
    from: string;
    target: string;
    text: string;
    recipients: number;
  };
  /** A connection closed. */
  disconnect: { id: number; name: string | undefined; address: string; reason: DisconnectReason };
  /**
   * The configuration was reloaded: the settings applied, those that need a restart (their old
   * value stays), and how many connections the new access lists closed with `BYE denied`.
   */
  reload: { applied: string[]; needsRestart: string[]; denied: number };
  /** A graceful shutdown began. */
  shutdown: { reason: string; grace: number };
  /** The server has closed every connection and its listener. */
  closed: Record<string, never>;
}

/** Name of a server event. */
export type ServerEventName = keyof ServerEventMap;
