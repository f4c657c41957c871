/**
 * Ctrl+R in the `client` program's line editor: reverse incremental search of the input
 * history, as in bash. `node:readline` has none, so the keys are looked at before readline sees
 * them ({@linkcode interceptKeys}); while a search runs it takes the keys it knows and shows
 * `(reverse-i-search)'query': match` in place of the prompt. Private to `cli/`.
 * @module
 */

/** A key as `node:readline`'s `keypress` event describes it. */
export interface Key {
  name?: string | undefined;
  ctrl?: boolean | undefined;
  meta?: boolean | undefined;
  shift?: boolean | undefined;
  sequence?: string | undefined;
}

/**
 * The index of the newest entry at or after `from` (history is newest first) that contains
 * `query`, whatever the case; -1 when none does.
 */
export function searchHistory(history: readonly string[], query: string, from = 0): number {
  const lower = query.toLowerCase();
  for (let i = Math.max(0, from); i < history.length; i++) {
    if ((history[i] ?? "").toLowerCase().includes(lower)) return i;
  }
  return -1;
}

/** What the search needs from the line editor. */
export interface SearchHost {
  /** The input history, newest first. */
  history(): readonly string[];
  /** The line being edited. */
  line(): string;
  /** Replaces the line being edited (cursor at its end). */
  setLine(text: string): void;
  /** Shows `prompt` in place of the usual prompt; `undefined` brings the usual one back. */
  overlay(prompt: string | undefined): void;
  /** Whether a search may start now (not while a question such as "Your name:" is asked). */
  canSearch(): boolean;
}

/** The state of a reverse search, and what each key does to it. */
export class ReverseSearch {
  readonly #host: SearchHost;
  #active = false;
  #query = "";
  #index = -1;
  #original = "";

  /** A search over `host`'s history. */
  constructor(host: SearchHost) {
    this.#host = host;
  }

  /** Whether a search is running. */
  get active(): boolean {
    return this.#active;
  }

  /**
   * Looks at a key before readline does; returns true when the search took it (readline must
   * not see it).
   */
  key(text: string | undefined, key: Key | undefined): boolean {
    const ctrl = key?.ctrl === true;
    const name = key?.name;
    if (!this.#active) {
      if (!(ctrl && name === "r") || !this.#host.canSearch()) return false;
      this.#active = true;
      this.#query = "";
      this.#index = -1;
      this.#original = this.#host.line();
      this.#show();
      return true;
    }
    if (ctrl && name === "r") {
      // The next older match.
      if (this.#query !== "") {
        const next = searchHistory(this.#host.history(), this.#query, this.#index + 1);
        if (next >= 0) this.#index = next;
      }
      this.#show();
      return true;
    }
    if ((ctrl && (name === "g" || name === "c")) || name === "escape") {
      this.#end(this.#original);
      return true;
    }
    if (name === "backspace") {
      this.#query = this.#query.slice(0, -1);
      this.#index = this.#query === "" ? -1 : searchHistory(this.#host.history(), this.#query, 0);
      this.#show();
      return true;
    }
    const printable = text !== undefined && text.length > 0 && !ctrl && key?.meta !== true &&
      !/\p{Cc}/u.test(text);
    if (printable) {
      this.#query += text;
      this.#index = searchHistory(this.#host.history(), this.#query, Math.max(0, this.#index));
      this.#show();
      return true;
    }
    // Any other key (Enter, arrows, Ctrl+A/E, Tab, …) takes the match into the line and then
    // does what it always does.
    this.#end(this.#match() ?? this.#original);
    return false;
  }

  /** Ends a running search, keeping the line as it is shown (a reconnect, the editor closing). */
  cancel(): void {
    if (this.#active) this.#end(this.#match() ?? this.#original);
  }

  #match(): string | undefined {
    return this.#index < 0 ? undefined : this.#host.history()[this.#index];
  }

  #show(): void {
    const failed = this.#query !== "" && this.#index < 0;
    this.#host.overlay(`(${failed ? "failed " : ""}reverse-i-search)'${this.#query}': `);
    this.#host.setLine(this.#match() ?? (this.#query === "" ? this.#original : ""));
  }

  #end(line: string): void {
    this.#active = false;
    this.#host.overlay(undefined);
    this.#host.setLine(line);
  }
}

/** An input stream that emits `keypress` events (what `node:readline` listens to). */
interface KeypressSource {
  // deno-lint-ignore ban-types
  listeners(event: "keypress"): Function[];
  on(event: "keypress", listener: (...args: unknown[]) => void): unknown;
  // deno-lint-ignore ban-types
  off(event: "keypress", listener: Function): unknown;
}

/**
 * Puts `filter` in front of the `keypress` listeners `input` has now (the line editor's): a key
 * the filter takes (returns true for) does not reach them. Returns a function that undoes it.
 */
export function interceptKeys(
  input: KeypressSource,
  filter: (text: string | undefined, key: Key | undefined) => boolean,
): () => void {
  const editors = input.listeners("keypress");
  for (const listener of editors) input.off("keypress", listener);
  const front = (...args: unknown[]) => {
    const [text, key] = args as [string | undefined, Key | undefined];
    if (filter(text, key)) return;
    for (const listener of editors) (listener as (...args: unknown[]) => void).apply(input, args);
  };
  input.on("keypress", front);
  return () => input.off("keypress", front);
}
