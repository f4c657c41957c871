/**
 * One connection's conversation, from the greeting to the end: reads the server's lines and
 * routes each one (an answer to the oldest command waiting, `WELCOME` to the name waiting,
 * `ACK`/`NACK` to the message they number, the bytes after `FILE` to their sink, `PING` back as
 * `:pong`, everything else reported), writes lines so that each answer can be matched, and
 * tells how the connection ended. Everything here lives and dies with one connection; who the
 * client is (`_identity.ts`) outlives it.
 * @module
 */

import { AckTracker } from "./acks.ts";
import type { Answer } from "./answer.ts";
import type { ClientEventMap, ClientLineEvent, EchoEvent } from "./events.ts";
import type { Identity } from "./_identity.ts";
import type { ClientLink } from "./link.ts";
import {
  type PayloadReceiver,
  receivePayload,
  type TransferHooks,
  type UploadAnswer,
} from "./payload.ts";
import { NameRegistration, type RegistrationReply } from "./_registration.ts";
import { expectsAnswer, RequestQueue, type WaitingCommand } from "./_requests.ts";
import { watchForSilence } from "./_stale_watch.ts";
import type { Emitter } from "../util/emitter.ts";
import type { PayloadSource } from "../protocol/payload.ts";
import {
  type ByeEvent,
  DATA_EVENT_TYPES,
  type ErrEvent,
  type OkEvent,
  parseServerLine,
  type WelcomeEvent,
} from "../protocol/server_line.ts";

/** How a connection ended. */
export interface SessionEnd {
  /** The `BYE` the server sent, if any. */
  bye: ByeEvent | undefined;
  /** What broke the connection, if something did. */
  error: string | undefined;
  /** Commands the program sent that got no answer. */
  unanswered: string[];
  /** With acknowledgements on: messages that got neither `ACK` nor `NACK`. */
  unacknowledged: string[];
}

/** What a session shares with its client. */
export interface SessionContext {
  /** Kept in step with what the server confirms. */
  identity: Identity;
  /** Where lines are reported. */
  events: Emitter<ClientEventMap>;
  /** Seconds of silence after which the connection is taken as dead; 0 is off. */
  staleTimeout: number;
  /** Turn acknowledgements on in {@linkcode Session.turnOnAcks}. */
  ack: boolean;
  /** Called once the connection has ended and every waiting command was answered. */
  onEnd: () => void;
}

/** One connection to a server, read until it ends. */
export class Session {
  /** The connection. */
  readonly link: ClientLink;
  /** `:ids on` was sent on this connection. */
  #idsOn = false;
  /** The numbering of this connection's messages, when acknowledgements are on. */
  readonly acks = new AckTracker();
  /** Resolves once the connection has ended. */
  readonly ended: Promise<SessionEnd>;
  readonly #context: SessionContext;
  readonly #requests = new RequestQueue();
  readonly #registration = new NameRegistration();
  readonly #stopWatching: () => void;
  #lastBye: ByeEvent | undefined;

  /** Starts reading `link`. */
  constructor(link: ClientLink, context: SessionContext) {
    this.link = link;
    this.#context = context;
    this.#stopWatching = watchForSilence(link, context.staleTimeout);
    this.ended = this.#read();
  }

  /** `chat` or `echo`, from the greeting. */
  get mode(): "chat" | "echo" {
    return this.link.hello.mode;
  }

  /** The `BYE` the server sent, if any. */
  get lastBye(): ByeEvent | undefined {
    return this.#lastBye;
  }

  /**
   * Writes a line as typed. A command (and, to an echo server, any line) takes its place among
   * the commands waiting, so its answer is matched and reported; with acknowledgements on, a
   * message is numbered.
   */
  transmit(line: string, internal: boolean): void {
    if (expectsAnswer(this.mode, line)) this.#requests.passBy(line, internal);
    else if (this.mode === "chat") this.acks.sent(line);
    void this.link.write(line + "\n");
  }

