/**
 * The `client` program's input history across sessions: one line per typed line in
 * `$XDG_STATE_HOME/switchboard/history` (default `~/.local/state/switchboard/history`), file mode
 * 0600, at most {@linkcode HISTORY_LIMIT} lines, and never a line that carries a password or a
 * token (`:login`, `:auth`, their `/` forms). Private to `cli/`.
 * @module
 */

import { dirname, join } from "node:path";

/** Lines kept in the history file (older ones are dropped). */
export const HISTORY_LIMIT = 1000;

/**
 * Where the history lives, from environment variables (`undefined` when neither
 * `XDG_STATE_HOME` nor `HOME` is set).
 */
export function historyPath(env: (name: string) => string | undefined): string | undefined {
  const state = env("XDG_STATE_HOME");
  // The XDG spec: a relative path is invalid and ignored.
  if (state !== undefined && state.startsWith("/")) return join(state, "switchboard", "history");
  const home = env("HOME");
  if (home === undefined || home === "") return undefined;
  return join(home, ".local", "state", "switchboard", "history");
}

/**
 * Whether a typed line must never be remembered: it carries a password or a token.
 *
 * @example
 * ```ts
 * import { isSecret } from "./_client_history.ts";
 * console.assert(isSecret(":login alice hunter2"));
 * console.assert(!isSecret("I forgot my :login password"));
 * ```
 */
export function isSecret(line: string): boolean {
  return /^\s*[:/](login|auth)(\s|$)/i.test(line);
}

/** Whether a typed line is worth remembering: not empty, not a secret. */
export function worthKeeping(line: string): boolean {
  return line.trim() !== "" && !isSecret(line);
}

/** The last `limit` lines of a history file's text, oldest first, without secrets. */
export function parseHistory(text: string, limit = HISTORY_LIMIT): string[] {
  const lines = text.split("\n").filter(worthKeeping);
  return lines.slice(Math.max(0, lines.length - limit));
}

/**
 * The history file: read once at start, then appended to line by line (several clients may run
 * at once), and rewritten with only the newest lines when it grows past twice the limit.
 */
export class HistoryFile {
  readonly path: string;
  readonly #limit: number;
  #lines: string[];
  #broken = false;

  private constructor(path: string, lines: string[], limit: number) {
    this.path = path;
    this.#lines = lines;
    this.#limit = limit;
  }

  /** Opens (reads) the history at `path`; a missing or unreadable file is an empty history. */
  static open(path: string, limit = HISTORY_LIMIT): HistoryFile {
    let text = "";
    try {
      text = Deno.readTextFileSync(path);
    } catch {
      // No history yet.
    }
    const all = text.split("\n").filter((line) => line !== "");
    const history = new HistoryFile(path, parseHistory(text, limit), limit);
    // A file that holds more than it should (or a secret from an older client) is trimmed now.
    if (all.length > limit || all.length !== text.split("\n").filter(worthKeeping).length) {
      history.#rewrite();
    }
    return history;
  }

  /** The lines, oldest first. */
  get lines(): readonly string[] {
    return this.#lines;
  }

  /** Remembers a typed line (unless it is empty or secret). */
  add(line: string): void {
    if (!worthKeeping(line) || /[\r\n]/.test(line) || this.#broken) return;
    this.#lines.push(line);
    if (this.#lines.length > 2 * this.#limit) {
      this.#lines = this.#lines.slice(-this.#limit);
      this.#rewrite();
      return;
    }
    try {
      Deno.mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      Deno.writeTextFileSync(this.path, line + "\n", { append: true, create: true, mode: 0o600 });
      Deno.chmodSync(this.path, 0o600);
    } catch {
      // A read-only home must not end the chat: history is simply not kept.
      this.#broken = true;
    }
  }

  /** Writes the newest lines to a fresh file (mode 0600) that replaces the old one. */
  #rewrite(): void {
    const keep = this.#lines.slice(-this.#limit);
    const temporary = `${this.path}.${Deno.pid}.tmp`;
    try {
      Deno.mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      Deno.writeTextFileSync(temporary, keep.map((line) => line + "\n").join(""), {
        createNew: true,
        mode: 0o600,
      });
      Deno.renameSync(temporary, this.path);
    } catch {
      this.#broken = true;
      try {
        Deno.removeSync(temporary);
      } catch {
        // Never created.
      }
    }
  }
}

/** The history file for this process's environment, or `undefined` when there is no home. */
export function openHistory(): HistoryFile | undefined {
  const path = historyPath((name) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  });
  return path === undefined ? undefined : HistoryFile.open(path);
}
