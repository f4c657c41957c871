/**
 * Commands waiting for their answers, oldest first. A server answers one connection's commands
 * in the order they came, so whatever answer arrives belongs to the oldest command still
 * waiting: its data lines (`USER`, `MEMBER`, a `FILE` and its bytes) gather under it until its
 * final `OK` or `ERR` (from an echo server: the line coming back). Pure bookkeeping: the session
 * writes the lines and reads the answers.
 * @module
 */

import type { Answer } from "./answer.ts";
import type { EchoEvent } from "./events.ts";
import type { PayloadReceiver } from "./payload.ts";
import { parseCommand } from "../protocol/grammar.ts";
import type { ErrEvent, OkEvent, ServerEvent } from "../protocol/server_line.ts";

/** A command written, as far as reporting its answer is concerned. */
export interface WaitingCommand {
  /** The line as written. */
  readonly line: string;
  /** Written by the client itself (a `:ping` of `settle`, a re-join): its lines are not reported. */
  readonly internal: boolean;
}

interface Waiting extends WaitingCommand {
  /** Data lines, kept for a caller awaiting the answer (not for lines merely sent). */
  data: ServerEvent[] | undefined;
  resolve: (answer: Answer) => void;
  /** Where the bytes after a `FILE` line in this command's answer go. */
  receive: PayloadReceiver | undefined;
}

/** How a caller awaits an answer; see {@linkcode RequestQueue.expect}. */
export interface Expectation {
  /** The client's own command, whose lines are not reported. @default {false} */
  internal?: boolean;
  /** Where the bytes after a `FILE` line in the answer go. */
  receive?: PayloadReceiver | undefined;
  /** Called at once when the final line comes, before anything else is handled. */
  onAnswer?: ((answer: Answer) => void) | undefined;
}

/**
 * True when the server answers `line` with exactly one final line of its own: a `:command`
 * other than `:pong` and `:quit` (`::text` is a message), or any line but `exit` to an echo
 * server.
 */
export function expectsAnswer(mode: "chat" | "echo", line: string): boolean {
  if (mode === "echo") return line.toLowerCase() !== "exit";
  if (!line.startsWith(":") || line.startsWith("::")) return false;
  const verb = parseCommand(line).verb;
  return verb !== "pong" && verb !== "quit";
}

/** The commands of one connection that wait for their answers, in the order written. */
export class RequestQueue {
  readonly #waiting: Waiting[] = [];

  /** True while some command waits for its answer. */
  get busy(): boolean {
    return this.#waiting.length > 0;
  }

  /** The oldest command waiting: the one the next answer is about. */
  get head(): WaitingCommand | undefined {
    return this.#waiting[0];
  }

  /** A command about to be written that nobody awaits (a typed `:command`): its answer is still its own. */
  passBy(line: string, internal: boolean): void {
    this.#waiting.push({ line, internal, data: undefined, resolve: () => {}, receive: undefined });
  }

  /** A command about to be written; resolves with its answer. */
  expect(line: string, how: Expectation = {}): Promise<Answer> {
    const { internal = false, receive, onAnswer } = how;
    return new Promise((resolve) => {
      const settle = onAnswer === undefined ? resolve : (answer: Answer) => {
        try {
          onAnswer(answer);
        } catch {
          // The caller's own bug; the answer still resolves.
        }
        resolve(answer);
      };
      this.#waiting.push({ line, internal, data: [], resolve: settle, receive });
    });
  }

  /** Files a data line under the oldest command; returns that command, or `undefined` when none waits. */
  gather(event: ServerEvent): WaitingCommand | undefined {
    const head = this.#waiting[0];
    head?.data?.push(event);
    return head;
  }

  /** The sink the oldest command gave for the bytes after a `FILE` line; handed out once. */
  takeReceiver(): PayloadReceiver | undefined {
    const head = this.#waiting[0];
    const receive = head?.receive;
    if (head !== undefined) head.receive = undefined;
    return receive;
  }

  /** The final line came: the oldest command is answered and leaves the queue (call when busy). */
  answer(final: OkEvent | ErrEvent | EchoEvent): WaitingCommand {
    const head = this.#waiting.shift() as Waiting;
    head.resolve({ command: head.line, final, data: head.data ?? [] });
    return head;
  }

  /**
   * The connection ended: every command still waiting is answered with no final line. Returns
   * the lines of those the program sent (they may or may not have been carried out).
   */
  abandon(): string[] {
    const waiting = this.#waiting.splice(0);
    for (const entry of waiting) {
      entry.resolve({ command: entry.line, final: undefined, data: entry.data ?? [] });
    }
    return waiting.filter((entry) => !entry.internal).map((entry) => entry.line);
  }
}
