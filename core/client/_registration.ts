/**
 * Registering a name on one connection: the name goes out as a line of its own, and the server
 * answers `WELCOME` or refuses the name (`ERR bad-name`, `name-taken`, `name-reserved`); a connection that
 * ends first counts as the answer `closed`. Any other `ERR` is not about the name.
 * @module
 */

import type { ByeEvent, ErrEvent, ServerEvent, WelcomeEvent } from "../protocol/server_line.ts";

/** The error codes that refuse a name. */
const NAME_REFUSALS: ReadonlySet<string> = new Set(["bad-name", "name-taken", "name-reserved"]);

/** The server's answer to a name, or the end of the connection before one came. */
export type RegistrationReply = WelcomeEvent | ErrEvent | {
  type: "closed";
  bye: ByeEvent | undefined;
};

/** The name sent on one connection that waits for its answer (at most one at a time). */
export class NameRegistration {
  #settle: ((reply: RegistrationReply) => void) | undefined;

  /** Waits for the answer to a name about to be written. */
  wait(): Promise<RegistrationReply> {
    return new Promise((resolve) => this.#settle = resolve);
  }

  /** True when a name waits and `event` answers it: `WELCOME`, or a refusal of the name. */
  answeredBy(event: ServerEvent): event is WelcomeEvent | ErrEvent {
    if (this.#settle === undefined) return false;
    return event.type === "welcome" ||
      (event.type === "error" && NAME_REFUSALS.has(event.code));
  }

  /** Takes the waiting registration, to settle it once; `undefined` when none waits. */
  take(): ((reply: RegistrationReply) => void) | undefined {
    const settle = this.#settle;
    this.#settle = undefined;
    return settle;
  }
}
