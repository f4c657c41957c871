/**
 * Staying connected: which endings are worth a reconnect (a connection that dropped, a server
 * that shut down or cut a stuck link; not a kick or a quit), the attempts themselves (the
 * backoff between them, a deadline, the last error said in few words), and picking up where the
 * old connection left off: the same name, the same groups, acknowledgements on again.
 * @module
 */

import type { ClientEventMap, EndReason } from "./events.ts";
import { ConnectError } from "./errors.ts";
import type { Identity } from "./_identity.ts";
import type { ResolvedClientOptions } from "./options.ts";
import type { Session, SessionEnd } from "./_session.ts";
import type { Emitter } from "../util/emitter.ts";
import { sleep } from "../util/time.ts";
import type { ByeEvent } from "../protocol/server_line.ts";

/** Groups that could not be joined again, with the server's reason. */
export type LostGroups = ClientEventMap["reconnect"]["lostGroups"];

/** What reconnecting needs from the client it keeps alive. */
export interface Reconnecting {
  /** The backoff policy and how long to keep trying. */
  readonly options: Pick<ResolvedClientOptions, "backoff" | "reconnectTimeout">;
  /** The name and groups to ask for again. */
  readonly identity: Identity;
  /** The account to log in to again, when the client logged in rather than took a name. */
  readonly login: { name: string; password: string } | undefined;
  /** Where each attempt is announced. */
  readonly events: Emitter<ClientEventMap>;
  /** Settles when the client ends, which cuts a delay short. */
  readonly closed: Promise<unknown>;
  /** True once the client has ended. */
  ended(): boolean;
  /** Connects again and makes the new session the client's; `undefined` when it closed meanwhile. */
  reopen(): Promise<Session | undefined>;
  /** Ends the client for good. */
  finish(reason: EndReason, bye: ByeEvent | undefined, detail: string): void;
}

/** Refusals of the name itself, as opposed to the login. */
const NAME_REFUSALS: ReadonlySet<string> = new Set(["bad-name", "name-reserved"]);

/** Reasons after which reconnecting makes sense: the server went away or cut a stuck link. */
const TRANSIENT_BYE = new Set(["shutdown", "stale", "slow-consumer"]);
const SHORT_CONNECT_ERRORS: Partial<Record<ConnectError["code"], string>> = {
  refused: "connection refused",
  unreachable: "host unreachable",
  timeout: "connection timed out",
};

/** The end reason a `BYE` forces, or `undefined` when reconnecting is worth a try. */
export function finalReason(bye: ByeEvent | undefined): EndReason | undefined {
  if (bye === undefined || TRANSIENT_BYE.has(bye.reason)) return undefined;
  if (bye.reason === "quit") return "quit";
  if (bye.reason === "kicked") return "kicked";
  return "disconnected";
}

/** How a connection ended, for a person. */
export function describeEnd(end: Pick<SessionEnd, "bye" | "error">): string {
  if (end.bye !== undefined) return `the server said ${end.bye.reason}: ${end.bye.text}`;
  return end.error ?? "the server closed the connection";
}

/**
 * Reconnects after `cause` until a new session is restored (resolving with the groups that were
 * lost), time runs out (`gaveUp`, with the end it would be: the caller ends the client or, with
 * `linger`, lets it wait), or the client ends instead: the server refused this client or its
 * name, or the program closed it (`undefined`).
 */