  /**
   * Writes a line and resolves with its answer; at once, with no final line, when the connection
   * is closed or the line gets no answer of its own.
   */
  request(line: string, internal: boolean): Promise<Answer> {
    if (this.link.closed || !expectsAnswer(this.mode, line)) {
      if (!this.link.closed) void this.link.write(line + "\n");
      return Promise.resolve({ command: line, final: undefined, data: [] });
    }
    const answer = this.#requests.expect(line, { internal });
    void this.link.write(line + "\n");
    return answer;
  }

  /** Writes a command announcing `size` bytes, then the bytes; resolves with both outcomes. */
  async upload(
    line: string,
    source: PayloadSource,
    size: number,
    hooks: TransferHooks,
  ): Promise<UploadAnswer> {
    const answer = this.#requests.expect(line, { onAnswer: hooks.onAnswer });
    const written = this.link.writePayload(line, source, size, hooks.onProgress).then((sent) => {
      hooks.onWritten?.(sent);
      return sent;
    });
    hooks.onQueued?.();
    const [result, sent] = await Promise.all([answer, written]);
    return { ...result, sent };
  }

  /** Writes a command whose answer carries a `FILE` line, whose bytes go where `receive` says. */
  download(line: string, receive: PayloadReceiver, hooks: TransferHooks): Promise<Answer> {
    const answer = this.#requests.expect(line, { receive, onAnswer: hooks.onAnswer });
    void this.link.write(line + "\n");
    hooks.onQueued?.();
    return answer;
  }

