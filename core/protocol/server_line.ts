/**
 * The client's view of the wire grammar: one server line (`VERB param … :trailing`) becomes one
 * typed {@linkcode ServerEvent}. Pure functions, no sockets; the counterpart of `formatLine` in
 * `protocol.ts`.
 * @module
 */

import { parseSha256, parseWireNumber } from "./numbers.ts";

/** A server line cut into its parts, before any meaning is given to them. */
export interface RawServerLine {
  /** The first word, upper case by convention (`MSG`, `OK`, …). */
  verb: string;
  /** Space-separated parameters after the verb, up to the trailing one. */
  params: string[];
  /** Text after ` :`, which may contain spaces; `undefined` when the line has none. */
  trailing: string | undefined;
}

/**
 * Cuts a line into verb, parameters and trailing text. A parameter starting with `:` begins
 * the trailing text, which runs to the end of the line; runs of spaces between parameters count
 * as one.
 *
 * @example
 * ```ts
 * import { splitServerLine } from "./server_line.ts";
 * const raw = splitServerLine("MSG alice #dev :hi there");
 * console.assert(raw.verb === "MSG" && raw.params.join() === "alice,#dev" && raw.trailing === "hi there");
 * ```
 */
export function splitServerLine(line: string): RawServerLine {
  const params: string[] = [];
  let trailing: string | undefined;
  let verb = "";
  let pos = 0;
  let first = true;
  while (pos < line.length) {
    if (line[pos] === " ") {
      pos++;
      continue;
    }
    if (!first && line[pos] === ":") {
      trailing = line.slice(pos + 1);
      break;
    }
    const space = line.indexOf(" ", pos);
    const end = space < 0 ? line.length : space;
    const word = line.slice(pos, end);
    if (first) verb = word;
    else params.push(word);
    first = false;
    pos = end;
  }
  return { verb, params, trailing };
}

/** Fields every event carries. */
export interface EventBase {
  /** The line exactly as received (without its newline). */
  line: string;
}

/** `HELLO sb/1 <mode> <server-version> :<text>`: the greeting on every accepted connection. */
export interface HelloEvent extends EventBase {
  /** Discriminant. */
  type: "hello";
  /** Protocol version, e.g. `sb/1`. */
  protocol: string;
  /** `chat` relays between named clients; `echo` returns every line. */
  mode: "chat" | "echo";
  /** The server's release. */
  version: string;
  /** Greeting for a person. */
  text: string;
}

/** `WELCOME <name> <online> :<text>`: the name was accepted. */
export interface WelcomeEvent extends EventBase {
  /** Discriminant. */
  type: "welcome";
  /** The accepted name, spelled as the server keeps it. */
  name: string;
  /** Named clients online, including this one. */
  online: number;
  /** Greeting for a person. */
  text: string;
}

/** `MSG <from> <target> :<text>`: a lobby (`*`) or group (`#g`) message. */
export interface ChatEvent extends EventBase {
  /** Discriminant. */
  type: "message";
  /** The server's message id, when the line came as `@<id> MSG …` (`:ids on`). */
  id?: number;
  /** Sender (`server` for the operator console). */
  from: string;
  /** `*` for the lobby, `#<group>` for a group. */
  target: string;
  /** The message. */
  text: string;
}

/** `PM <from> :<text>`: a private message to this client. */
export interface PrivateEvent extends EventBase {
  /** Discriminant. */
  type: "private";
  /** The server's message id, when the line came as `@<id> PM …` (`:ids on`). */
  id?: number;
  /** Sender. */
  from: string;
  /** The message. */
  text: string;
}

/** `JOIN <name>` (lobby) or `JOIN <name> #<group>`. */
export interface JoinEvent extends EventBase {
  /** Discriminant. */
  type: "join";
  /** Who joined. */
  name: string;
  /** `*` for the lobby, `#<group>` for a group. */
  target: string;
}

/** `LEAVE <name> <reason>` (lobby) or `PART <name> #<group> <reason>`. */
export interface LeaveEvent extends EventBase {
  /** Discriminant. */
  type: "leave";
  /** Who left. */
  name: string;
  /** `*` for the lobby, `#<group>` for a group. */
  target: string;
  /** `left`, `quit`, `idle`, `stale`, … */
  reason: string;
}

/** `NICK <old> <new>`: someone (maybe this client) was renamed. */
export interface NickEvent extends EventBase {
  /** Discriminant. */
  type: "nick";
  /** The old name. */
  from: string;
  /** The new name. */
  to: string;
}

/** `KICK <name> :<reason>`: an admin removed someone else. */
export interface KickEvent extends EventBase {
  /** Discriminant. */
  type: "kick";
  /** Who was kicked. */
  name: string;
  /** The admin's reason. */
  text: string;
}

