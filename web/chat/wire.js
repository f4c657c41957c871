// The sb/1 lines the page reads and writes (docs/protocol.md); pure functions, no DOM.

/**
 * Splits a server line: an optional `@<id>` prefix, the verb, space-separated parameters and
 * the trailing text after ` :`.
 */
export function parseLine(line) {
  let id;
  let rest = line;
  if (rest.startsWith("@")) {
    const space = rest.indexOf(" ");
    id = Number(rest.slice(1, space));
    rest = space < 0 ? "" : rest.slice(space + 1);
  }
  let text;
  let head = rest;
  const colon = rest.startsWith(":") ? 0 : rest.indexOf(" :");
  if (colon >= 0) {
    text = rest.slice(colon === 0 ? 1 : colon + 2);
    head = rest.slice(0, colon);
  }
  const [verb = "", ...params] = head.split(" ").filter((word) => word !== "");
  return { id, verb, params, text };
}

/** Lines that belong to the command being answered, before its final `OK` or `ERR`. */
export const DATA_VERBS = new Set([
  "USER",
  "GROUP",
  "MEMBER",
  "STAT",
  "HELP",
  "WHOAMI",
  "FILE",
  "FILEINFO",
  "COMMAND",
  "STDOUT",
  "STDERR",
  "HISTORY",
]);

/**
 * C0 and C1 control characters and the bidirectional overrides and isolates, which could
 * reorder or hide what is shown: each becomes U+FFFD, as the server does for terminals.
 */
// deno-lint-ignore no-control-regex -- finding control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` safe to show as text. */
export function neutralize(text) {
  return text.replace(UNSAFE, "\ufffd");
}

/**
 * What to send for `input` typed in the conversation `target` (`*`, `#group` or `@name`):
 * a `:command` goes as typed, `::x` is the message `:x`; otherwise a message to the target.
 */
export function outgoingLine(input, target) {
  if (input.startsWith(":") && !input.startsWith("::")) return { line: input, command: true };
  const body = input.startsWith("::") ? input.slice(1) : input;
  if (target === "*") return { line: input, command: false, text: body };
  if (target.startsWith("#")) {
    return { line: `:group send ${target.slice(1)} ${body}`, command: false, text: body };
  }
  return { line: `:pm ${target.slice(1)} ${body}`, command: false, text: body };
}

/** True when `text` mentions `name` as a word, without regard to case. */
export function mentions(text, name) {
  if (name === "") return false;
  const escaped = name.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");
  return new RegExp(`(^|[^A-Za-z0-9_.-])@?${escaped}($|[^A-Za-z0-9_-])`, "i").test(text);
}
