/**
 * Offline private messages across nodes. Each node keeps the `:pm`s to offline account holders
 * that were sent on it (`offline.ts`, `history/mailbox.ts`); at a `:login`, the node asks every
 * other node on `<cluster>.mail` to hand over — and delete — what it keeps for that account, and
 * sends it with its own, oldest first (`commands/_login.ts` through `ClusterView.takeMail`).
 *
 * One request, answered by every node (`requestMany`, as many answers as nodes are known, at most
 * {@linkcode MAIL_WAIT_MS}). Request `{"account": <name>}`, answer `{"mail": [[<time>, <line>]…]}`
 * with the `PM <from> :<text>\n` lines, oldest first. An answer is one NATS message: mail that
 * would make it larger than the bus allows stays on its node until the next login.
 * @module
 */

import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "@logtape/logtape";
import type { Mailbox, Waiting } from "../server/offline.ts";

/** How long a login waits for the other nodes' mail (ms). */
export const MAIL_WAIT_MS = 1000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Takes an account's mail from the other nodes, and hands this node's over when asked. */
export class RemoteMail {
  readonly #mailbox: Mailbox | undefined;
  readonly #log: Logger;

  /** Over this node's `mailbox` (none: nothing to hand over). */
  constructor(mailbox: Mailbox | undefined, log: Logger) {
    this.#mailbox = mailbox;
    this.#log = log;
  }

  /**
   * The answer to another node's request: this node's mail for the account, removed here. At most
   * `maxBytes` of answer; what does not fit is kept for a later login.
   */
  answer(data: Uint8Array, maxBytes: number): Uint8Array {
    let account: string | undefined;
    try {
      account = (JSON.parse(decoder.decode(data)) as { account?: unknown }).account as string;
    } catch {
      // Answered with no mail.
    }
    if (typeof account !== "string" || this.#mailbox === undefined) return encodeMail([]);
    const now = Date.now();
    const waiting = this.#mailbox.takeTimed(account, now);
    if (waiting.length === 0) return encodeMail([]);
    // Room for the JSON around the lines (quotes, escapes: a line grows at most sixfold).
    let size = 64;
    let fits = 0;
    for (const { line } of waiting) {
      size += 32 + line.length * 6;
      if (size > maxBytes) break;
      fits++;
    }
    if (fits < waiting.length) this.#keep(account, waiting.slice(fits));
    return encodeMail(waiting.slice(0, fits));
  }

  /**
   * Asks `others` nodes over `nc` for `account`'s mail and returns it, oldest first. Without a
   * link (`nc` undefined) or other nodes: none. Whatever arrives within a second is taken.
   */
  async take(
    nc: NatsConnection | undefined,
    subject: string,
    account: string,
    others: number,
  ): Promise<Waiting[]> {
    if (nc === undefined || others === 0) return [];
    const mail: Waiting[] = [];
    try {
      const answers = await nc.requestMany(subject, encoder.encode(JSON.stringify({ account })), {
        strategy: "count",
        maxMessages: others,
        maxWait: MAIL_WAIT_MS,
      });
      for await (const answer of answers) mail.push(...decodeMail(answer.data));
    } catch (error) {
      this.#log.warn("offline messages of {account} from other nodes: {error}", { account, error });
    }
    return mail.sort((a, b) => a.time - b.time);
  }

  /** Puts back mail that did not fit an answer (lost only if the mailbox is full by now). */
  #keep(account: string, waiting: readonly Waiting[]): void {
    this.#log.warn("{count} offline messages of {account} stay here: too large for one answer", {
      count: waiting.length,
      account,
    });
    // Ids below any real one: they come back first, in their order, at the next login.
    let id = 0;
    for (const { time, line } of waiting) {
      const prefixLength = line.indexOf(0x3a /* ":" */) + 1;
      const from = decoder.decode(line.subarray(3, prefixLength - 2));
      this.#mailbox?.keep({
        firstId: id++,
        count: 1,
        time,
        from,
        sender: undefined,
        route: { kind: "offline", account },
        target: account,
        wire: line,
        prefixLength,
      });
    }
  }
}

function encodeMail(mail: readonly Waiting[]): Uint8Array {
  return encoder.encode(
    JSON.stringify({ mail: mail.map(({ time, line }) => [time, decoder.decode(line)]) }),
  );
}

function decodeMail(data: Uint8Array): Waiting[] {
  try {
    const { mail } = JSON.parse(decoder.decode(data)) as { mail?: [number, string][] };
    if (!Array.isArray(mail)) return [];
    return mail
      .filter(([time, line]) => typeof time === "number" && typeof line === "string")
      .map(([time, line]) => ({ time, line: encoder.encode(line) }));
  } catch {
    return [];
  }
}