/** `PING`: a liveness probe; the client answers `:pong`. */
export interface PingEvent extends EventBase {
  /** Discriminant. */
  type: "ping";
}

/** `OK <verb> …`: the final line of a successful command. */
export interface OkEvent extends EventBase {
  /** Discriminant. */
  type: "ok";
  /** The command's verb without its colon (`group` for every `:group` subcommand). */
  verb: string;
  /** Parameters after the verb. */
  params: string[];
}

/** `ERR <code> :<text>`: a failed command or a refused line. */
export interface ErrEvent extends EventBase {
  /** Discriminant. */
  type: "error";
  /** Stable code, e.g. `no-such-user`. */
  code: string;
  /** Explanation for a person. */
  text: string;
}

/** `BYE <reason> :<text>`: the server closes this connection. */
export interface ByeEvent extends EventBase {
  /** Discriminant. */
  type: "bye";
  /** `quit`, `kicked`, `shutdown`, `idle`, … */
  reason: string;
  /** Explanation for a person. */
  text: string;
}

/** `USER <name> [<address>]`: one entry of `:list`. */
export interface UserEvent extends EventBase {
  /** Discriminant. */
  type: "user";
  /** A name online. */
  name: string;
  /** `ip:port`, shown to admins only. */
  address: string | undefined;
}

/** `GROUP #<group> <members>`: one entry of `:groups`. */
export interface GroupEvent extends EventBase {
  /** Discriminant. */
  type: "group";
  /** `#<group>`. */
  target: string;
  /** Number of members. */
  members: number;
}

/** `MEMBER #<group> <name>`: one entry of `:group members`. */
export interface MemberEvent extends EventBase {
  /** Discriminant. */
  type: "member";
  /** `#<group>`. */
  target: string;
  /** A member's name. */
  name: string;
}

/** `STAT <key> <value>`: one counter of `:stats`. */
export interface StatEvent extends EventBase {
  /** Discriminant. */
  type: "stat";
  /** Counter name, e.g. `disconnects.kicked`. */
  key: string;
  /** Its value, as sent. */
  value: string;
}

/** `HELP :<text>`: one line of `:help`. */
export interface HelpEvent extends EventBase {
  /** Discriminant. */
  type: "help";
  /** One help entry. */
  text: string;
}

/** `WHOAMI <name> <address> <role> :<groups>`: the answer of `:whoami`. */
export interface WhoamiEvent extends EventBase {
  /** Discriminant. */
  type: "whoami";
  /** This client's name (`-` before registration). */
  name: string;
  /** This client's address as the server sees it. */
  address: string;
  /** `user` or `admin`. */
  role: string;
  /** Groups this client belongs to, each with its `#`. */
  groups: string[];
}

/** `FILE <name> <size> <sha256>`: exactly `<size>` raw bytes follow this line (`:get`, `:accept`). */
export interface FileEvent extends EventBase {
  /** Discriminant. */
  type: "file";
  /** The file's name on the server (from another user: validate it before using it locally). */
  name: string;
  /** Bytes that follow the line. */
  size: number;
  /** SHA-256 of those bytes, lower-case hex. */
  sha256: string;
}

/** `FILEINFO <name> <size> <sha256> <uploader> <time>`: one entry of `:files`. */
export interface FileInfoEvent extends EventBase {
  /** Discriminant. */
  type: "fileinfo";
  /** The file's name in the shared area. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** SHA-256, lower-case hex. */
  sha256: string;
  /** Who uploaded it; `-` for a file the operator copied in. */
  uploader: string;
  /** When it was stored, ISO 8601 UTC. */
  time: string;
}

/** `OFFER <id> <from> <to> <name> <size> <sha256>`: someone offers this client a file. */
export interface OfferEvent extends EventBase {
  /** Discriminant. */
  type: "offer";
  /** The offer's number, for `:accept <id>` or `:decline <id>`. */
  id: number;
  /** The sender. */
  from: string;
  /** This client's name for a direct send, `#<group>` for a group send. */
  to: string;
  /** The file's name as the sender chose it. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** SHA-256, lower-case hex. */
  sha256: string;
}

/** `RECEIPT <id> <user> <outcome>`: how an offer this client made ended for one recipient. */
export interface ReceiptEvent extends EventBase {
  /** Discriminant. */
  type: "receipt";
  /** The offer's number, as in `OK send <id> <recipients>`. */
  id: number;
  /** The recipient. */
  user: string;
  /** `delivered`, `declined`, `expired`, `failed` or `left`. */
  outcome: string;
}

/** `STDOUT <command> :<line>` or `STDERR <command> :<line>`: output of a `:run`. */
export interface OutputEvent extends EventBase {
  /** Discriminant: which stream the line came from. */
  type: "stdout" | "stderr";
  /** The remote command's name. */
  name: string;
  /** One line of output. */
  text: string;
}

