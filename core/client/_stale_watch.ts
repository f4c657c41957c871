/**
 * Noticing a dead server: a server pings a quiet client, so a connection that brings no byte
 * for the stale timeout is taken as gone and closed, which starts a reconnect. A long transfer
 * in either direction counts as life (see `ClientLink.lastActivity`).
 * @module
 */

import type { ClientLink } from "./link.ts";

/**
 * Closes `link` once it has been silent for `seconds` (0 is off); returns a function that stops
 * watching.
 */
export function watchForSilence(link: ClientLink, seconds: number): () => void {
  const limit = seconds * 1000;
  if (limit <= 0) return () => {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  const check = () => {
    if (link.closed) return;
    const quiet = Date.now() - link.lastActivity;
    if (quiet >= limit) {
      link.close(`no data from the server for ${seconds} s`);
      return;
    }
    timer = setTimeout(check, limit - quiet);
  };
  timer = setTimeout(check, limit);
  return () => clearTimeout(timer);
}
