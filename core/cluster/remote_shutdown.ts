/**
 * `:shutdown node <slot> [grace] [reason]`: an admin on any node stops another one. The request
 * goes to the node's own subject, `<cluster>.node.<slot>`, as `:kick` and `:rename` of its users
 * do (`{"op": "shutdown", "grace": <s>?, "reason": <text>?}`); the node answers `ok`, then runs its
 * normal shutdown (its clients get the usual `BYE`, its users `LEAVE` on the other nodes).
 * @module
 */

import type { NatsConnection } from "@nats-io/transport-node";
import { within } from "./leases.ts";
import { neutralize } from "../protocol/grammar.ts";

/** What a node does when asked: its server's graceful shutdown. */
export type Shutdown = (options: { grace?: number; reason?: string }) => void;

/** A shutdown request as it travels. */
interface ShutdownRequest {
  readonly op: "shutdown";
  readonly grace?: number;
  readonly reason?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Answers a `shutdown` request (`data`, JSON) with `ok` and starts `shutdown` once the answer is
 * out; `bad request` when it is not one or this node cannot stop itself.
 */
export function answerShutdown(data: Uint8Array, shutdown: Shutdown | undefined): string {
  let request: Partial<ShutdownRequest> | undefined;
  try {
    request = JSON.parse(decoder.decode(data)) as Partial<ShutdownRequest>;
  } catch {
    return "bad request";
  }
  if (request?.op !== "shutdown" || shutdown === undefined) return "bad request";
  const options: { grace?: number; reason?: string } = {};
  if (typeof request.grace === "number" && request.grace >= 0) options.grace = request.grace;
  // Neutralised here too: the text ends up in every client's BYE and in the log.
  if (typeof request.reason === "string" && request.reason !== "") {
    options.reason = neutralize(request.reason);
  }
  // After the answer is published (the caller responds when this returns).
  setTimeout(() => shutdown(options), 0);
  return "ok";
}

/**
 * Asks the node on `subject` to shut down: `ok`, or `no-such-node` when nobody answers (no node
 * holds that slot: NATS says "no responders" at once) or the answer is not `ok`.
 */
export async function askShutdown(
  nc: NatsConnection,
  subject: string,
  grace: number | undefined,
  reason: string | undefined,
): Promise<"ok" | "no-such-node"> {
  const request: ShutdownRequest = {
    op: "shutdown",
    ...(grace === undefined ? {} : { grace }),
    ...(reason === undefined ? {} : { reason }),
  };
  try {
    const answer = await within(nc.request(subject, encoder.encode(JSON.stringify(request))));
    return answer.string() === "ok" ? "ok" : "no-such-node";
  } catch {
    return "no-such-node";
  }
}
