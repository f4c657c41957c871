/**
 * Whether a caller may send a secret (an `:auth` token now, an account password for `:login`
 * later) over the stream it is on. A secret sent over plain TCP can be read by anyone on the path,
 * so by default one from a non-loopback address is refused with `ERR tls-required` before it is
 * looked at; TLS connections, loopback peers (127.0.0.0/8, `::1`, IPv4-mapped loopback) and the
 * operator console are always allowed, and `--allow-plain-auth` allows everyone.
 *
 * A refusal here is not a failed attempt (the lockout in `attempts.ts` is not told): the secret
 * was never checked, and the answer is the same whatever was sent, so it tells a guesser nothing
 * about the secret. Counting it would only lock out a user whose client lacks TLS and who then
 * retries over TLS with the right secret.
 *
 * @example
 * ```ts
 * import { isLoopback, plainSecretAllowed } from "./plain_secrets.ts";
 * console.assert(isLoopback("127.0.0.2") && isLoopback("::ffff:127.0.0.1") && !isLoopback("10.0.0.1"));
 * console.assert(!plainSecretAllowed({ ip: "10.0.0.1", secure: false }, false));
 * console.assert(plainSecretAllowed({ ip: "10.0.0.1", secure: true }, false));
 * ```
 * @module
 */

import { CidrList } from "../util/cidr.ts";
import { errLine } from "../protocol/grammar.ts";
import type { Caller } from "./context.ts";

/** Loopback networks; an IPv4-mapped IPv6 address is matched as the IPv4 it carries. */
const LOOPBACK = new CidrList(["127.0.0.0/8", "::1"]);

/** True for 127.0.0.0/8, `::1` and `::ffff:127.x.y.z`: a peer on this machine. */
export function isLoopback(ip: string): boolean {
  return LOOPBACK.matches(ip);
}

/**
 * Whether `caller` may send a secret over its stream: it is TLS, local (loopback or the console),
 * or `allowPlain` (the `allowPlainAuth` option) is set.
 */
export function plainSecretAllowed(
  caller: Pick<Caller, "ip" | "secure">,
  allowPlain: boolean,
): boolean {
  return allowPlain || caller.secure || caller.ip === "console" || isLoopback(caller.ip);
}

/** The line a caller gets when {@linkcode plainSecretAllowed} says no. */
export const TLS_REQUIRED_LINE: string = errLine(
  "tls-required",
  "secrets are not taken over plain TCP from this address; connect with TLS",
);
