/**
 * Registering a name on one connection: the name goes out as a line of its own, and the server
 * answers `WELCOME` or refuses the name (`ERR bad-name`, `name-taken`, `name-reserved`); a connection that
 * ends first counts as the answer `closed`. Any other `ERR` is not about the name.
 *
 * A login (`:login <name> <password>`) is answered `WELCOME` then `OK login <name>`, and is done
 * only with both (so the `OK` is never taken for the answer of a later command); any `ERR`
 * refuses it (`login-failed`, `too-many-attempts`, `tls-required`, `busy`, or a refused name),
 * since nothing else is waiting for an answer while it is.
 * @module
 */

import type {
  ByeEvent,
  ErrEvent,
  OkEvent,
  ServerEvent,
  WelcomeEvent,
} from "../protocol/server_line.ts";

/** What registers a connection: a name line, a `:login`, or a `:resume`. */
export type RegistrationKind = "name" | "login" | "resume";

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
  #kind: RegistrationKind = "name";
  #welcome: WelcomeEvent | undefined;
  #confirmed = false;

  /**
   * Waits for the answer to a name about to be written: a name line (`"name"`), a `:login`, or a
   * `:resume` (answered `WELCOME`, the messages missed, then `OK resume <count>`).
   */
  wait(kind: RegistrationKind = "name"): Promise<RegistrationReply> {
    this.#kind = kind;
    this.#welcome = undefined;
    this.#confirmed = false;
    return new Promise((resolve) => this.#settle = resolve);
  }

  /**
   * True when a name waits and `event` is part of its answer: `WELCOME`, a refusal of the name,
   * and for a login `OK login` and any `ERR`.
   */
  answeredBy(event: ServerEvent): event is WelcomeEvent | ErrEvent | OkEvent {
    if (this.#settle === undefined) return false;
    switch (event.type) {
      case "welcome":
        return true;
      case "error":
        return this.#kind !== "name" || NAME_REFUSALS.has(event.code);
      case "ok":
        return this.#kind !== "name" && event.verb === this.#kind;
      default:
        return false;
    }
  }

  /**
   * Takes in an event {@linkcode answeredBy} accepted; returns the reply once the answer is
   * complete (a name: at once; a login: with both `WELCOME` and `OK login`, or an `ERR`).
   */
  reply(event: WelcomeEvent | ErrEvent | OkEvent): RegistrationReply | undefined {
    if (event.type === "error") return event;
    if (event.type === "welcome") this.#welcome = event;
    else this.#confirmed = true;
    if (this.#kind === "name") return this.#welcome;
    return this.#confirmed ? this.#welcome : undefined;
  }

  /** Takes the waiting registration, to settle it once; `undefined` when none waits. */
  take(): ((reply: RegistrationReply) => void) | undefined {
    const settle = this.#settle;
    this.#settle = undefined;
    return settle;
  }
}
