/**
 * Acknowledgement bookkeeping on the client side of `:ack on`: the server numbers every plain
 * message 1, 2, 3 … per connection and answers each with `ACK <seq>` or `NACK <seq> …`, in order.
 * The client numbers the lines it writes the same way, so each answer names the very line it is
 * about, and whatever is still unanswered when a connection ends is known exactly. Pure
 * bookkeeping, no sockets.
 * @module
 */

/** A plain message written while acknowledgements were on, with the number the server gives it. */
export interface NumberedLine {
  /** Its number on this connection, from 1. */
  seq: number;
  /** The line as written. */
  line: string;
}

/**
 * True when the server takes `line` (from a registered client) as a plain message, which it
 * numbers: not empty, not `exit` (in any case), and not a command — `::text` is a message.
 *
 * @example
 * ```ts
 * import { isPlainMessage } from "./acks.ts";
 * console.assert(isPlainMessage("hello") && isPlainMessage("::-)"));
 * console.assert(!isPlainMessage(":list") && !isPlainMessage("EXIT") && !isPlainMessage(""));
 * ```
 */
export function isPlainMessage(line: string): boolean {
  if (line === "" || line.toLowerCase() === "exit") return false;
  return !(line.startsWith(":") && !line.startsWith("::"));
}

/**
 * Numbers plain messages and matches `ACK`/`NACK` lines back to them.
 *
 * @example
 * ```ts
 * import { AckTracker } from "./acks.ts";
 * const acks = new AckTracker();
 * acks.start();
 * acks.sent("first");
 * acks.sent("second");
 * console.assert(acks.answer(1) === "first" && acks.waiting === 1);
 * console.assert(acks.end().map((m) => m.line).join() === "second");
 * ```
 */
export class AckTracker {
  #active = false;
  #seq = 0;
  #waiting: NumberedLine[] = [];
  #head = 0;
  #missed: NumberedLine[] = [];

  /** True while the server acknowledges this connection's messages. */
  get active(): boolean {
    return this.#active;
  }

  /** Messages written and not answered yet (skipped ones included). */
  get waiting(): number {
    return this.#waiting.length - this.#head + this.#missed.length;
  }

  /** The lines of {@linkcode AckTracker.waiting}, oldest first. */
  get unanswered(): string[] {
    return [...this.#missed, ...this.#waiting.slice(this.#head)].map((m) => m.line);
  }

  /** `:ack on` was confirmed: numbering starts again at 1 (earlier lines stay unanswered). */
  start(): void {
    this.#drop();
    this.#active = true;
    this.#seq = 0;
  }

  /** `:ack off` was confirmed: nothing more is numbered. */
  stop(): void {
    this.#drop();
    this.#active = false;
  }

  /** Notes a line just written; numbers it when it is a plain message and acks are on. */
  sent(line: string): void {
    if (!this.#active || !isPlainMessage(line)) return;
    this.#waiting.push({ seq: ++this.#seq, line });
  }

  /**
   * The line that `ACK <seq>` or `NACK <seq>` answers, or `undefined` when no line waits under
   * that number. Lines numbered before it that got no answer (a server that skipped one) count
   * as never answered.
   */
  answer(seq: number): string | undefined {
    while (this.#head < this.#waiting.length) {
      const next = this.#waiting[this.#head] as NumberedLine;
      if (next.seq > seq) break;
      this.#head++;
      if (next.seq === seq) {
        this.#compact();
        return next.line;
      }
      this.#missed.push(next);
    }
    this.#compact();
    return undefined;
  }

  /** The connection ended: returns every line left unanswered, and starts over (off). */
  end(): NumberedLine[] {
    const left = [...this.#missed, ...this.#waiting.slice(this.#head)];
    this.#waiting = [];
    this.#head = 0;
    this.#missed = [];
    this.#active = false;
    this.#seq = 0;
    return left;
  }

  /** Lines still waiting when numbering restarts can no longer be matched: they are missed. */
  #drop(): void {
    this.#missed.push(...this.#waiting.slice(this.#head));
    this.#waiting = [];
    this.#head = 0;
  }

  /** Drops answered entries from the front now and then, not at every answer. */
  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
  }
}
