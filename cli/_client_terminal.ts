/**
 * Where the `client` program reads lines and shows output: an interactive terminal (a real line
 * editor from `node:readline`, with incoming lines printed above the prompt and the half-typed
 * line redrawn), or plain streams for scripts (stdin lines, or the `--send` list). Private to
 * `cli/`.
 * @module
 */

import process from "node:process";
import { stripVTControlCharacters } from "node:util";
import { displayWidth } from "./_client_progress.ts";
import {
  clearScreenDown,
  createInterface,
  cursorTo,
  type Interface,
  moveCursor,
} from "node:readline";
import { type EditorOptions, extendEditor, interfaceOptions } from "./_client_editor.ts";

/** Where output goes. */
export interface Screen {
  /** Shows a line of conversation (stdout). */
  show(text: string): void;
  /** Shows a notice: above the prompt on a terminal, on stderr for scripts. */
  notice(text: string): void;
  /** Changes the prompt (terminal only). */
  setPrompt(text: string): void;
  /**
   * Lines kept just above the prompt and redrawn in place (transfer progress; terminal only).
   * Each must fit in one row. An empty list removes them.
   */
  setStatus(lines: readonly string[]): void;
  /** Stops reading and gives the terminal back. */
  close(): void;
}

/** Where typed lines come from. */
export interface LineSource {
  /** The next line, or `null` at the end of input (Ctrl+D, Ctrl+C, end of a pipe). */
  next(): Promise<string | null>;
}

const encoder = new TextEncoder();

