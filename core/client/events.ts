/**
 * What a client tells the program using it: every server line as a typed event, a dropped
 * connection, each reconnect attempt and its outcome, and the end, with why it came. Typed, so
 * an embedder observes a client without reaching into its internals.
 * @module
 */

import type { ByeEvent, ServerEvent } from "../protocol/server_line.ts";

/** A line returned by an echo-mode server. */
export interface EchoEvent {
  /** Discriminant. */
  type: "echo";
  /** The text that came back. */
  text: string;
  /** The line as received. */
  line: string;
}

/** Anything the client shows from the server: a parsed server line or an echo. */
export type ClientLineEvent = ServerEvent | EchoEvent;

/** Payload of the `line` event: one line from the server (`PING`s excepted). */
export interface ReceivedLine {
  /** What arrived. */
  event: ClientLineEvent;
  /**
   * For a command's data and final lines (and echoes): the line this client sent; for `ACK` and
   * `NACK`: the message they answer.
   */
  command: string | undefined;
  /** True for `WELCOME` and name refusals: the answer to a name sent by `SwitchboardClient.register` or a reconnect. */
  registration: boolean;
}

/**
 * Connection states. `dormant` (only with the `linger` option): the server cut the connection
 * for inactivity, or reconnecting gave up, and the client waits to be woken.
 */
export type ClientState = "registering" | "ready" | "reconnecting" | "dormant" | "closed";

/**
 * Why a client stopped: `quit` (asked to), `kicked`, `disconnected` (the server said `BYE` and
 * reconnecting was not possible or gave up), `lost` (the connection dropped without `BYE` and
 * reconnecting gave up or is off), `access-denied`, `name-refused` or `login-failed` (on
 * reconnect: the account's password was changed, the account removed, too many attempts),
 * `closed` (`SwitchboardClient.close`).
 */
export type EndReason =
  | "quit"
  | "kicked"
  | "disconnected"
  | "lost"
  | "access-denied"
  | "name-refused"
  | "login-failed"
  | "closed";

/** How the client ended; the value of `SwitchboardClient.closed`. */
export interface ClientEnd {
  /** Why. */
  reason: EndReason;
  /** The last `BYE` the server sent, if any. */
  bye: ByeEvent | undefined;
  /** An explanation for a person. */
  detail: string;
  /** Lines queued while disconnected that were never sent, in order. */
  unsent: string[];
}

/** Events of a `SwitchboardClient`, with their payloads. */
export interface ClientEventMap {
  /** A line from the server (or an echo). `PING` is answered silently and not reported. */
  line: ReceivedLine;
  /** The connection ended; `reconnecting` says whether the client tries again. */
  disconnect: {
    bye: ByeEvent | undefined;
    error: string | undefined;
    reconnecting: boolean;
    /** Commands sent whose answer never came (they may or may not have been carried out). */
    unanswered: string[];
    /** With `ack`: messages sent that got neither `ACK` nor `NACK` (they may have got through). */
    unacknowledged: string[];
  };
  /**
   * With `linger`: the client stopped trying and waits for the program to send a line or call
   * `wake` — after `BYE idle` (`why: "idle"`) or when reconnecting gave up (`"gave-up"`).
   */
  dormant: { why: "idle" | "gave-up"; bye: ByeEvent | undefined; detail: string };
  /**
   * A line given to `SwitchboardClient.send` went onto the wire: at once, or from the queue
   * after a reconnect. (Lines the client writes itself, requests and payloads are not reported.)
   */
  sent: { line: string };
  /** A reconnect attempt is about to start after `delayMs`. */
  reconnecting: { attempt: number; delayMs: number; lastError: string | undefined };
  /** Connected again: registered under `name`, groups re-joined, `resent` queued lines sent. */
  reconnect: {
    name: string | undefined;
    groups: string[];
    lostGroups: { group: string; text: string }[];
    resent: number;
  };
  /** The client stopped for good. */
  end: ClientEnd;
}