export async function reconnect(
  client: Reconnecting,
  cause: SessionEnd,
): Promise<{ lostGroups: LostGroups } | { gaveUp: GaveUp } | undefined> {
  const { backoff, reconnectTimeout } = client.options;
  const deadline = Date.now() + reconnectTimeout * 1000;
  let lastError = describeEnd(cause);
  for (let attempt = 1;; attempt++) {
    const delayMs = attempt === 1 ? 0 : Math.max(0, backoff(attempt - 1));
    if (Date.now() + delayMs > deadline) {
      return {
        gaveUp: {
          reason: cause.bye === undefined ? "lost" : "disconnected",
          bye: cause.bye,
          detail: `gave up reconnecting after ${reconnectTimeout} s (${lastError})`,
        },
      };
    }
    client.events.emit("reconnecting", { attempt, delayMs, lastError });
    if (delayMs > 0) await sleep(delayMs, client.closed);
    if (client.ended()) return undefined;
    let session: Session | undefined;
    try {
      session = await client.reopen();
    } catch (error) {
      if (!(error instanceof ConnectError)) throw error;
      if (error.code === "access-denied") {
        client.finish("access-denied", undefined, error.message);
        return undefined;
      }
      // Said again every few seconds: the short form for the common, self-explaining cases.
      lastError = SHORT_CONNECT_ERRORS[error.code] ?? error.message;
      continue;
    }
    if (session === undefined || client.ended()) return undefined;
    const restored = await restore(session, client.identity, client.login);
    if ("refused" in restored) {
      client.finish(restored.reason, undefined, restored.refused);
      return undefined;
    }
    if ("retry" in restored) {
      lastError = restored.retry;
      session.close();
      continue;
    }
    return restored;
  }
}

/** How a client that stopped trying would end. */
export interface GaveUp {
  /** `lost` (no `BYE`) or `disconnected`. */
  reason: "lost" | "disconnected";
  /** The `BYE` that ended the last connection, if any. */
  bye: ByeEvent | undefined;
  /** For a person: how long it tried and the last error. */
  detail: string;
}

type Restored =
  | { lostGroups: LostGroups }
  | { retry: string }
  | { refused: string; reason: "name-refused" | "login-failed" };

/**
 * The same name (logging in again to the same account), the same groups and acknowledgements on
 * again, on a fresh session.
 */
async function restore(
  session: Session,
  identity: Identity,
  login: { name: string; password: string } | undefined,
): Promise<Restored> {
  // A session the server may still hold: resumed, it brings back the name, the groups and every
  // message missed meanwhile (from the last id this client saw), and the rest is skipped.
  const token = identity.token;
  if (session.mode === "chat" && token !== undefined) {
    const reply = await session.resume(token, identity.resumeIds);
    if (reply.type === "closed") {
      return { retry: session.link.error ?? "the server closed the connection" };
    }
    if (reply.type === "welcome") {
      await session.turnOnAcks();
      if (session.link.closed) {
        return { retry: session.link.error ?? "the server closed the connection again" };
      }
      return { lostGroups: [] };
    }
    // `bad-session`: the grace ran out, or the server restarted. Register as a new session.
    identity.sessionLost();
  }
  const name = login?.name ?? identity.name;
  if (session.mode === "chat" && name !== undefined) {
    const reply = await session.register(name, login?.password);
    if (reply.type === "closed") {
      return { retry: session.link.error ?? "the server closed the connection" };
    }
    if (reply.type === "error" && reply.code === "name-taken") {
      return { retry: `the name ${name} is still taken (the old session has not ended yet)` };
    }
    if (reply.type === "error" && reply.code === "busy") {
      return { retry: `the server is busy: ${reply.text}` };
    }
    if (reply.type === "error" && login !== undefined && !NAME_REFUSALS.has(reply.code)) {
      return {
        refused: `the server refused the login as ${name}: ${reply.text} (${reply.code})`,
        reason: "login-failed",
      };
    }
    if (reply.type === "error") {
      return {
        refused: `the server refused the name ${name}: ${reply.text}`,
        reason: "name-refused",
      };
    }
  }
  const lostGroups = await rejoin(session, identity);
  await session.turnOnAcks();
  if (session.link.closed) {
    return { retry: session.link.error ?? "the server closed the connection again" };
  }
  return { lostGroups };
}

/** Joins every group again (creating it when a restarted server lost it); returns those lost. */
async function rejoin(session: Session, identity: Identity): Promise<LostGroups> {
  const lost: LostGroups = [];
  for (const [key, group] of identity.memberships()) {
    let answer = await session.request(`:group join ${group}`, true);
    if (answer.final?.type === "error" && answer.final.code === "no-such-group") {
      answer = await session.request(`:group create ${group}`, true);
    }
    if (answer.final === undefined) return lost;
    if (answer.final.type === "error") {
      identity.lost(key);
      lost.push({ group, text: answer.final.text });
    }
  }
  return lost;
}
