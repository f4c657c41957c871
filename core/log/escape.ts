/**
 * Escaping of values written into log lines, shared by the record formatters and the relayed
 * message lines: a crafted name or reason cannot end a line or drive the operator's terminal.
 * @module
 */

import { sanitizeControlSequences } from "@logtape/logtape";

/**
 * What {@linkcode escapeUnsafe} must touch: C0 controls (so `\n`, `\r`, ESC), DEL, C1 controls,
 * the Unicode line/paragraph separators, and bidirectional overrides and isolates. Tab passes.
 */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const unsafeChars = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const unsafeUnicode = /[\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Escapes everything in a value that could end the line or drive a terminal, as `\n`, `\x1b`,
 * `\u2028` and so on. Most values are plain, so one regex test decides.
 *
 * @example
 * ```ts
 * import { escapeUnsafe } from "./escape.ts";
 * console.assert(escapeUnsafe("a\nb") === "a\\nb");
 * console.assert(escapeUnsafe("plain") === "plain");
 * ```
 */
export function escapeUnsafe(text: string): string {
  if (!unsafeChars.test(text)) return text;
  const escaped = sanitizeControlSequences(text, { sgr: "escape", newlines: "escape" });
  return escaped.replace(
    unsafeUnicode,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