function writeLine(stream: { writeSync(data: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text + "\n");
  try {
    for (let offset = 0; offset < bytes.length;) offset += stream.writeSync(bytes.subarray(offset));
  } catch {
    // The reader went away (a closed pipe): nothing left to tell it.
  }
}

/** What the program tells the terminal about typed lines and keys. */
export interface TerminalHooks {
  /** True for a line whose own echo will replace the raw prompt line (your message). */
  retracts?: (line: string) => boolean;
  /** Ctrl+C on an empty line, the first time: say how to leave (a second one leaves). */
  interruptHint?: () => void;
}

/**
 * The interactive terminal: a `node:readline` line editor (history with the arrow keys,
 * Ctrl+A/E, …) whose prompt and half-typed line survive incoming messages. Ctrl+C clears the
 * line, as in a shell; twice on an empty line (or Ctrl+D on one) it leaves.
 */
export class TerminalScreen implements Screen, LineSource {
  readonly #rl: Interface;
  readonly #lines: string[] = [];
  #wake: (() => void) | undefined;
  #status: readonly string[] = [];
  /** Status rows on the screen right now (above the prompt). */
  #statusRows = 0;
  #prompting = false;
  #closed = false;
  /** The prompt, and what Ctrl+R shows instead while it searches. */
  #basePrompt: string;
  #overlay: string | undefined;
  readonly #hooks: TerminalHooks;
  /** A question (`ask`) is on the screen: Ctrl+C there leaves at once. */
  #asking = false;
  /** The last key was Ctrl+C on an empty line: another one leaves. */
  #interrupted = false;
  readonly #onKey = (_text: unknown, key: { ctrl?: boolean; name?: string } | undefined) => {
    if (!(key?.ctrl && key.name === "c")) this.#interrupted = false;
  };

  /**
   * Takes over the terminal (raw mode) until {@linkcode TerminalScreen.close}; `editor` adds
   * Tab completion, Ctrl+R and a history kept across sessions (cli/_client_editor.ts), `hooks`
   * what Ctrl+C and the end of input do.
   */
  constructor(prompt: string, editor: EditorOptions = {}, hooks: TerminalHooks = {}) {
    this.#basePrompt = prompt;
    this.#hooks = hooks;
    this.#rl = createInterface({
      input: process.stdin,
      output: process.stdout,
      terminal: true,
      prompt,
      historySize: 1000,
      removeHistoryDuplicates: true,
      ...interfaceOptions(editor),
    });
    extendEditor(this.#rl, process.stdin, editor, {
      overlay: (text) => {
        this.#overlay = text;
        this.#showPrompt();
      },
      asking: () => this.#asking,
    });
    this.#rl.on("line", (line) => {
      this.#lines.push(line);
      const retract = this.#hooks.retracts?.(line) ?? false;
      if (this.#statusRows > 0 || retract) this.#keepStatusBelow(line, !retract);
      // Draw the next prompt at once: keys typed while this line is handled land after it, and
      // output meanwhile goes above it.
      if (this.#prompting) this.#rl.prompt();
      this.#notify();
    });
    this.#rl.on("close", () => {
      // Ctrl+D: what follows (the goodbye) starts on a line of its own, not after the prompt.
      if (this.#prompting && !this.#closed) this.#erasePrompt();
      this.#closed = true;
      this.#prompting = false;
      process.stdin.off("keypress", this.#onKey);
      this.#notify();
    });
    this.#rl.on("SIGINT", () => this.#interrupt());
    process.stdin.on("keypress", this.#onKey);
  }

  /** Ctrl+C: clears a half-typed line; on an empty line warns once, then leaves. */
  #interrupt(): void {
    if (this.#asking || this.#interrupted) {
      this.#rl.close();
      return;
    }
    if (this.#rl.line !== "") {
      this.#rl.write(null, { ctrl: true, name: "e" });
      this.#rl.write(null, { ctrl: true, name: "u" });
      return;
    }
    this.#interrupted = true;
    this.#hooks.interruptHint?.();
  }

  /** Asks a question on the terminal; `null` when the person pressed Ctrl+D or Ctrl+C. */
  ask(question: string): Promise<string | null> {
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const onClose = () => resolve(null);
      this.#rl.once("close", onClose);
      this.#prompting = true;
      this.#asking = true;
      this.#rl.question(question, (answer) => {
        this.#rl.off("close", onClose);
        this.#prompting = false;
        this.#asking = false;
        resolve(answer);
      });
    });
  }

  async next(): Promise<string | null> {
    for (;;) {
      const line = this.#lines.shift();
      if (line !== undefined) return line;
      if (this.#closed) return null;
      if (!this.#prompting) {
        this.#prompting = true;
        this.#rl.prompt();
      }
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  show(text: string): void {
    if (!this.#prompting || this.#closed) {
      writeLine(Deno.stdout, text);
      return;
    }
    // Erase the status, the prompt and what is typed so far (it may span rows), print the line
    // where they were, then draw the status and let readline draw the prompt and the typed text
    // again below it.
    const rows = this.#erasePrompt();
    this.#redraw(text + "\n", rows);
  }

  setStatus(lines: readonly string[]): void {
    this.#status = lines;
    if (!this.#prompting || this.#closed) return;
    if (lines.length === 0 && this.#statusRows === 0) return;
    const rows = this.#erasePrompt();
    this.#redraw("", rows);
  }

  /**
   * Enter leaves the finished line on the screen below the status lines; move them under it, so
   * they stay right above the next prompt instead of scrolling away with the conversation. With
   * `keep` false the finished line is removed (its echo will be printed instead).
   */
  #keepStatusBelow(line: string, keep = true): void {
    const echoed = this.#rl.getPrompt() + line;
    const columns = process.stdout.columns || 80;
    const width = displayWidth(stripVTControlCharacters(echoed));
    const rows = Math.floor(Math.max(0, width - 1) / columns) + 1;
    moveCursor(process.stdout, 0, -(rows + this.#statusRows));
    cursorTo(process.stdout, 0);
    clearScreenDown(process.stdout);
    const status = this.#status.map((text) => text + "\n").join("");
    this.#statusRows = this.#status.length;
    process.stdout.write((keep ? echoed + "\n" : "") + status);
  }

  /** Writes `text` (complete lines), the status lines, then the prompt and typed text. */
  #redraw(text: string, rows: number): void {
    const status = this.#status.map((line) => line + "\n").join("");
    this.#statusRows = this.#status.length;
    // readline moves up by the rows it last drew before redrawing: leave it that many blank rows.
    process.stdout.write(text + status + "\n".repeat(rows));
    this.#rl.prompt(true);
  }

  notice(text: string): void {
    this.show(text);
  }

  setPrompt(text: string): void {
    this.#basePrompt = text;
    this.#showPrompt();
  }

  #showPrompt(): void {
    const text = this.#overlay ?? this.#basePrompt;
    if (this.#rl.getPrompt() === text) return;
    this.#rl.setPrompt(text);
    if (this.#prompting && !this.#closed) this.#redraw("", this.#erasePrompt());
  }

  close(): void {
    if (this.#closed) return;
    if (this.#prompting) this.#erasePrompt();
    this.#closed = true;
    this.#rl.close();
  }

  /**
   * Moves to where the status lines (or, without them, the prompt) start and clears everything
   * from there down; returns the rows of the prompt and typed text above the cursor.
   */
  #erasePrompt(): number {
    const rows = this.#rl.getCursorPos().rows;
    moveCursor(process.stdout, 0, -rows - this.#statusRows);
    cursorTo(process.stdout, 0);
    clearScreenDown(process.stdout);
    this.#statusRows = 0;
    return rows;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** Output for scripts: conversation on stdout, notices on stderr. */
export class PlainScreen implements Screen {
  show(text: string): void {
    writeLine(Deno.stdout, text);
  }

  /** Writes a question on stderr without ending the line. */
  prompt(question: string): void {
    try {
      Deno.stderr.writeSync(encoder.encode(question));
    } catch {
      // Nobody reads stderr.
    }
  }

  notice(text: string): void {
    writeLine(Deno.stderr, text);
  }

  setPrompt(): void {}

  setStatus(): void {}

  close(): void {}
}

/** Lines of standard input, read as they come (with backpressure: one line at a time). */
export class StdinLines implements LineSource {
  #reader: ReadableStreamDefaultReader<string> | undefined;
  #buffer = "";
  #done = false;

  async next(): Promise<string | null> {
    // Opened on first use: reading stdin must not start while a line editor owns the terminal.
    this.#reader ??= Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const newline = this.#buffer.indexOf("\n");
      if (newline >= 0) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        return line.endsWith("\r") ? line.slice(0, -1) : line;
      }
      if (this.#done) {
        const rest = this.#buffer;
        this.#buffer = "";
        return rest === "" ? null : rest;
      }
      const { value, done } = await this.#reader.read();
      if (done) this.#done = true;
      else this.#buffer += value;
    }
  }
}

/** A fixed list of lines (the `--send` flags), then the end. */
export class ListLines implements LineSource {
  readonly #lines: string[];

  /** Serves `lines` in order. */
  constructor(lines: readonly string[]) {
    this.#lines = [...lines];
  }

  next(): Promise<string | null> {
    return Promise.resolve(this.#lines.shift() ?? null);
  }
}
