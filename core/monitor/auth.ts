/**
 * Who may change state over HTTP (`POST /connz/<id>/kick`): the admin token as
 * `Authorization: Bearer <token>`, or an admin account's name and password as
 * `Authorization: Basic …` (checked by `accounts.ts`). Both doors share the lockout table of
 * `:auth` and `:login` (`attempts.ts`): missing or wrong credentials count as a failed attempt,
 * and a locked-out address is refused without a look at what it sent. A secret sent over plain
 * HTTP from a non-loopback address is refused unchecked unless `allowPlainAuth` is set, as on the
 * chat port (`plain_secrets.ts`).
 * @module
 */

import { noteFailedSecret } from "../server/failed_secrets.ts";
import { plainSecretAllowed } from "../server/plain_secrets.ts";
import type { MonitorSource } from "./source.ts";

/** The outcome of {@linkcode authorize}: who, or the refusal to send. */
export type Authorization =
  | { ok: true; who: string }
  | { ok: false; status: 401 | 403 | 429 | 503; error: string; retryAfterS?: number };

/** The peer of an HTTP request. */
export interface HttpPeer {
  /** IP address (IPv4-mapped IPv6 as plain IPv4). */
  ip: string;
  /** `ip:port`, for the log. */
  address: string;
  /** Served over HTTPS. */
  secure: boolean;
}

/** Checks the `Authorization` header of a request that needs admin rights. */
export async function authorize(
  source: MonitorSource,
  header: string | null,
  peer: HttpPeer,
): Promise<Authorization> {
  if (header !== null && !plainSecretAllowed(peer, source.options.allowPlainAuth)) {
    return { ok: false, status: 403, error: "tls-required: secrets are not taken over plain HTTP" };
  }
  const locked = lockedOut(source, peer);
  if (locked !== undefined) return locked;
  const [scheme = "", credentials = ""] = (header ?? "").trim().split(/\s+/, 2);
  if (/^bearer$/i.test(scheme) && credentials !== "" && source.checkToken(credentials)) {
    source.attempts.succeed(peer.ip);
    return { ok: true, who: "admin token" };
  }
  if (/^basic$/i.test(scheme)) {
    const pair = decodeBasic(credentials);
    if (pair !== undefined) {
      const account = await source.accounts.verify(
        pair.name,
        pair.password,
        () => lockedOut(source, peer) === undefined,
      );
      if (account === "busy") return { ok: false, status: 503, error: "busy", retryAfterS: 1 };
      if (account === "refused") return lockedOut(source, peer) ?? refusedNow();
      if (account !== undefined) {
        source.attempts.succeed(peer.ip);
        if (account.admin) return { ok: true, who: account.name };
        return { ok: false, status: 403, error: "not-allowed: not an admin account" };
      }
    }
  }
  noteFailure(source, peer);
  return { ok: false, status: 401, error: "unauthorized: admin token or admin account needed" };
}

function refusedNow(): Authorization {
  return { ok: false, status: 429, error: "too-many-attempts", retryAfterS: 1 };
}

function lockedOut(source: MonitorSource, peer: HttpPeer): Authorization | undefined {
  const { allowed, retryAfterMs } = source.attempts.check(peer.ip, performance.now());
  if (allowed) return undefined;
  const retryAfterS = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return {
    ok: false,
    status: 429,
    error: `too-many-attempts: try again in ${retryAfterS} s`,
    retryAfterS,
  };
}

function noteFailure(source: MonitorSource, peer: HttpPeer): void {
  noteFailedSecret(
    { throttle: source.throttle, attempts: source.attempts, admin: source.log.admin },
    peer.ip,
    "failed HTTP admin request from {peer}",
    { peer: peer.address },
  );
}

function decodeBasic(encoded: string): { name: string; password: string } | undefined {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0)),
    );
    const colon = text.indexOf(":");
    if (colon <= 0) return undefined;
    return { name: text.slice(0, colon), password: text.slice(colon + 1) };
  } catch {
    return undefined;
  }
}
