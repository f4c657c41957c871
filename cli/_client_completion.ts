/**
 * Tab completion for the `client` program's line editor: command words (`/` and `:` forms),
 * the names of people online and the groups the client has heard of (kept by a
 * {@linkcode Roster} from the server's lines), and local file names for `:put` and `:send`,
 * relative to the folder the client was started from. Private to `cli/`.
 * @module
 */

import { join } from "node:path";
import type { ClientLineEvent } from "../core/client/events.ts";
import { COMMAND_WORDS, LOCAL_COMMANDS, SERVER_COMMANDS } from "./_client_commands.ts";

/** Candidates and the text they replace, as `node:readline`'s `completer` returns them. */
export type Completion = [string[], string];

/** At most this many file names are offered (a huge folder stays responsive). */
const MAX_FILES = 500;

/** Who is online and which groups exist, as far as the server's lines have told. */
export class Roster {
  /** Name key (lower case) → the name as written. */
  readonly #names = new Map<string, string>();
  readonly #groups = new Map<string, string>();

  /** Names online, sorted. */
  names(): string[] {
    return [...this.#names.values()].sort((a, b) => a.localeCompare(b));
  }

  /** Group names without `#`, sorted. */
  groups(): string[] {
    return [...this.#groups.values()].sort((a, b) => a.localeCompare(b));
  }

  /** Learns from one server line. */
  observe(event: ClientLineEvent): void {
    switch (event.type) {
      case "welcome":
      case "user":
      case "member":
        this.#addName(event.name);
        return;
      case "join":
        this.#addName(event.name);
        if (event.target !== "*") this.#addGroup(event.target);
        return;
      case "leave":
        if (event.target === "*") this.#names.delete(event.name.toLowerCase());
        return;
      case "kick":
        this.#names.delete(event.name.toLowerCase());
        return;
      case "nick":
        this.#names.delete(event.from.toLowerCase());
        this.#addName(event.to);
        return;
      case "message":
        if (event.from !== "server") this.#addName(event.from);
        if (event.target !== "*") this.#addGroup(event.target);
        return;
      case "private":
        this.#addName(event.from);
        return;
      case "group":
        this.#addGroup(event.target);
        return;
      case "ok":
        if (event.verb === "group" && ["create", "join"].includes(event.params[0] ?? "")) {
          this.#addGroup(event.params[1] ?? "");
        }
        return;
      default:
        return;
    }
  }

  #addName(name: string): void {
    if (name !== "" && name !== "*") this.#names.set(name.toLowerCase(), name);
  }

  #addGroup(group: string): void {
    const name = group.replace(/^#/, "");
    if (name !== "") this.#groups.set(name.toLowerCase(), name);
  }
}

/** What completion draws from. */
export interface CompletionSources {
  /** Names online. */
  names(): readonly string[];
  /** Group names (without `#`). */
  groups(): readonly string[];
  /** Local paths starting with `partial` (see {@linkcode listPaths}). */
  paths(partial: string): string[];
}

/** `candidates` that start with `word` (names: whatever the case), written as typed so far. */
function matching(word: string, candidates: readonly string[], suffix = ""): string[] {
  const lower = word.toLowerCase();
  return candidates
    .filter((candidate) => candidate.toLowerCase().startsWith(lower))
    .map((candidate) => word + candidate.slice(word.length) + suffix);
}

function groupsFor(word: string, sources: CompletionSources): string[] {
  const hash = word.startsWith("#") ? "#" : "";
  return matching(word, sources.groups().map((g) => hash + g), " ");
}

/**
 * Completes the word before the cursor (`before` is the line up to the cursor).
 *
 * @example
 * ```ts
 * import { complete } from "./_client_completion.ts";
 * const sources = { names: () => ["bob", "Bella"], groups: () => ["dev"], paths: () => [] };
 * console.assert(complete("/pm b", sources)[0].join() === "bob ,bella ");
 * ```
 */
export function complete(before: string, sources: CompletionSources): Completion {
  const words = before.split(/\s+/);
  const word = words.at(-1) ?? "";
  const done = words.slice(0, -1).filter((w) => w !== "");
  const none: Completion = [[], word];
  if (done.length === 0) {
    if (word.startsWith("/") && !word.startsWith("//")) {
      return [matching(word, COMMAND_WORDS.map((c) => `/${c}`), " "), word];
    }
    if (word.startsWith(":") && !word.startsWith("::")) {
      const colon = [...new Set([...LOCAL_COMMANDS, ...SERVER_COMMANDS])].sort();
      return [matching(word, colon.map((c) => `:${c}`), " "), word];
    }
  }
  const first = done[0] ?? "";
  const command = /^[:/]/.test(first) && !/^(::|\/\/)/.test(first)
    ? first.slice(1).toLowerCase()
    : undefined;
  if (command === undefined) {
    // In a message: names, with "name: " at the start of the line, as on IRC.
    if (word === "") return none;
    return [matching(word, sources.names(), done.length === 0 ? ": " : " "), word];
  }
  const position = done.length - 1;
  const names = () => matching(word, sources.names(), " ");
  switch (command) {
    case "pm":
    case "kick":
    case "rename":
      return position === 0 ? [names(), word] : none;
    case "msg":
    case "query":
      return position === 0 ? [[...names(), ...groupsFor(word, sources)], word] : none;
    case "send":
      if (position === 0) return [[...names(), ...groupsFor(word, sources)], word];
      return position === 1 ? [sources.paths(word), word] : none;
    case "put":
      return position === 0 ? [sources.paths(word), word] : none;
    case "join":
    case "part":
    case "leave":
      return position === 0 ? [groupsFor(word, sources), word] : none;
    case "group":
      if (position === 0) {
        return [matching(word, ["create", "join", "leave", "members", "send"], " "), word];
      }
      return position === 1 ? [groupsFor(word, sources), word] : none;
    default:
      return none;
  }
}

/**
 * Local paths that start with `partial`, relative to `base` (absolute ones as they are, `~/`
 * under `home`); folders end with `/`; hidden entries only when the name typed starts with `.`.
 */
export function listPaths(partial: string, base: string, home?: string): string[] {
  const slash = partial.lastIndexOf("/");
  const folder = partial.slice(0, slash + 1);
  const start = partial.slice(slash + 1);
  let where = folder === "" ? base : folder;
  if (folder.startsWith("~/") && home !== undefined) where = join(home, folder.slice(2));
  else if (!folder.startsWith("/") && folder !== "") where = join(base, folder);
  const found: string[] = [];
  try {
    for (const entry of Deno.readDirSync(where)) {
      if (!entry.name.startsWith(start)) continue;
      if (entry.name.startsWith(".") && !start.startsWith(".")) continue;
      let isFolder = entry.isDirectory;
      if (entry.isSymlink) {
        try {
          isFolder = Deno.statSync(join(where, entry.name)).isDirectory;
        } catch {
          // A dangling link: offered as a file.
        }
      }
      found.push(folder + entry.name + (isFolder ? "/" : ""));
      if (found.length >= MAX_FILES) break;
    }
  } catch {
    return [];
  }
  return found.sort();
}

/**
 * The folder the person started the client from: `INIT_CWD` (set by `deno task`, which runs
 * the program in the project folder) or the working directory.
 */
export function startFolder(): string {
  try {
    return Deno.env.get("INIT_CWD") || Deno.cwd();
  } catch {
    return Deno.cwd();
  }
}

/** The home folder, for `~/` in paths (`undefined` when unknown). */
export function homeFolder(): string | undefined {
  try {
    return Deno.env.get("HOME") || undefined;
  } catch {
    return undefined;
  }
}
