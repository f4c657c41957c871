/**
 * What the `client` program adds to `node:readline`'s line editor: Tab completion, Ctrl+R
 * reverse search, and an input history kept across sessions without secrets. The terminal
 * screen (`_client_terminal.ts`) calls {@linkcode extendEditor} once it has its readline
 * interface. Private to `cli/`.
 * @module
 */

import type { Interface } from "node:readline";
import {
  complete,
  type Completion,
  homeFolder,
  listPaths,
  type Roster,
  startFolder,
} from "./_client_completion.ts";
import { isSecret, openHistory } from "./_client_history.ts";
import { interceptKeys, ReverseSearch } from "./_client_search.ts";

/** Where typed lines are remembered across sessions (see `HistoryFile`). */
export interface LineHistory {
  /** Lines of earlier sessions, oldest first. */
  readonly lines: readonly string[];
  /** Remembers a typed line (the history leaves out empty and secret ones). */
  add(line: string): void;
}

/** The extras for the line editor; each is optional. */
export interface EditorOptions {
  /** Tab completion of the text before the cursor. */
  completer?: ((before: string) => Completion) | undefined;
  /** Input history across sessions. */
  history?: LineHistory | undefined;
}

/** What the terminal screen provides to the extras. */
export interface EditorHost {
  /** Shows `prompt` in place of the usual prompt; `undefined` brings the usual one back. */
  overlay(prompt: string | undefined): void;
  /** Whether a question ("Your name:") is being asked. */
  asking(): boolean;
}

/** Options for `createInterface` from {@linkcode EditorOptions}. */
export function interfaceOptions(options: EditorOptions): {
  history: string[];
  completer?: (before: string) => Completion;
} {
  const history = [...(options.history?.lines ?? [])].reverse();
  const completer = options.completer;
  if (completer === undefined) return { history };
  return {
    history,
    // A completer that throws would break the editor; no completion is better.
    completer: (before) => {
      try {
        return completer(before);
      } catch {
        return [[], before];
      }
    },
  };
}

/**
 * Hooks the extras into `rl` (created with {@linkcode interfaceOptions}): typed lines go to the
 * history file and secrets leave readline's own history at once; Ctrl+R searches. Returns a
 * function that unhooks them.
 */
export function extendEditor(
  rl: Interface,
  input: NodeJS.ReadStream,
  options: EditorOptions,
  host: EditorHost,
): () => void {
  const editor = rl as Interface & { history: string[]; line: string };
  rl.on("line", (line) => {
    if (isSecret(line)) forget(editor.history, line);
    else options.history?.add(line);
  });
  const search = new ReverseSearch({
    history: () => editor.history,
    line: () => editor.line,
    setLine: (text) => {
      rl.write("", { ctrl: true, name: "e" });
      rl.write("", { ctrl: true, name: "u" });
      if (text !== "") rl.write(text);
    },
    overlay: (prompt) => host.overlay(prompt),
    canSearch: () => !host.asking(),
  });
  const undo = interceptKeys(input, (text, key) => search.key(text, key));
  let undone = false;
  const unhook = () => {
    if (undone) return;
    undone = true;
    undo();
  };
  rl.on("close", unhook);
  return unhook;
}

/** Takes `line` out of readline's in-memory history (newest first). */
export function forget(history: string[], line: string): void {
  const index = history.indexOf(line);
  if (index >= 0) history.splice(index, 1);
}

/**
 * The extras for a chat session: completion from `roster` (plus the groups the client is in)
 * and local files relative to the folder the client was started from; the history file of
 * this user (none when there is no home folder).
 */
export function chatEditor(roster: Roster, ownGroups: () => readonly string[]): EditorOptions {
  const base = startFolder();
  const home = homeFolder();
  const sources = {
    names: () => roster.names(),
    groups: () => [...new Set([...roster.groups(), ...ownGroups()])].sort(),
    paths: (partial: string) => listPaths(partial, base, home),
  };
  return { completer: (before) => complete(before, sources), history: openHistory() };
}
