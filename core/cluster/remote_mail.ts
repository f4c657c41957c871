/**
 * Offline private messages across nodes. Each node keeps the `:pm`s to offline account holders
 * that were sent on it (`offline.ts`, `history/mailbox.ts`); at a `:login`, the node asks every
 * other node on `<cluster>.mail` to hand over — and delete — what it keeps for that account, and
 * sends it with its own, oldest first (`commands/_login.ts` through `ClusterView.takeMail`).
 *
 * One request, answered by every node (`requestMany`, as many answers as nodes are known, at most
 * {@linkcode MAIL_WAIT_MS}). Request `{"account": <name>}`, answer
 * `{"loan": <id>, "mail": [[<time>, <line>]…]}` with the `PM <from> :<text>\n` lines, oldest
 * first. An answer is one NATS message: mail that would make it larger than the bus allows stays
 * on its node until the next login.
 *
 * Handed over in two steps, so that nothing is lost on the way: the answering node lends its mail
 * (out of its mailbox, held aside) and forgets it only when the login node confirms on
 * `<cluster>.mail.taken` (`{"loans": [<id>…]}`) that it queued the lines to its connection. An
 * answer that came after the login stopped waiting, or a connection that closed meanwhile, is never
 * confirmed: after {@linkcode MAIL_LOAN_MS} the lender puts the mail back for the next login.
 * @module
 */

import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "@logtape/logtape";
import type { Mailbox, Waiting } from "../server/offline.ts";

/** How long a login waits for the other nodes' mail (ms). */
export const MAIL_WAIT_MS = 1000;
/** How long lent mail waits for its confirmation before it goes back to the mailbox (ms). */
export const MAIL_LOAN_MS = 10_000;

/** Mail taken from the other nodes for a login: confirm once its lines are queued to the client. */
export interface MailLoan {
  /** The messages, oldest first. */
  readonly mail: readonly Waiting[];
  /** Tells the lending nodes the mail reached the connection; without it they take it back. */
  confirm(): void;
}

/** Mail lent to a login node and not confirmed yet. */
interface Loan {
  readonly account: string;
  readonly waiting: readonly Waiting[];
  readonly timer: ReturnType<typeof setTimeout>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Takes an account's mail from the other nodes, and hands this node's over when asked. */
export class RemoteMail {
  readonly #mailbox: Mailbox | undefined;
  readonly #log: Logger;
  readonly #loans = new Map<string, Loan>();
  readonly #loanPrefix = crypto.randomUUID().slice(0, 8);
  #loanCount = 0;

  readonly #loanMs: number;

  /**
   * Over this node's `mailbox` (none: nothing to hand over); lent mail comes back after `loanMs`
   * without a confirmation.
   */
  constructor(mailbox: Mailbox | undefined, log: Logger, loanMs = MAIL_LOAN_MS) {
    this.#mailbox = mailbox;
    this.#log = log;
    this.#loanMs = loanMs;
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
    const lent = waiting.slice(0, fits);
    if (lent.length === 0) return encodeMail([]);
    const loan = `${this.#loanPrefix}-${++this.#loanCount}`;
    const timer = setTimeout(() => this.#takeBack(loan, "was not confirmed"), this.#loanMs);
    this.#loans.set(loan, { account, waiting: lent, timer });
    return encodeMail(lent, loan);
  }

  /** A login node confirmed loans (`<cluster>.mail.taken`): those of this node are forgotten. */
  settle(data: Uint8Array): void {
    let loans: unknown;
    try {
      loans = (JSON.parse(decoder.decode(data)) as { loans?: unknown }).loans;
    } catch {
      return;
    }
    if (!Array.isArray(loans)) return;
    for (const id of loans) {
      const loan = this.#loans.get(String(id));
      if (loan === undefined) continue;
      clearTimeout(loan.timer);
      this.#loans.delete(String(id));
    }
  }

  /** Puts every unconfirmed loan back (the node is leaving the cluster). */
  takeAllBack(): void {
    for (const loan of [...this.#loans.keys()]) this.#takeBack(loan, "was not confirmed by close");
  }

  /**
   * Asks `others` nodes over `nc` for `account`'s mail and returns it, oldest first. Without a
   * link (`nc` undefined) or other nodes: none. Whatever arrives within a second is taken.
   */
  async take(
    nc: NatsConnection | undefined,
    subjects: { mail: string; mailTaken: string },
    account: string,
    others: number,
  ): Promise<MailLoan> {
    if (nc === undefined || others === 0) return { mail: [], confirm: () => {} };
    const mail: Waiting[] = [];
    const loans: string[] = [];
    try {
      const request = encoder.encode(JSON.stringify({ account }));
      const answers = await nc.requestMany(subjects.mail, request, {
        strategy: "count",
        maxMessages: others,
        maxWait: MAIL_WAIT_MS,
      });
      for await (const answer of answers) {
        const { loan, waiting } = decodeMail(answer.data);
        mail.push(...waiting);
        if (loan !== undefined) loans.push(loan);
      }
    } catch (error) {
      this.#log.warn("offline messages of {account} from other nodes: {error}", { account, error });
    }
    mail.sort((a, b) => a.time - b.time);
    const confirm = () => {
      if (loans.length === 0) return;
      try {
        nc.publish(subjects.mailTaken, encoder.encode(JSON.stringify({ loans })));
      } catch (error) {
        this.#log.warn("could not confirm the offline messages of {account}: {error}", {
          account,
          error,
        });
      }
    };
    return { mail, confirm };
  }

  #takeBack(id: string, why: string): void {
    const loan = this.#loans.get(id);
    if (loan === undefined) return;
    clearTimeout(loan.timer);
    this.#loans.delete(id);
    this.#log.info(
      "{count} offline messages of {account} are kept here again: the hand-over {why}",
      {
        count: loan.waiting.length,
        account: loan.account,
        why,
      },
    );
    this.#putBack(loan.account, loan.waiting);
  }

  /** Puts back mail that did not fit an answer (lost only if the mailbox is full by now). */
  #keep(account: string, waiting: readonly Waiting[]): void {
    this.#log.warn("{count} offline messages of {account} stay here: too large for one answer", {
      count: waiting.length,
      account,
    });
    this.#putBack(account, waiting);
  }

  /** Keeps `waiting` in the mailbox again (a login sorts what it hands over by time). */
  #putBack(account: string, waiting: readonly Waiting[]): void {
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

function encodeMail(mail: readonly Waiting[], loan?: string): Uint8Array {
  const lines = mail.map(({ time, line }) => [time, decoder.decode(line)]);
  return encoder.encode(
    JSON.stringify(loan === undefined ? { mail: lines } : { loan, mail: lines }),
  );
}

function decodeMail(data: Uint8Array): { loan: string | undefined; waiting: Waiting[] } {
  try {
    const { mail, loan } = JSON.parse(decoder.decode(data)) as {
      mail?: [number, string][];
      loan?: unknown;
    };
    if (!Array.isArray(mail)) return { loan: undefined, waiting: [] };
    const waiting = mail
      .filter(([time, line]) => typeof time === "number" && typeof line === "string")
      .map(([time, line]) => ({ time, line: encoder.encode(line) }));
    return { loan: typeof loan === "string" ? loan : undefined, waiting };
  } catch {
    return { loan: undefined, waiting: [] };
  }
}
