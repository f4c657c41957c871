/**
 * Whether a client may take a name, by a name line or a rename: the one place that knows every
 * rule, so registration, `:name` and `:rename` refuse alike. In order: the name must be valid;
 * with `--require-login` only `:login` gives names; it must not be, or imitate, a reserved name
 * or an account's name (`:login` is how an account's holder takes it); and nobody else may use
 * it or a look-alike of it.
 * @module
 */

import type { ServerContext } from "./context.ts";
import type { Peer } from "./hub.ts";
import type { ErrorCode } from "../protocol/errors.ts";
import { nameKey, nameProblem, neutralize, reservedText } from "../protocol/grammar.ts";

/** Why a name is refused: the `ERR` code and its text. */
export interface NameRefusal {
  readonly code: ErrorCode;
  readonly text: string;
}

/**
 * Why `name` cannot be taken by `holder` (a peer renaming itself or being renamed, or nobody
 * yet: a registration), or `undefined` when it can.
 */
export function nameRefusal(
  ctx: ServerContext,
  name: string,
  holder?: Peer,
): NameRefusal | undefined {
  const problem = nameProblem(name);
  if (problem !== undefined) {
    return { code: "bad-name", text: `${problem}; "${neutralize(name)}" is not a valid name` };
  }
  if (holder?.account !== undefined) {
    return {
      code: "not-allowed",
      text: `${holder.account} is logged in to an account: its name is the account's`,
    };
  }
  if (ctx.options.requireLogin) {
    return {
      code: "login-required",
      text: "names here belong to accounts: log in with :login <name> <password>",
    };
  }
  const reserved = ctx.hub.reservedLike(name);
  if (reserved !== undefined) return { code: "name-reserved", text: reservedText(name, reserved) };
  const account = ctx.accounts.reservedLike(name);
  if (account !== undefined) {
    const text = nameKey(name) === nameKey(account)
      ? `"${name}" belongs to an account; its holder logs in with :login ${account} <password>`
      : `"${name}" looks like the account name "${account}"`;
    return { code: "name-reserved", text };
  }
  if (ctx.hub.isTaken(name, holder)) return { code: "name-taken", text: `"${name}" is taken` };
  return undefined;
}
