/**
 * The `server` program's operator console for people: the lines the server says at start
 * (where the admin token file is, whether the files area is on, where the console is), the
 * prompt, and the replies of `Server.console` (protocol lines, which the library keeps
 * returning) turned into plain sentences: help as a list, stats as an aligned table, `OK broadcast
 * 0` as `sent to 0 people`, errors as `error: …`. Private to `cli/`.
 * @module
 */

import { parseServerLine, type ServerEvent } from "../core/protocol/server_line.ts";

/** Shown before each console line when stdin is a terminal. */
export const CONSOLE_PROMPT = "console> ";

/** Commands of a connection the console cannot use (it has no files and is admin already). */
const NOT_FOR_CONSOLE = /^:(put|get|send|accept|files|login|auth|ack|quit|name)\b/;

/** What the console adds to the server's `:help`. */
const CONSOLE_HELP = [["exit, :quit", "shut the server down (as :shutdown does)"]];

/** What the server says at start, after its `listening on` lines. */
export interface StartFacts {
  /** Token files written for a generated admin token (none when the token is configured). */
  tokenFiles: string[];
  /** The shared files folder, `""` when the files area is off. */
  filesDir: string;
  /** Whether the console reads stdin, and whether stdin is a terminal. */
  console: "terminal" | "stdin" | "off";
}

/**
 * The start lines after `listening on …`: `admin token: <file>` for each generated token file,
 * `files: <folder>` or `files: off`, and `console: …`.
 *
 * @example
 * ```ts
 * import { startLines } from "./_server_console.ts";
 * const lines = startLines({ tokenFiles: [], filesDir: "", console: "off" });
 * console.assert(lines.join("|") === "files: off|console: off (--console turns it on)");
 * ```
 */
export function startLines(facts: StartFacts): string[] {
  const lines = facts.tokenFiles.map((path) => `admin token: ${path} (shutdown reads it)`);
  lines.push(`files: ${facts.filesDir === "" ? "off" : facts.filesDir}`);
  lines.push(
    facts.console === "off"
      ? "console: off (--console turns it on)"
      : `console: ${
        facts.console === "terminal" ? "this terminal" : "stdin"
      }; type :help for commands, exit to shut down`,
  );
  return lines;
}

/**
 * The replies to one console line, for a person. Lines this does not know come back as they were.
 *
 * @example
 * ```ts
 * import { humanReplies } from "./_server_console.ts";
 * console.assert(humanReplies(["OK broadcast 0"])[0] === "sent to 0 people");
 * console.assert(humanReplies(["ERR no-such-user :nobody called \"x\" is online"])[0] === 'error: nobody called "x" is online');
 * ```
 */
export function humanReplies(replies: readonly string[]): string[] {
  const events = replies.map(parseServerLine);
  const out: string[] = [];
  const stats = events.filter((event) => event.type === "stat");
  if (stats.length > 0) out.push(...statsTable(stats));
  const help = events.filter((event) => event.type === "help");
  if (help.length > 0) out.push(...helpList(help.map((event) => event.text)));
  for (const [i, event] of events.entries()) {
    if (event.type === "stat" || event.type === "help") continue;
    const line = humanLine(event, replies[i] ?? "");
    if (line !== undefined) out.push(line);
  }
  return out;
}

function humanLine(event: ServerEvent, raw: string): string | undefined {
  switch (event.type) {
    case "ok":
      return okLine(event.verb, event.params);
    case "error":
      return `error: ${event.text}`;
    case "user":
      return `  ${event.name}${event.address === undefined ? "" : `  ${event.address}`}`;
    case "group":
      return `  #${event.target}  ${plural(event.members, "member")}`;
    case "member":
      return `  ${event.name}`;
    case "whoami":
      return `${event.name} (${event.address}, ${event.role})`;
    case "command":
      return `  ${event.name}  ${event.role === "admin" ? "admin only" : "everyone"}, ` +
        `timeout ${event.timeout} s`;
    case "stdout":
    case "stderr":
      return `  ${event.name}${event.type === "stderr" ? " (stderr)" : ""}: ${event.text}`;
    default:
      return raw;
  }
}

function okLine(verb: string, params: string[]): string | undefined {
  const count = Number(params[0]);
  switch (verb) {
    case "help":
    case "stats":
    case "whoami":
      // The list, table or line above says it all.
      return undefined;
    case "broadcast":
      return `sent to ${plural(count, "person", "people")}`;
    case "list":
      return `${count} online`;
    case "groups":
      return plural(count, "group");
    case "commands":
      return plural(count, "command");
    case "shutdown":
      return "shutting down…";
    default:
      return `done: ${[verb, ...params].join(" ")}`;
  }
}

/** The lines of `:help`, without the commands a console cannot use, plus the console's own. */
function helpList(texts: string[]): string[] {
  const rows: [string, string][] = [];
  for (const text of texts) {
    if (NOT_FOR_CONSOLE.test(text)) continue;
    if (text.startsWith("admin:")) {
      // "admin: :kick <user> [reason]  :rename <old> <new>  …": one row each.
      for (const command of text.slice("admin:".length).trim().split(/\s{2,}/)) {
        rows.push([command, "(admin)"]);
      }
      continue;
    }
    // "<command and arguments>   <what it does>", split at the first run of 2+ spaces.
    const match = /^(.*?\S)\s{2,}(\S.*)$/.exec(text);
    rows.push(match === null ? [text, ""] : [match[1] ?? "", match[2] ?? ""]);
  }
  for (const [command, text] of CONSOLE_HELP) rows.push([command ?? "", text ?? ""]);
  const width = Math.min(34, Math.max(...rows.map(([command]) => command.length)));
  return [
    "commands (the console has admin rights):",
    ...rows.map(([command, text]) =>
      text === "" ? `  ${command}` : `  ${command.padEnd(width)}  ${text}`
    ),
  ];
}

/** `STAT` lines as an aligned two-column table; disconnect reasons grouped under one heading. */
function statsTable(stats: ServerEvent[]): string[] {
  const rows: [string, string][] = [];
  const reasons: [string, string][] = [];
  for (const event of stats) {
    if (event.type !== "stat") continue;
    if (event.key.startsWith("disconnects.")) {
      reasons.push([`  ${event.key.slice("disconnects.".length)}`, event.value]);
    } else {
      rows.push([event.key, event.key === "uptime" ? uptime(event.value) : event.value]);
    }
  }
  if (reasons.length > 0) {
    const total = reasons.reduce((sum, [, value]) => sum + (Number(value) || 0), 0);
    rows.push(["disconnects", String(total)], ...reasons);
  }
  const keyWidth = Math.max(...rows.map(([key]) => key.length));
  const valueWidth = Math.max(...rows.map(([, value]) => value.length));
  return rows.map(([key, value]) => `${key.padEnd(keyWidth)}  ${value.padStart(valueWidth)}`);
}

/** Seconds of uptime as `42 s`, `3 min 20 s`, `2 h 05 min`, `3 d 4 h`. */
function uptime(text: string): string {
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0) return text;
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