  /**
   * Sends `name` (with `password`: `:login <name> <password>`) and resolves with the server's
   * answer (`closed` when the connection ended).
   */
  register(name: string, password?: string): Promise<RegistrationReply> {
    if (this.link.closed) return Promise.resolve({ type: "closed", bye: this.#lastBye });
    const reply = this.#registration.wait(password === undefined ? "name" : "login");
    void this.link.write(password === undefined ? `${name}\n` : `:login ${name} ${password}\n`);
    return reply;
  }

  /**
   * Takes over the broken session of `token` (`:resume <token> <last-id>[,<last-id>…]`, the
   * newest ids seen, see `Identity.resumeIds`); resolves once the server answered `WELCOME` and,
   * after the messages this client missed, `OK resume`.
   */
  resume(token: string, lastIds: readonly number[]): Promise<RegistrationReply> {
    if (this.link.closed) return Promise.resolve({ type: "closed", bye: this.#lastBye });
    const reply = this.#registration.wait("resume");
    void this.link.write(`:resume ${token} ${lastIds.join(",")}\n`);
    return reply;
  }

  /** With the `ack` option, `:ack on` (chat servers), before any queued line goes out. */
  async turnOnAcks(): Promise<void> {
    if (this.#context.ack && this.mode === "chat") await this.request(":ack on", true);
  }

  /** Closes the connection; reading then ends. */
  close(): void {
    this.#stopWatching();
    this.link.close();
  }

  async #read(): Promise<SessionEnd> {
    const link = this.link;
    let bye: ByeEvent | undefined;
    for (;;) {
      const line = await link.next();
      if (line === null) break;
      // Parsed once more here: after this line come raw bytes, whoever reports the line.
      const header = this.mode === "chat" && line.startsWith("FILE ")
        ? parseServerLine(line)
        : undefined;
      bye = this.#route(line) ?? bye;
      // The sink the current command asked for (a `FILE` nobody asked for is dropped).
      if (header?.type === "file") {
        await receivePayload(link, header, this.#requests.takeReceiver());
      }
    }
    link.close();
    this.#stopWatching();
    const unacknowledged = this.acks.end().map((message) => message.line);
    const unanswered = this.#requests.abandon();
    this.#registration.take()?.({ type: "closed", bye });
    this.#context.onEnd();
    return { bye, error: link.error, unanswered, unacknowledged };
  }

  /** Handles one server line; returns it when it is a `BYE`. */
  #route(line: string): ByeEvent | undefined {
    if (this.mode === "echo") return this.#routeEcho(line);
    const event = parseServerLine(line);
    switch (event.type) {
      case "ping":
        void this.link.write(":pong\n");
        return undefined;
      case "session":
        // Kept for a resume (see the server's sessions.ts); nothing to report. A server that
        // sends it can resume, so messages are asked for with their ids (a resume turns them on
        // itself); the answer is matched like any command's, in order.
        this.#context.identity.sessionOpened(event.token);
        if (!this.#idsOn) {
          this.#idsOn = true;
          void this.request(":ids on", true);
        }
        return undefined;
      case "message":
      case "private":
        // A resume replays from the last id seen: what was reported already is not again.
        if (event.id !== undefined && !this.#context.identity.seen(event.id)) return undefined;
        break;
      case "bye":
        return this.#goodbye(event);
      case "welcome":
        if (this.#registration.answeredBy(event)) return this.#registered(event);
        break;
      case "error":
        if (this.#requests.busy) return this.#answer(event);
        if (this.#registration.answeredBy(event)) return this.#registered(event);
        break;
      case "ok":
        if (this.#registration.answeredBy(event)) return this.#registered(event);
        if (this.#requests.busy) return this.#answer(event);
        break;
      case "nick":
        this.#context.identity.renamed(event);
        break;
      case "ack":
      case "nack":
        this.#report(event, this.acks.answer(event.seq));
        return undefined;
      default: {
        const command = DATA_EVENT_TYPES.has(event.type) ? this.#requests.gather(event) : undefined;
        if (command !== undefined) {
          if (!command.internal) this.#report(event, command.line);
          return undefined;
        }
      }
    }
    this.#report(event, undefined);
    return undefined;
  }

  #routeEcho(line: string): ByeEvent | undefined {
    const head = this.#requests.head;
    if (head !== undefined && line === head.line) return this.#answer(echo(line));
    const event = parseServerLine(line);
    if (event.type === "ping") {
      this.transmit(":pong", true);
      return undefined;
    }
    if (event.type === "bye") return this.#goodbye(event);
    // An error in place of the echo (line too long, bad UTF-8), or an altered echo.
    if (head !== undefined) return this.#answer(event.type === "error" ? event : echo(line));
    this.#report(event, undefined);
    return undefined;
  }

  /** The server is about to close: its reason is kept and reported. */
  #goodbye(event: ByeEvent): ByeEvent {
    this.#lastBye = event;
    this.#report(event, undefined);
    return event;
  }

  /** The final line of the oldest command waiting. */
  #answer(final: OkEvent | ErrEvent | EchoEvent): undefined {
    if (final.type === "ok") this.#confirmed(final, (this.#requests.head as WaitingCommand).line);
    const command = this.#requests.answer(final);
    if (!command.internal) this.#report(final, command.line);
    return undefined;
  }

  /** Keeps name, groups and acknowledgements in step with what the server confirmed. */
  #confirmed(event: OkEvent, command: string): void {
    this.#context.identity.confirmed(event);
    // `:ack on` restarts the numbering; a bare `:ack` only asks.
    if (event.verb === "ack" && /^:ack\s+(on|off)\s*$/i.test(command)) {
      if (event.params[0] === "on") this.acks.start();
      else this.acks.stop();
    }
  }

  /**
   * Part of the answer to the name waiting: `WELCOME` (registered from now on), `OK login`, or a
   * refusal. The registration settles once its answer is complete.
   */
  #registered(event: WelcomeEvent | ErrEvent | OkEvent): undefined {
    if (event.type === "welcome") this.#context.identity.welcomed(event.name);
    this.#context.events.emit("line", { event, command: undefined, registration: true });
    const reply = this.#registration.reply(event);
    if (reply !== undefined) this.#registration.take()?.(reply);
    return undefined;
  }

  #report(event: ClientLineEvent, command: string | undefined): void {
    this.#context.events.emit("line", { event, command, registration: false });
  }
}

function echo(line: string): EchoEvent {
  return { type: "echo", text: line, line };
}
