/**
 * The wire grammar of `docs/protocol.md`, as pure functions: command parsing, server-line
 * formatting, name rules and text neutralisation. No sockets, no state.
 * @module
 */

import type { DisconnectReason, ErrorCode } from "./errors.ts";

/** Protocol version announced in `HELLO`. */
export const PROTOCOL_VERSION = "sb/1";

/** Longest name, in characters (names are ASCII). */
export const MAX_NAME_LENGTH = 32;

const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;

/**
 * Why a proposed name breaks the name syntax, or `undefined` when it is well-formed. Reserved
 * names and look-alikes of taken ones are the hub's business (`Hub.reservedLike`, `Hub.isTaken`).
 */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return "a name cannot be empty";
  if (name.length > MAX_NAME_LENGTH) return `a name has at most ${MAX_NAME_LENGTH} characters`;
  if (!NAME_PATTERN.test(name)) {
    return "a name uses only letters A-Z a-z, digits, '_', '-' and '.'";
  }
  return undefined;
}

/** The text of `ERR name-reserved` for `name`, which is or imitates the reserved name `reserved`. */
export function reservedText(name: string, reserved: string): string {
  return nameKey(name) === nameKey(reserved)
    ? `"${name}" is reserved`
    : `"${name}" looks like the reserved name "${reserved}"`;
}

/** The key under which a name or group is unique: names compare without regard to case. */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

/** Strips the optional `#` of a group name. */
export function groupName(raw: string): string {
  return raw.startsWith("#") ? raw.slice(1) : raw;
}

/** A parsed `:command` line. `rest` is everything after the verb, trimmed at the start. */
export interface Command {
  /** The verb without its colon, lower-cased. */
  verb: string;
  /** Text after the verb. */
  rest: string;
}

/** Parses a line starting with `:` into verb and the rest. */
export function parseCommand(line: string): Command {
  const space = line.indexOf(" ");
  const verb = (space < 0 ? line.slice(1) : line.slice(1, space)).toLowerCase();
  const rest = space < 0 ? "" : line.slice(space + 1).trimStart();
  return { verb, rest };
}

/**
 * Splits `count` space-separated words off the front of `text`; the last element is the rest
 * of the text (possibly empty), so `splitWords("bob hi there", 1)` is `["bob", "hi there"]`.
 */
export function splitWords(text: string, count: number): string[] {
  const parts: string[] = [];
  let rest = text.trimStart();
  for (let i = 0; i < count; i++) {
    const space = rest.indexOf(" ");
    if (space < 0) {
      parts.push(rest);
      rest = "";
    } else {
      parts.push(rest.slice(0, space));
      rest = rest.slice(space + 1).trimStart();
    }
  }
  parts.push(rest);
  return parts;
}

/** Formats a server line: `VERB p1 p2 :trailing\n`. Parameters must not contain spaces. */
export function formatLine(
  verb: string,
  params: readonly (string | number)[] = [],
  trailing?: string,
): string {
  let line = params.length > 0 ? `${verb} ${params.join(" ")}` : verb;
  if (trailing !== undefined) line += ` :${trailing}`;
  return line + "\n";
}

/** `ERR <code> :<text>` */
export function errLine(code: ErrorCode, text: string): string {
  return formatLine("ERR", [code], text);
}

/** `OK <verb> …` */
export function okLine(verb: string, ...params: (string | number)[]): string {
  return formatLine("OK", [verb, ...params]);
}

/** `BYE <reason> :<text>` */
export function byeLine(reason: DisconnectReason, text: string): string {
  return formatLine("BYE", [reason], text);
}

// C0 controls except tab, DEL, C1 controls, bidi embeddings/overrides/isolates, line and
// paragraph separators: everything that can move a terminal's cursor, recolour it, or make a
// log line look like two.
// deno-lint-ignore no-control-regex
const UNSAFE_CHARACTERS = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const REPLACEMENT = "\uFFFD";

/** Replaces control characters and text-direction overrides with U+FFFD; keeps all else. */
export function neutralize(text: string): string {
  return text.replace(UNSAFE_CHARACTERS, REPLACEMENT);
}

/**
 * True when UTF-8 `bytes` certainly contain nothing {@linkcode neutralize} would change, checked
 * without decoding: no byte below 0x20 but tab, no DEL, and no lead byte (0xC2, 0xE2) that starts
 * a C1 control or a U+20xx separator/override. A `false` only means "decode and look".
 */
export function isPlainText(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (byte < 0x20) {
      if (byte !== 0x09) return false;
    } else if (byte === 0x7f || byte === 0xc2 || byte === 0xe2) {
      return false;
    }
  }
  return true;
}

/** Formats a network peer for lines and logs: `1.2.3.4:5` or `[::1]:5`. */
export function formatAddress(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The `:help` text, one entry a line. */
export const HELP_LINES: readonly string[] = [
  "<text>                      send a message to everyone in the lobby",
  ":pm <user> <text>           private message",
  ":group create|join|leave <group>",
  ":group members <group>      list a group's members",
  ":group send <group> <text>  message a group you belong to",
  ":groups                     list groups",
  ":history [*|#group] [n] [before <id>]  the last n (50) stored messages",
  ":list                       list who is online",
  ":name <new>                 change your name",
  ":whoami                     your name, address and role",
  ":ping                       round trip to the server",
  ":login <name> <password>    log in to your account (takes its name)",
  ":auth <token>               become an admin",
  ":put <name> <size> <sha256> upload to the shared area (the bytes follow the line)",
  ":get <name>                 download from the shared area (FILE line, bytes, OK)",
  ":files                      list the shared area;  :rm <name> removes your file",
  ":send <user|#group> <name> <size> <sha256>  offer a file (the bytes follow the line)",
  ":accept <id>  :decline <id> take or refuse a file someone OFFERed you",
  ":commands                   commands you may :run <command> [args...]",
  ":ack on|off                 ACK/NACK <seq> for each message you send",
  ":ids on|off                 message ids (@<id> MSG …), for :resume <token> <last-id>",
  ":quit (or exit)             leave",
  "admin: :kick <user> [reason]  :rename <old> <new>  :shutdown [grace] [reason]  :stats",
  "admin: :shutdown node <slot> [grace] [reason]  stop another node of a cluster (see :stats)",
];