/** `COMMAND <name> <user|admin> <timeout>`: one entry of `:commands`. */
export interface CommandEvent extends EventBase {
  /** Discriminant. */
  type: "command";
  /** What to `:run`. */
  name: string;
  /** `user`, or `admin` for admin-only commands. */
  role: string;
  /** Seconds it may run. */
  timeout: number;
}

/** `ACK <seq>`: plain message number `<seq>` was handed to every recipient. */
export interface AckEvent extends EventBase {
  /** Discriminant. */
  type: "ack";
  /** The message's number on this connection, from 1. */
  seq: number;
}

/** `NACK <seq> <code> :<text>`: plain message number `<seq>` was refused. */
export interface NackEvent extends EventBase {
  /** Discriminant. */
  type: "nack";
  /** The message's number on this connection, from 1. */
  seq: number;
  /** Why, e.g. `line-too-long`. */
  code: string;
  /** Explanation for a person. */
  text: string;
}

/** `HISTORY <id> <time> <from> <target> :<text>`: a stored message, a data line of `:history`. */
export interface HistoryEvent extends EventBase {
  /** Discriminant. */
  type: "history";
  /** The message's id. */
  id: number;
  /** When the server accepted it: ISO 8601 UTC with milliseconds. */
  time: string;
  /** The sender. */
  from: string;
  /** `*` or `#group`. */
  target: string;
  /** The message. */
  text: string;
}

/** `SESSION <token>`: what resumes this session after a broken line (`:resume`). */
export interface SessionEvent extends EventBase {
  /** Discriminant. */
  type: "session";
  /** The token, good for one `:resume`. */
  token: string;
}

/** A line this client does not understand (a newer server, or a malformed line). */
export interface UnknownEvent extends EventBase {
  /** Discriminant. */
  type: "unknown";
  /** The verb found, possibly empty. */
  verb: string;
}

/** Every event a server line can be, discriminated by `type`. */
export type ServerEvent =
  | HelloEvent
  | WelcomeEvent
  | ChatEvent
  | PrivateEvent
  | JoinEvent
  | LeaveEvent
  | NickEvent
  | KickEvent
  | PingEvent
  | OkEvent
  | ErrEvent
  | ByeEvent
  | UserEvent
  | GroupEvent
  | MemberEvent
  | StatEvent
  | HelpEvent
  | WhoamiEvent
  | FileEvent
  | FileInfoEvent
  | OfferEvent
  | ReceiptEvent
  | OutputEvent
  | CommandEvent
  | AckEvent
  | NackEvent
  | SessionEvent
  | HistoryEvent
  | UnknownEvent;

/** The `type` of a {@linkcode ServerEvent}. */
export type ServerEventType = ServerEvent["type"];

/** Types of the data lines a command returns before its final `OK`. */
export const DATA_EVENT_TYPES: ReadonlySet<ServerEventType> = new Set([
  "user",
  "group",
  "member",
  "stat",
  "help",
  "whoami",
  "file",
  "fileinfo",
  "stdout",
  "stderr",
  "command",
  "history",
]);

/**
 * Parses one server line into a typed event. Never throws: a line that does not fit the
 * grammar of its verb becomes an `unknown` event carrying the raw line.
 *
 * @example
 * ```ts
 * import { parseServerLine } from "./server_line.ts";
 * const event = parseServerLine("PM bob :see you at 5");
 * console.assert(event.type === "private" && event.from === "bob" && event.text === "see you at 5");
 * ```
 */
