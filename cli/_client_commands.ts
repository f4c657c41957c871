/**
 * IRC habits for the `client` program: every command the client knows also works with `/`
 * instead of `:` (`/quit`, `/pm`, `/msg`, `/join`, `/part`, `/nick`, `/me`, `/help`, …), a line
 * starting with one `/` is never sent as a message, and `//text` sends `/text`. Pure functions;
 * private to `cli/`.
 * @module
 */

/** Commands the client handles itself (`:help`, `:put`, …). */
export const LOCAL_COMMANDS: readonly string[] = [
  "help",
  "status",
  "wait",
  "sleep",
  "put",
  "get",
  "send",
  "accept",
  "quit",
];

/** Server commands a person types (see docs/protocol.md); `:pong` and `:login` are left out. */
export const SERVER_COMMANDS: readonly string[] = [
  "pm",
  "group",
  "groups",
  "list",
  "name",
  "whoami",
  "ping",
  "auth",
  "files",
  "rm",
  "decline",
  "commands",
  "run",
  "ack",
  "kick",
  "rename",
  "reload",
  "shutdown",
  "stats",
];

/** `/` forms that are not a `:` command of the same name. */
export const SLASH_ALIASES: Readonly<Record<string, string>> = {
  msg: ":pm",
  query: ":pm",
  join: ":group join",
  part: ":group leave",
  leave: ":group leave",
  nick: ":name",
  me: "(an action: * you text)",
};

/** Every command word, for completion and for telling a command from a typo. */
export const COMMAND_WORDS: readonly string[] = [
  ...new Set([...LOCAL_COMMANDS, ...SERVER_COMMANDS, ...Object.keys(SLASH_ALIASES)]),
].sort();

/** `:help` lists these after the client's own commands. */
export const SLASH_HELP: readonly string[] = [
  "/quit  /help  /status  /put …  /pm …  every :command also works with / instead of :",
  "/msg <user|#group> <text>   private message (a #group: a message to the group)",
  "/join <group>  /part <group> join an existing group (:group create makes one), leave it",
  "/nick <name>                change your name (:name)",
  "/me <text>                  an action: everyone sees  * yourname text",
  "//text                      sends /text as a message",
];

/** What a typed line becomes. */
export type SlashOutcome =
  /** Handle `line` as if it had been typed (a `:command`, or a message to send as it is). */
  | { kind: "line"; line: string; message?: boolean }
  /** Send nothing; tell the person `text`. */
  | { kind: "hint"; text: string };

/**
 * Turns a typed line starting with `/` into the `:command` or message it stands for; any other
 * line comes back unchanged. `me` is the current name (for `/me`).
 *
 * @example
 * ```ts
 * import { fromSlash } from "./_client_commands.ts";
 * console.assert(fromSlash("/msg bob hi", "alice").kind === "line");
 * console.assert(JSON.stringify(fromSlash("//etc/hosts", "a")) === '{"kind":"line","line":"/etc/hosts","message":true}');
 * ```
 */
export function fromSlash(line: string, me: string | undefined): SlashOutcome {
  const trimmed = line.trimStart();
  if (!trimmed.startsWith("/")) return { kind: "line", line };
  if (trimmed.startsWith("//")) return { kind: "line", line: trimmed.slice(1), message: true };
  const match = /^\/(\S*)\s*(.*)$/s.exec(trimmed);
  const verb = (match?.[1] ?? "").toLowerCase();
  const rest = (match?.[2] ?? "").trim();
  const [first = "", ...others] = rest === "" ? [] : rest.split(/\s+/);
  const text = rest.slice(first.length).trim();
  const usage = (form: string): SlashOutcome => ({ kind: "hint", text: `usage: ${form}` });
  const command = (text: string): SlashOutcome => ({ kind: "line", line: text });
  switch (verb) {
    case "":
      return {
        kind: "hint",
        text: 'a line starting with / is a command (/help lists them); type //text to send "/text"',
      };
    case "quit":
    case "exit":
      return command(":quit");
    case "msg":
    case "pm":
    case "query":
      if (first === "" || text === "") return usage(`/${verb} <user|#group> <text>`);
      return first.startsWith("#")
        ? command(`:group send ${first.slice(1)} ${text}`)
        : command(`:pm ${first} ${text}`);
    case "join":
    case "part":
    case "leave":
      if (first === "" || others.length > 0) return usage(`/${verb} <group>`);
      return command(`:group ${verb === "join" ? "join" : "leave"} ${first.replace(/^#/, "")}`);
    case "nick":
      if (first === "" || others.length > 0) return usage("/nick <new name>");
      return command(`:name ${first}`);
    case "me":
      if (rest === "") return usage("/me <action>");
      return { kind: "line", line: actionText(me, rest), message: true };
  }
  if (COMMAND_WORDS.includes(verb)) return command(`:${verb}${rest === "" ? "" : ` ${rest}`}`);
  const safe = verb.length > 20 ? `${verb.slice(0, 20)}…` : verb;
  return {
    kind: "hint",
    text: `unknown command /${safe}: nothing was sent (/help lists the commands; ` +
      `//${safe} sends "/${safe}" as a message)`,
  };
}

/**
 * An action (`/me waves`) on the wire: a plain lobby message `* alice waves`, which every
 * client (and `ncat`) shows readably; this client renders it as an action when the name after
 * the `* ` is the sender's own.
 */
export function actionText(me: string | undefined, text: string): string {
  return me === undefined ? `* ${text}` : `* ${me} ${text}`;
}

/**
 * The action in a message from `from`, or `undefined` when the text is not one: it must start
 * with `* <from> `, so nobody can make an action look as if someone else did it.
 */
export function actionOf(from: string, text: string): string | undefined {
  const prefix = `* ${from} `;
  if (text.length <= prefix.length) return undefined;
  if (text.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) return undefined;
  return text.slice(prefix.length);
}
