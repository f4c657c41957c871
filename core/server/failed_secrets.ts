/**
 * A wrong secret, wherever it was tried (`:auth`, `:login`, an HTTP admin request): one warning
 * (throttled per address), one failure in the shared lockout table, and one more warning when
 * that failure locks the address out. Every door words its own failure; the lockout is one.
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { LogThrottle } from "../log/throttle.ts";
import type { AttemptLimiter } from "./attempts.ts";

/** What recording a failure needs from the server. */
export interface FailedSecretParts {
  readonly throttle: LogThrottle;
  readonly attempts: AttemptLimiter;
  /** The logger of admin matters (`switchboard.admin`). */
  readonly admin: Logger;
}

/**
 * Counts a wrong secret from `ip`: logs `message` with `properties` (throttled), and the lockout
 * it may earn, naming `properties.peer` as the last attempt.
 */
export function noteFailedSecret(
  parts: FailedSecretParts,
  ip: string,
  message: string,
  properties: { peer: string } & Record<string, unknown>,
): void {
  parts.throttle.warning(parts.admin, ip, message, properties);
  const failure = parts.attempts.fail(ip, performance.now());
  if (!failure.locked) return;
  parts.throttle.warning(
    parts.admin,
    failure.key,
    "{key} locked out of :auth, :login and HTTP admin requests for {seconds} s after failed attempts, last from {peer}",
    { key: failure.key, seconds: failure.lockoutMs / 1000, peer: properties.peer },
  );
}