export function parseServerLine(line: string): ServerEvent {
  if (line.startsWith("@")) return parseWithId(line);
  const { verb, params, trailing } = splitServerLine(line);
  const [a, b, c] = params;
  const text = trailing ?? "";
  const unknown: UnknownEvent = { type: "unknown", verb, line };
  switch (verb) {
    case "HELLO":
      if (a === undefined || (b !== "chat" && b !== "echo")) return unknown;
      return { type: "hello", protocol: a, mode: b, version: c ?? "", text, line };
    case "WELCOME": {
      if (a === undefined) return unknown;
      return { type: "welcome", name: a, online: count(b), text, line };
    }
    case "MSG":
      if (a === undefined || b === undefined) return unknown;
      return { type: "message", from: a, target: b, text, line };
    case "PM":
      if (a === undefined) return unknown;
      return { type: "private", from: a, text, line };
    case "JOIN":
      if (a === undefined) return unknown;
      return { type: "join", name: a, target: b ?? "*", line };
    case "LEAVE":
      if (a === undefined) return unknown;
      return { type: "leave", name: a, target: "*", reason: b ?? "", line };
    case "PART":
      if (a === undefined || b === undefined) return unknown;
      return { type: "leave", name: a, target: b, reason: c ?? "", line };
    case "NICK":
      if (a === undefined || b === undefined) return unknown;
      return { type: "nick", from: a, to: b, line };
    case "KICK":
      if (a === undefined) return unknown;
      return { type: "kick", name: a, text, line };
    case "PING":
      return { type: "ping", line };
    case "HISTORY": {
      const id = Number(a);
      if (!Number.isSafeInteger(id) || b === undefined || c === undefined) return unknown;
      const target = params[3];
      if (target === undefined) return unknown;
      return { type: "history", id, time: b, from: c, target, text, line };
    }
    case "SESSION":
      if (a === undefined) return unknown;
      return { type: "session", token: a, line };
    case "OK":
      if (a === undefined) return unknown;
      return { type: "ok", verb: a, params: params.slice(1), line };
    case "ERR":
      if (a === undefined) return unknown;
      return { type: "error", code: a, text, line };
    case "BYE":
      return { type: "bye", reason: a ?? "", text, line };
    case "USER":
      if (a === undefined) return unknown;
      return { type: "user", name: a, address: b, line };
    case "GROUP":
      if (a === undefined) return unknown;
      return { type: "group", target: a, members: count(b), line };
    case "MEMBER":
      if (a === undefined || b === undefined) return unknown;
      return { type: "member", target: a, name: b, line };
    case "STAT":
      if (a === undefined) return unknown;
      return { type: "stat", key: a, value: b ?? "", line };
    case "HELP":
      return { type: "help", text, line };
    case "WHOAMI":
      if (a === undefined || b === undefined) return unknown;
      return {
        type: "whoami",
        name: a,
        address: b,
        role: c ?? "user",
        groups: text.split(" ").filter((group) => group !== ""),
        line,
      };
    case "FILE": {
      const size = parseWireNumber(b);
      if (a === undefined || size === undefined || !isSha256(c)) return unknown;
      return { type: "file", name: a, size, sha256: c.toLowerCase(), line };
    }
    case "FILEINFO": {
      const [, , , uploader, time] = params;
      const size = parseWireNumber(b);
      if (a === undefined || size === undefined || !isSha256(c) || time === undefined) {
        return unknown;
      }
      return {
        type: "fileinfo",
        name: a,
        size,
        sha256: c.toLowerCase(),
        uploader: uploader ?? "-",
        time,
        line,
      };
    }
    case "OFFER": {
      const [, , , name, sizeWord, sha256] = params;
      const id = parseWireNumber(a), size = parseWireNumber(sizeWord);
      if (id === undefined || b === undefined || c === undefined || name === undefined) {
        return unknown;
      }
      if (size === undefined || !isSha256(sha256)) return unknown;
      return {
        type: "offer",
        id,
        from: b,
        to: c,
        name,
        size,
        sha256: sha256.toLowerCase(),
        line,
      };
    }
    case "RECEIPT": {
      const id = parseWireNumber(a);
      if (id === undefined || b === undefined || c === undefined) return unknown;
      return { type: "receipt", id, user: b, outcome: c, line };
    }
    case "STDOUT":
    case "STDERR":
      if (a === undefined) return unknown;
      return { type: verb === "STDOUT" ? "stdout" : "stderr", name: a, text, line };
    case "COMMAND": {
      const timeout = Number(c);
      if (a === undefined || b === undefined || c === undefined || !Number.isFinite(timeout)) {
        return unknown;
      }
      return { type: "command", name: a, role: b, timeout, line };
    }
    case "ACK": {
      const seq = parseWireNumber(a);
      if (seq === undefined) return unknown;
      return { type: "ack", seq, line };
    }
    case "NACK": {
      const seq = parseWireNumber(a);
      if (seq === undefined || b === undefined) return unknown;
      return { type: "nack", seq, code: b, text, line };
    }
    default:
      return unknown;
  }
}

function isSha256(text: string | undefined): text is string {
  return parseSha256(text) !== undefined;
}

function count(text: string | undefined): number {
  const value = Number(text);
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

/** `@<id> MSG …` or `@<id> PM …`: the message with its id; anything else after `@` is unknown. */
function parseWithId(line: string): ServerEvent {
  const space = line.indexOf(" ");
  const id = space > 1 ? Number(line.slice(1, space)) : NaN;
  const event = Number.isSafeInteger(id) && id > 0
    ? parseServerLine(line.slice(space + 1))
    : undefined;
  if (event === undefined || (event.type !== "message" && event.type !== "private")) {
    return { type: "unknown", verb: line.slice(0, space < 0 ? line.length : space), line };
  }
  return { ...event, id, line };
}
