/**
 * Typed server events, so embedders can observe joins, messages and disconnects without reaching
 * into internals. Emitting costs nothing when nobody listens.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { DisconnectReason } from "../protocol/errors.ts";

const log = getLogger(["switchboard", "server"]);

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
  /** A message was routed: lobby (`*`), group (`#g`) or private (a user name). */
  message: { from: string; target: string; text: string; recipients: number };
  /** A connection closed. */
  disconnect: { id: number; name: string | undefined; address: string; reason: DisconnectReason };
  /** A graceful shutdown began. */
  shutdown: { reason: string; grace: number };
  /** The server has closed every connection and its listener. */
  closed: Record<string, never>;
}

/** Name of a server event. */
export type ServerEventName = keyof ServerEventMap;

/** A small typed event emitter. */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  /** Subscribes; returns a function that unsubscribes. */
  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, set = new Set());
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  /** True when someone listens to `event` (lets callers skip building a payload). */
  has(event: keyof Events): boolean {
    return (this.#listeners.get(event)?.size ?? 0) > 0;
  }

  /** Calls every listener of `event`; a throwing listener is logged and does not stop the others. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of set) {
      try {
        (listener as (payload: Events[K]) => void)(payload);
      } catch (error) {
        // An embedder's bug must not crash the server or skip the other listeners: log it.
        log.error("event listener for {event} threw: {error}", { event: String(event), error });
      }
    }
  }
}
