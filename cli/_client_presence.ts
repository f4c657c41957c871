/**
 * The interactive client while it is not connected, and the person's own messages. Instead of a
 * notice at every reconnect attempt, one status line above the prompt says why the client is
 * offline, when it tries next and when it gives up, redrawn in place every second; once it gave
 * up, the same line says how to try again or leave. The person's own lobby and group messages are
 * shown like everyone else's, replacing the raw prompt line. Private to `cli/`.
 * @module
 */

import type { ReceivedLine } from "../core/client/events.ts";
import { isPlainMessage } from "../core/client/acks.ts";
import { splitWords } from "../core/protocol/grammar.ts";
import type { Painter } from "./_client_render.ts";

/** How often the status line is redrawn while reconnecting. */
const TICK_MS = 1000;

type Phase =
  | { kind: "reconnecting"; deadline: number; attempt: number; nextAt: number; error: string }
  | { kind: "gave-up"; detail: string };

/**
 * The one status line of a disconnected interactive client. `draw` receives the lines to keep
 * above the prompt (none once connected again).
 */
export class ConnectionStatus {
  readonly #draw: (lines: string[]) => void;
  readonly #paint: Painter;
  readonly #columns: () => number;
  #phase: Phase | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Draws through `draw`, styled by `paint`, cut to `columns()`. */
  constructor(draw: (lines: string[]) => void, paint: Painter, columns: () => number) {
    this.#draw = draw;
    this.#paint = paint;
    this.#columns = columns;
  }

  /** The status lines to show now (at most one). */
  get lines(): string[] {
    const phase = this.#phase;
    if (phase === undefined) return [];
    const width = Math.max(20, this.#columns() - 1);
    if (phase.kind === "gave-up") {
      const text = `✗ ${phase.detail} · Enter tries again, Ctrl+D leaves`;
      return [this.#paint.paint("red", cut(text, width))];
    }
    const now = Date.now();
    const next = phase.nextAt > now
      ? `next try in ${Math.ceil((phase.nextAt - now) / 1000)} s`
      : `trying (attempt ${phase.attempt})`;
    const left = Math.max(0, Math.ceil((phase.deadline - now) / 1000));
    const text = `⟳ offline: ${phase.error} · ${next} · giving up in ${minutes(left)}`;
    return [this.#paint.paint("yellow", cut(text, width))];
  }

  /** The connection dropped and reconnecting starts; it gives up after `timeoutS` seconds. */
  reconnecting(error: string, timeoutS: number): void {
    const now = Date.now();
    this.#phase = {
      kind: "reconnecting",
      deadline: now + timeoutS * 1000,
      attempt: 1,
      nextAt: now,
      error,
    };
    this.#timer ??= setInterval(() => this.#draw(this.lines), TICK_MS);
    this.#draw(this.lines);
  }

  /** An attempt starts after `delayMs`; the last one failed with `error`. */
  attempt(attempt: number, delayMs: number, error: string | undefined): void {
    if (this.#phase?.kind !== "reconnecting") return;
    this.#phase = {
      ...this.#phase,
      attempt,
      nextAt: Date.now() + delayMs,
      error: error ?? this.#phase.error,
    };
    this.#draw(this.lines);
  }

  /** Reconnecting gave up: the line offers to try again or leave. */
  gaveUp(detail: string): void {
    this.#stopTimer();
    this.#phase = { kind: "gave-up", detail };
    this.#draw(this.lines);
  }

  /** Connected again, or the end: no status line. */
  clear(): void {
    this.#stopTimer();
    if (this.#phase === undefined) return;
    this.#phase = undefined;
    this.#draw([]);
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * Whether a typed line goes out as the person's own lobby or group message, so that its echo
 * (time, name, text) replaces the raw prompt line. A line starting with a single `/` is a
 * command, never a message.
 *
 * @example
 * ```ts
 * import { isOwnMessage } from "./_client_presence.ts";
 * console.assert(isOwnMessage("hello") && isOwnMessage(":group send dev hi"));
 * console.assert(!isOwnMessage(":list") && !isOwnMessage("/quit") && !isOwnMessage("  "));
 * ```
 */
export function isOwnMessage(line: string): boolean {
  if (line.trim() === "") return false;
  if (line.startsWith("/") && !line.startsWith("//")) return false;
  return isPlainMessage(line) || /^:group send \S+ \S/i.test(line);
}

/**
 * A lobby message this client sent, as the event everyone else receives (`MSG me * :text`), so
 * it is rendered and logged the same way; `undefined` for a line that is not a plain message.
 *
 * @example
 * ```ts
 * import { ownLobbyMessage } from "./_client_presence.ts";
 * const own = ownLobbyMessage("::-)", "alice");
 * console.assert(own?.event.type === "message" && own.event.text === ":-)");
 * ```
 */
export function ownLobbyMessage(line: string, me: string | undefined): ReceivedLine | undefined {
  if (me === undefined || !isPlainMessage(line)) return undefined;
  const text = line.startsWith("::") ? line.slice(1) : line;
  return {
    event: { type: "message", from: me, target: "*", text, line: `MSG ${me} * :${text}` },
    command: undefined,
    registration: false,
  };
}

/** The group and text of a `:group send <group> <text>` line. */
export function groupSendParts(command: string): { group: string; text: string } | undefined {
  const [verb, sub, group, text] = splitWords(command, 3);
  if (verb?.toLowerCase() !== ":group" || sub?.toLowerCase() !== "send") return undefined;
  if (group === undefined || text === undefined) return undefined;
  return { group: group.replace(/^#/, ""), text };
}

function cut(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join("")}…`;
}

function minutes(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return `${m}:${s}`;
}
