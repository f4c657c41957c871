/**
 * Typed events: how a server tells embedders about joins and messages, and a client its lines.
 * Emitting costs nothing when nobody listens.
 * @module
 */

import { getLogger } from "@logtape/logtape";

const log = getLogger(["switchboard", "server"]);

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
