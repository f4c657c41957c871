/**
 * Times from the server (ISO 8601, UTC) shown the way chat lines show theirs: local time. Private
 * to `cli/`.
 * @module
 */

/**
 * `iso` as a local date and time, `YYYY-MM-DD HH:MM:SS`; text that is not a time comes back as it
 * was.
 *
 * @example
 * ```ts
 * import { localDateTime } from "./_local_time.ts";
 * console.assert(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(localDateTime("2026-01-02T03:04:05.000Z")));
 * console.assert(localDateTime("soon") === "soon");
 * ```
 */
export function localDateTime(iso: string): string {
  if (!/^\d{4}-\d\d-\d\dT/.test(iso)) return iso;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const two = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}
