/**
 * Getting a person's attention in the `client` program: a message that says their name (as a
 * word, whatever the case) or a private message is highlighted and rings the terminal bell
 * (`--no-bell` turns the bell off). Pure functions but {@linkcode ringBell}; private to `cli/`.
 * @module
 */

import type { ClientLineEvent } from "../core/client/events.ts";

/** Characters a name is made of (see `nameProblem` in core/protocol/grammar.ts). */
const NAME_CHAR = "A-Za-z0-9_";

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");
}

/**
 * A pattern matching `me` as a word: not inside a longer name (`alice` is not mentioned by
 * `malice`, `alice_2` or `alice-bot`), but followed by punctuation it is (`alice:`, `alice.`).
 */
export function mentionPattern(me: string): RegExp {
  return new RegExp(
    `(?<![${NAME_CHAR}.-])${escape(me)}(?![${NAME_CHAR}-]|\\.[${NAME_CHAR}])`,
    "gi",
  );
}

/**
 * Whether `text` says `me`.
 *
 * @example
 * ```ts
 * import { mentions } from "./_client_notify.ts";
 * console.assert(mentions("hey ALICE, lunch?", "alice"));
 * console.assert(!mentions("malice", "alice"));
 * ```
 */
export function mentions(text: string, me: string | undefined): boolean {
  if (me === undefined || me === "") return false;
  return mentionPattern(me).test(text);
}

/** `text` with every mention of `me` passed through `mark` (for highlighting). */
export function markMentions(text: string, me: string, mark: (word: string) => string): string {
  return text.replace(mentionPattern(me), (word) => mark(word));
}

/**
 * Whether an event from the server is for the person's attention: a private message, or a
 * lobby or group message from someone else that mentions `me`.
 */
export function wantsAttention(event: ClientLineEvent, me: string | undefined): boolean {
  if (event.type === "private") return true;
  if (event.type !== "message" || event.from === "server") return false;
  if (me !== undefined && event.from.toLowerCase() === me.toLowerCase()) return false;
  return mentions(event.text, me);
}

/** Rings the terminal bell (BEL on stdout; it moves nothing on the screen). */
export function ringBell(): void {
  try {
    Deno.stdout.writeSync(new Uint8Array([7]));
  } catch {
    // No terminal to ring.
  }
}
