/**
 * `core/cluster/remote_mail.ts` on its own (no bus): offline mail handed to another node's login
 * is lent, not dropped — forgotten once the login node confirms it, put back in the mailbox when no
 * confirmation comes (an answer after the login stopped waiting, a connection that closed).
 */

import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { RemoteMail } from "../core/cluster/remote_mail.ts";
import { MemoryMailbox } from "../core/server/offline.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LOAN_MS = 60;

function mailboxWith(account: string, texts: string[]): MemoryMailbox {
  const mailbox = new MemoryMailbox(100, 3_600_000);
  texts.forEach((text, i) => {
    const wire = encoder.encode(`PM alice :${text}\n`);
    mailbox.keep({
      firstId: i + 1,
      count: 1,
      time: Date.now() + i,
      from: "alice",
      sender: undefined,
      route: { kind: "offline", account },
      target: account,
      wire,
      prefixLength: "PM alice :".length,
    });
  });
  return mailbox;
}

function ask(mail: RemoteMail, account: string): { loan?: string; mail: [number, string][] } {
  const answer = mail.answer(encoder.encode(JSON.stringify({ account })), 1 << 20);
  return JSON.parse(decoder.decode(answer));
}

const waitOut = () => new Promise((r) => setTimeout(r, LOAN_MS * 3));

Deno.test("remote mail: lent mail that is never confirmed goes back to the mailbox, in its order", async () => {
  const mailbox = mailboxWith("bob", ["one", "two"]);
  const mail = new RemoteMail(mailbox, getLogger(["test"]), LOAN_MS);
  const first = ask(mail, "bob");
  assert.ok(first.loan !== undefined);
  assert.deepEqual(first.mail.map(([, line]) => line), ["PM alice :one\n", "PM alice :two\n"]);
  // Out of the mailbox while lent: a second login elsewhere does not get it twice.
  assert.deepEqual(ask(mail, "bob").mail, []);
  await waitOut();
  const lines = mailbox.take("bob", Date.now()).map((line) => decoder.decode(line));
  assert.deepEqual(lines, ["PM alice :one\n", "PM alice :two\n"]);
});

Deno.test("remote mail: confirmed mail is forgotten; a confirmation of another loan changes nothing", async () => {
  const mailbox = mailboxWith("bob", ["one"]);
  const mail = new RemoteMail(mailbox, getLogger(["test"]), LOAN_MS);
  const { loan } = ask(mail, "bob");
  mail.settle(encoder.encode(JSON.stringify({ loans: ["someone-else-1"] })));
  mail.settle(encoder.encode("not json"));
  mail.settle(encoder.encode(JSON.stringify({ loans: [loan] })));
  await waitOut();
  assert.deepEqual(mailbox.take("bob", Date.now()), []);
});

Deno.test("remote mail: an account with no mail gets an answer without a loan", () => {
  const mail = new RemoteMail(mailboxWith("bob", []), getLogger(["test"]), LOAN_MS);
  assert.deepEqual(ask(mail, "bob"), { mail: [] });
  assert.deepEqual(ask(new RemoteMail(undefined, getLogger(["test"])), "bob"), { mail: [] });
});
