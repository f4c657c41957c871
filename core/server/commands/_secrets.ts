/**
 * What every command that checks a secret (`:auth` with the admin token, `:login` with a
 * password) does around the check, so that both doors behave alike and count in one table:
 * refuse a secret sent in the clear from afar (`plain_secrets.ts`), refuse an address that is
 * locked out (`attempts.ts`) without looking at the secret, and count a failure, logging the
 * lockout it may earn.
 * @module
 */

import type { Caller, ServerContext } from "../context.ts";
import { errLine } from "../../protocol/grammar.ts";
import { plainSecretAllowed, TLS_REQUIRED_LINE } from "../plain_secrets.ts";
import { noteFailedSecret } from "../failed_secrets.ts";

/** The commands that take a secret, as they are named in the log. */
export type SecretCommand = ":auth" | ":login";

/**
 * Whether `caller` may have its secret checked now. When not, the caller has been told why
 * (`ERR tls-required` or `ERR too-many-attempts`) and the secret must not be looked at.
 */
export function maySendSecret(ctx: ServerContext, caller: Caller, command: SecretCommand): boolean {
  // Sent in the clear from afar: refused unchecked and not counted as a failure (see
  // plain_secrets.ts). Logged, since the operator may want to change a secret that travelled so.
  if (!plainSecretAllowed(caller, ctx.options.allowPlainAuth)) {
    ctx.throttle.warning(
      ctx.log.admin,
      caller.ip,
      `${command} over plain TCP refused from {name} ({peer}): the secret travelled unencrypted`,
      { name: caller.name, peer: caller.address },
      "tls-required",
    );
    caller.send(TLS_REQUIRED_LINE);
    return false;
  }
  return notLockedOut(ctx, caller);
}

/**
 * Whether `caller`'s address may try a secret; when it is locked out, it has been told so with
 * `ERR too-many-attempts :try again in N s` (which `attempts.ts` counts as a refused attempt).
 */
export function notLockedOut(ctx: ServerContext, caller: Caller): boolean {
  const { allowed, retryAfterMs } = ctx.attempts.check(caller.ip, performance.now());
  if (allowed) return true;
  caller.send(errLine("too-many-attempts", `try again in ${Math.ceil(retryAfterMs / 1000)} s`));
  return false;
}

/** Counts a wrong secret from `caller`'s address, and logs the failure and any lockout it earns. */
export function noteWrongSecret(
  ctx: ServerContext,
  caller: Caller,
  command: SecretCommand,
): void {
  noteFailedSecret(
    { throttle: ctx.throttle, attempts: ctx.attempts, admin: ctx.log.admin },
    caller.ip,
    `failed ${command} from {name} ({peer})`,
    { name: caller.name, peer: caller.address },
  );
}
