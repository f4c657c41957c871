/**
 * Why the server cut its clients in a run, read from its console log: a run that lost messages
 * because subscribers were closed says which limit closed them (a slow consumer's queue, a write
 * deadline, a stall), so the next reader of the results does not have to reproduce it to know.
 * @module
 */

/**
 * A disconnect for a reason other than the client's own `:quit` or its going away (see
 * `DisconnectReason`): the limits a bench run can trip.
 */
const SERVER_ENDED =
  /disconnected \S+ (\S+): (slow-consumer|stale|idle|write-error|read-error|protocol-error|server-full|refused|denied) \((.*)\)$/;

/**
 * Counts the server's own disconnects in `log` (Switchboard's console lines) by reason and
 * detail, most frequent first: `"2 × slow-consumer (no progress writing to you for 5 s): s7, s12"`.
 * At most `limit` kinds, and 5 names each.
 *
 * @example
 * ```ts
 * import { cutReasons } from "./cut_reasons.ts";
 * const log = "12:00:01 info  disconnected 127.0.0.1:5000 s7: slow-consumer (more than 1048576 bytes queued)";
 * console.assert(cutReasons(log)[0] === "1 × slow-consumer (more than 1048576 bytes queued): s7");
 * ```
 */
export function cutReasons(log: string, limit = 3): string[] {
  const byKind = new Map<string, string[]>();
  for (const line of log.split("\n")) {
    const match = SERVER_ENDED.exec(line.trimEnd());
    if (match === null) continue;
    const [, name, reason, detail] = match as unknown as [string, string, string, string];
    const kind = `${reason} (${detail})`;
    const names = byKind.get(kind);
    if (names === undefined) byKind.set(kind, [name]);
    else names.push(name);
  }
  return [...byKind]
    .sort((a, b) => b[1].length - a[1].length)
    .slice(0, limit)
    .map(([kind, names]) =>
      `${names.length} × ${kind}: ${names.slice(0, 5).join(", ")}${names.length > 5 ? ", …" : ""}`
    );
}
