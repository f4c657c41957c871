/**
 * `:login <name> <password>`: takes an account's name with its password (see `accounts.ts`).
 *
 * - Before a name it registers the connection under the account's name (`WELCOME …`), after one
 *   it renames it (`NICK …`); then `OK login <name>`. An admin account brings admin rights.
 * - A wrong password and a name without an account get the same `ERR login-failed`, after the
 *   same time: the check hashes in both cases, and a failure is answered no sooner than
 *   {@linkcode FAILURE_DELAY_MS} after the command arrived. Failures count towards the lockout
 *   shared with `:auth`, and the checks obey the same `tls-required` rule.
 * - If the account's name (or a look-alike) is held by another connection — the same user's
 *   old connection that has not timed out yet, or a guest who took the name before the account
 *   existed — the login wins: that connection ends with `BYE replaced`, which clients do not
 *   reconnect after (two clients of one account would otherwise take turns forever).
 * - The check runs as a task of the connection, so the client's next line waits for the answer.
 * @module
 */

import type { Caller, ConnectionHandle, ServerContext, Session } from "../context.ts";
import type { Account } from "../accounts.ts";
import { mergeWaiting } from "../offline.ts";
import { errLine, okLine, splitWords } from "../../protocol/grammar.ts";
import { abortion, sleep } from "../../util/time.ts";
import { type CommandFamily, sendUsage } from "./_spec.ts";
import { renamePeer } from "./_rename.ts";
import { maySendSecret, noteWrongSecret, notLockedOut } from "./_secrets.ts";

/** The least time a failed login takes, in milliseconds, whatever made it fail. */
export const FAILURE_DELAY_MS = 250;

/** The login command. */
export const LOGIN_COMMANDS: CommandFamily = {
  login: { needs: "none", usage: ":login <name> <password>", run: login },
};

function login(ctx: ServerContext, caller: Caller, rest: string): void {
  // The password is the rest of the line: it may hold spaces, but not begin with one.
  const [name = "", password = ""] = splitWords(rest, 1);
  if (name === "" || password === "") return sendUsage(caller, LOGIN_COMMANDS, "login");
  const session = caller.session;
  if (session === undefined) {
    caller.send(errLine("not-allowed", "the console does not log in"));
    return;
  }
  if (caller.account !== undefined) {
    caller.send(errLine("not-allowed", `already logged in as ${caller.account}`));
    return;
  }
  if (!maySendSecret(ctx, caller, ":login")) return;
  const arrived = performance.now();
  session.defer(async (signal) => {
    // Asked again once a check slot is free: the address may have been locked out meanwhile
    // by its other connections, and a queue of guesses must not outrun the lockout.
    const outcome = await ctx.accounts.verify(name, password, () => notLockedOut(ctx, caller));
    if (outcome === "refused" || !session.open) return;
    if (outcome === "busy") {
      caller.send(errLine("busy", "too many logins at once; try again in a moment"));
      return;
    }
    if (outcome === undefined) {
      noteWrongSecret(ctx, caller, ":login");
      const aborted = abortion(signal);
      await sleep(Math.max(0, arrived + FAILURE_DELAY_MS - performance.now()), aborted.promise);
      aborted.dispose();
      if (session.open) caller.send(errLine("login-failed", "wrong name or password"));
      return;
    }
    ctx.attempts.succeed(caller.ip);
    await logIn(ctx, caller, session, outcome);
  });
}

async function logIn(
  ctx: ServerContext,
  caller: Caller,
  session: Session,
  account: Account,
): Promise<void> {
  const holder = ctx.hub.holderLike(account.name);
  if (holder !== undefined && holder !== caller.peer) {
    ctx.log.conn.info("{name} logged in from {peer}: replacing {holder}", {
      name: account.name,
      peer: caller.address,
      holder: holder.name,
    });
    void (holder as ConnectionHandle).close("replaced", "logged in from another connection");
  }
  caller.account = account.name;
  if (account.admin) caller.admin = true;
  const registering = caller.peer === undefined;
  if (registering) session.registerAs(account.name);
  else if (caller.peer.name !== account.name) renamePeer(ctx, caller.peer, account.name);
  // What was said to the account while it was offline (on any node of a cluster), oldest first,
  // before the answer to the login.
  const elsewhere = await ctx.cluster?.takeMail(account.name);
  const here = ctx.mailbox.takeTimed(account.name, Date.now());
  for (const { line } of mergeWaiting(here, elsewhere?.mail ?? [])) session.deliverLine(line);
  // Queued to an open connection: the other nodes may forget it (else they take it back).
  if (session.open) elsewhere?.confirm();
  ctx.log.conn.info("{name} logged in ({peer}){role}", {
    name: account.name,
    peer: caller.address,
    role: account.admin ? " with admin rights" : "",
  });
  caller.send(okLine("login", account.name));
  if (registering) session.openSession();
}
