/**
 * The Switchboard client library: connects (with a timeout and a clear error for each way that
 * fails), registers a name, sends lines and commands, matches every command with its answer,
 * answers the server's `PING` by itself, and survives a dropped connection: it reconnects with a
 * backoff, re-identifies with the same name, re-joins its groups and sends the lines queued
 * meanwhile (a bounded queue; lines that never went out are reported, never dropped silently).
 *
 * Files move as sized payloads: {@linkcode SwitchboardClient.upload} writes a command and then
 * exactly its bytes, {@linkcode SwitchboardClient.download} hands the bytes after a `FILE` line to
 * a sink; `files.ts` builds `:put`, `:get`, `:send` and `:accept` on these two. With the `ack`
 * option every plain message is matched to the server's `ACK`/`NACK` (`acks.ts`).
 *
 * This class is the public face; the work is done next door. Each connection is a session
 * (`_session.ts`: reading, routing every line, writing) over a link (`link.ts`: bytes and the
 * transport); commands wait for their answers in `_requests.ts`, a name for `WELCOME` in
 * `_registration.ts`; the name and groups that outlive a connection are in `_identity.ts`, and
 * `_reconnect.ts` decides when and how to come back.
 *
 * The `client` program (`cli/client.ts`) is a thin terminal front end on this class.
 *
 * @example
 * ```ts
 * import { SwitchboardClient } from "./client.ts";
 * import { startServer } from "../../mod.ts";
 * await using server = await startServer({ port: 0, logDir: "" });
 * await using client = await SwitchboardClient.connect({ port: server.addr.port });
 * const result = await client.register("alice");
 * console.assert(result.ok);
 * const answer = await client.request(":list");
 * console.assert(answer.final?.type === "ok" && answer.data.length === 1);
 * await client.quit();
 * ```
 * @module
 */

import type { Answer } from "./answer.ts";
import type { ClientEnd, ClientEventMap, ClientState, EndReason } from "./events.ts";
import { Identity } from "./_identity.ts";
import { ClientLink, type LinkOptions } from "./link.ts";
import {
  type ClientOptions,
  resolveClientOptions,
  type ResolvedClientOptions,
  type ServerAddress,
} from "./options.ts";
import { ConnectError } from "./errors.ts";
import type { PayloadReceiver, TransferHooks, UploadAnswer } from "./payload.ts";
import { describeEnd, finalReason, reconnect } from "./_reconnect.ts";
import type { RegistrationReply } from "./_registration.ts";
import { Session } from "./_session.ts";
import { Emitter } from "../util/emitter.ts";
import { describeError as describe } from "../util/describe_error.ts";
import { sleep } from "../util/time.ts";
import { WakeList } from "../util/wake_list.ts";
import type { PayloadSource } from "../protocol/payload.ts";
import type { ByeEvent, HelloEvent, WelcomeEvent } from "../protocol/server_line.ts";

/** Outcome of {@linkcode SwitchboardClient.register}. */
export type RegisterResult =
  | { ok: true; welcome: WelcomeEvent }
  | {
    ok: false;
    /**
     * `bad-name`, `name-taken`, `name-reserved`, or `closed` when the server hung up twice; for
     * {@linkcode SwitchboardClient.login} also `login-failed`, `too-many-attempts`,
     * `tls-required`, `busy`.
     */
    code: string;
    /** The server's explanation. */
    text: string;
  };

/**
 * What {@linkcode SwitchboardClient.send} did with a line: sent it, queued it (disconnected or
 * not registered yet), or refused it (queue full, longer than `maxLineBytes`, client closed).
 */
export type SendStatus = "sent" | "queued" | "queue-full" | "too-long" | "closed";

const encoder = new TextEncoder();

/**
 * A connection to a Switchboard server that keeps itself alive. Create it with
 * {@linkcode SwitchboardClient.connect}; dispose it (`await using`) or call
 * {@linkcode SwitchboardClient.quit} to leave.
 */
export class SwitchboardClient implements AsyncDisposable {
  /** The options in force. */
  readonly options: ResolvedClientOptions;
  /** `host:port` of the server. */
  readonly address: string;
  /** Resolves once the client has stopped for good, saying why. */
  readonly closed: Promise<ClientEnd>;
  readonly #events = new Emitter<ClientEventMap>();
  readonly #identity = new Identity();
  /** Lines sent while not ready, in order. */
  readonly #queue: string[] = [];
  readonly #stateChanged = new WakeList();
  #session: Session;
  /** Which of `options.servers` answered last. */
  #server = 0;
  #state: ClientState;
  #supervisor: Promise<void> | undefined;
  #quitting = false;
  #end: ClientEnd | undefined;
  #resolveEnd!: (end: ClientEnd) => void;
  /** The account logged in with, to log in again after a reconnect; kept out of `options`. */
  #login: { name: string; password: string } | undefined;
  /** Set while `dormant`: ends the wait. */
  #wakeDormant: (() => void) | undefined;

  private constructor(options: ResolvedClientOptions, link: ClientLink, server: number) {
    this.options = options;
    this.#server = server;
    this.address = link.address;
    this.closed = new Promise((resolve) => this.#resolveEnd = resolve);
    this.#session = this.#sessionOn(link);
    this.#state = link.hello.mode === "echo" ? "ready" : "registering";
    if (this.#state === "ready") this.#supervisor = this.#supervised();
  }

  /**
   * Connects and waits for the server's greeting (trying the `fallbacks` in turn when the
   * server cannot be reached).
   * @throws {ConnectError} with code `refused`, `unreachable`, `timeout`, `access-denied`,
   * `server-full`, `shutting-down`, `not-switchboard` or `closed`.
   */
  static async connect(options: ClientOptions = {}): Promise<SwitchboardClient> {
    const resolved = resolveClientOptions(options);
    const { link, server } = await openFirstReachable(resolved, 0);
    return new SwitchboardClient(resolved, link, server);
  }

  /** The server's most recent greeting. */
  get hello(): HelloEvent {
    return this.#session.link.hello;
  }

  /** `chat` or `echo`, from the greeting. */
  get mode(): "chat" | "echo" {
    return this.#session.mode;
  }

  /** The registered name (kept up to date through renames), or `undefined` before. */
  get name(): string | undefined {
    return this.#identity.name;
  }

  /** Groups this client belongs to (without `#`), re-joined after a reconnect. */
  get groups(): string[] {
    return this.#identity.groups;
  }

  /** The connection state. */
  get state(): ClientState {
    return this.#state;
  }

  /** Lines waiting to be sent after a reconnect (or after registration). */
  get queued(): number {
    return this.#queue.length;
  }

  /** True while the server acknowledges this client's messages (`ack` option, or `:ack on`). */
  get acknowledging(): boolean {
    return this.#session.acks.active;
  }

  /**
   * Messages sent on this connection with acknowledgements on that got no `ACK`/`NACK` yet.
   * After {@linkcode SwitchboardClient.settle} any left were never answered.
   */
  get unacknowledged(): string[] {
    return this.#session.acks.unanswered;
  }

  /** Subscribes to an event; returns a function that unsubscribes. */
  on<K extends keyof ClientEventMap>(
    event: K,
    listener: (payload: ClientEventMap[K]) => void,
  ): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * Registers `name` (chat servers only). A refused name leaves the client connected so another
   * can be tried. When the server hung up meanwhile (a person took longer than the server's
   * registration timeout to type a name), connects again once, transparently.
   * @throws {ConnectError} when connecting again fails.
   */
  register(name: string): Promise<RegisterResult> {
    return this.#enrol(name, undefined);
  }

  /**
   * Logs in to the account `name` with `password` (`:login`, for a server with an accounts
   * file), instead of {@linkcode SwitchboardClient.register}: the name is then the account's,
   * and every reconnect logs in again with the same password. A refusal (`login-failed`,
   * `too-many-attempts`, `tls-required`, `busy`, a refused name) leaves the client connected,
   * as with `register`. The password is kept in memory only, never in `options`.
   * @throws {ConnectError} when connecting again fails.
   * @throws {TypeError} when the password is empty or holds a line break.
   */
  login(name: string, password: string): Promise<RegisterResult> {
    if (password === "" || /[\r\n]/.test(password)) {
      throw new TypeError("a password is one non-empty line");
    }
    return this.#enrol(name, password);
  }

  async #enrol(name: string, password: string | undefined): Promise<RegisterResult> {
    if (this.mode === "echo") throw new Error("an echo server takes no name");
    if (this.#state !== "registering") throw new Error(`cannot register while ${this.#state}`);
    let last: RegistrationReply | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (this.#session.link.closed) await this.#reopen();
      const session = this.#session;
      last = await session.register(name, password);
      if (last.type === "welcome") {
        this.#login = password === undefined ? undefined : { name, password };
        await session.turnOnAcks();
        this.#setState("ready");
        this.#flushQueue();
        this.#supervisor = this.#supervised();
        return { ok: true, welcome: last };
      }
      if (last.type === "error") return { ok: false, code: last.code, text: last.text };
      if (this.#end !== undefined) break;
    }
    const bye = last?.type === "closed" ? last.bye : undefined;
    return {
      ok: false,
      code: "closed",
      text: bye === undefined ? "the server closed the connection" : `${bye.reason}: ${bye.text}`,
    };
  }

  /**
   * Sends one line as typed: a message, a `:command`, `exit`. Sent at once when connected and
   * registered, otherwise queued (up to `queueLimit` lines) and sent after reconnecting; a
   * `dormant` client is woken by it. A `sent` event follows the line onto the wire.
   * @throws {TypeError} when `line` contains a line break.
   */
  send(line: string): SendStatus {
    assertOneLine(line);
    if (this.#state === "closed") return "closed";
    if (encoder.encode(line).length > this.options.maxLineBytes) return "too-long";
    if (this.#state === "ready" && !this.#session.link.closed) {
      this.#session.transmit(line, false);
      this.#events.emit("sent", { line });
      return "sent";
    }
    if (this.#queue.length >= this.options.queueLimit) return "queue-full";
    this.#queue.push(line);
    this.wake();
    return "queued";
  }

  /**
   * Wakes a `dormant` client (see the `linger` option): it reconnects now, and sends what was
   * queued once it is back. Returns `false`, doing nothing, in any other state.
   * ({@linkcode SwitchboardClient.send} wakes it too.)
   */
  wake(): boolean {
    const wake = this.#wakeDormant;
    if (wake === undefined) return false;
    this.#wakeDormant = undefined;
    wake();
    return true;
  }

  /**
   * Sends a `:command` once connected and resolves with its answer. The answer's `final` is
   * `undefined` when the connection dropped before it came, or the client closed. With
   * `quiet`, its lines come only in the answer, not as `line` events (a program that asks for
   * itself, such as a client learning who is online for completion).
   */
  async request(command: string, options: { quiet?: boolean } = {}): Promise<Answer> {
    assertOneLine(command);
    if (!(await this.ready())) return { command, final: undefined, data: [] };
    return await this.#session.request(command, options.quiet ?? false);
  }

  /**
   * Sends `line`, a command announcing a payload of `size` bytes (`:put …`, `:send …`), then
   * exactly `size` bytes read from `source`, with nothing written in between (lines sent
   * meanwhile wait). Waits until connected and registered. Resolves once the bytes are written
   * and the final line came: the final line may come first (a refusal is sent at once; the bytes
   * still follow and the server drops them). `final` is `undefined` when the connection dropped;
   * an upload is never repeated after a reconnect.
   * @throws {Error} on an echo server, which takes no payloads.
   */
  async upload(
    line: string,
    source: PayloadSource,
    size: number,
    hooks: TransferHooks = {},
  ): Promise<UploadAnswer> {
    const session = await this.#sessionForPayload(line);
    if (session === undefined) return { command: line, final: undefined, data: [], sent: 0 };
    return await session.upload(line, source, size, hooks);
  }

  /**
   * Sends `line`, a command whose answer carries a `FILE` line and its bytes (`:get <name>`,
   * `:accept <id>`); `receive` is called with that line and returns where the bytes go. The
   * sink has finished (`end` or `abort`) before the answer resolves. Waits until connected and
   * registered; `final` is `undefined` when the connection dropped.
   * @throws {Error} on an echo server.
   */
  async download(
    line: string,
    receive: PayloadReceiver,
    hooks: TransferHooks = {},
  ): Promise<Answer> {
    const session = await this.#sessionForPayload(line);
    if (session === undefined) return { command: line, final: undefined, data: [] };
    return await session.download(line, receive, hooks);
  }

  /** Resolves `true` once the client is connected and registered, `false` if it closed first. */
  async ready(): Promise<boolean> {
    while (this.#state !== "ready" || this.#session.link.closed) {
      if (this.#end !== undefined) return false;
      await this.#stateChanged.wait();
    }
    return true;
  }

  /**
   * Resolves once everything sent so far has been handled by the server and every command
   * answered (or the client has closed): queued lines are sent first, after a reconnect if need
   * be, then a `:ping` (an echo server: a line that comes back) marks the end.
   */
  async settle(): Promise<void> {
    for (;;) {
      if (!(await this.ready())) return;
      const marker = this.mode === "echo" ? ":pong" : ":ping";
      const answer = await this.#session.request(marker, true);
      if (answer.final !== undefined) return;
    }
  }

  /**
   * Leaves: sends `:quit` (`exit` to an echo server), waits up to `timeoutMs` for the server to
   * say goodbye and close, and ends the client with reason `quit`. Queued lines not sent are in
   * the result's `unsent`.
   */
  async quit(timeoutMs = 3000): Promise<ClientEnd> {
    if (this.#end !== undefined) return this.#end;
    this.#quitting = true;
    const session = this.#session;
    if (this.#state !== "reconnecting" && !session.link.closed) {
      void session.link.write(this.mode === "echo" ? "exit\n" : ":quit\n");
      await Promise.race([session.ended, sleep(timeoutMs, this.closed)]);
    }
    this.#finish("quit", this.#session.lastBye, "left");
    return await this.closed;
  }

  /** Closes at once without saying goodbye. */
  close(): void {
    this.#finish("closed", this.#session.lastBye, "closed by the program");
  }

  /** Closes and waits for the background reading to stop. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.#session.ended;
    await this.#supervisor;
  }

  /** A session on a fresh connection, sharing this client's identity and events. */
  #sessionOn(link: ClientLink): Session {
    return new Session(link, {
      identity: this.#identity,
      events: this.#events,
      staleTimeout: this.options.staleTimeout,
      ack: this.options.ack,
      onEnd: () => this.#stateChanged.wakeAll(),
    });
  }

  /** Connects again; `undefined` (and no new session) when the client closed meanwhile. */
  /**
   * A new connection for a reconnect: to the server that answered last, then to each other of
   * `servers` in turn when it cannot be reached.
   */
  async #reopen(): Promise<Session | undefined> {
    const { link, server } = await openFirstReachable(this.options, this.#server);
    this.#server = server;
    if (this.#state === "closed") {
      link.close();
      return undefined;
    }
    this.#session = this.#sessionOn(link);
    return this.#session;
  }

  /** Checks a payload command and waits until it can go; `undefined` when the client closed. */
  async #sessionForPayload(line: string): Promise<Session | undefined> {
    assertOneLine(line);
    if (this.mode === "echo") throw new Error("an echo server takes no files");
    return await this.ready() ? this.#session : undefined;
  }

  /** Sends the queued lines; `sent` events follow unless the caller announces them itself. */
  #flushQueue(announce = true): string[] {
    const lines = this.#queue.splice(0);
    for (const line of lines) this.#session.transmit(line, false);
    if (announce) { for (const line of lines) this.#events.emit("sent", { line }); }
    return lines;
  }

  /**
   * {@linkcode SwitchboardClient.#supervise}, which nothing awaits until the client closes: an
   * error it did not expect ends the client (`lost`, with the error) instead of escaping.
   */
  #supervised(): Promise<void> {
    return this.#supervise().catch((error) => {
      this.#finish("lost", this.#session.lastBye, `reconnecting failed: ${describe(error)}`);
    });
  }

  /** After each connection ends: the end of the client, a reconnect, or (`linger`) a wait. */
  async #supervise(): Promise<void> {
    for (;;) {
      const end = await this.#session.ended;
      if (this.#state === "closed") return;
      const final = this.#quitting ? "quit" : finalReason(end.bye);
      const idle = final === "disconnected" && end.bye?.reason === "idle" && this.options.linger;
      const retry = final === undefined && this.options.reconnectTimeout > 0;
      if (retry) this.#setState("reconnecting");
      this.#events.emit("disconnect", {
        bye: end.bye,
        error: end.error,
        reconnecting: retry,
        unanswered: end.unanswered,
        unacknowledged: end.unacknowledged,
      });
      if (idle) {
        // Reconnecting at once would defeat the server's idle policy; coming back when the
        // person acts again does not.
        if (!(await this.#dormant("idle", end.bye, describeEnd(end)))) return;
      } else if (!retry) {
        const reason = final ?? (end.bye === undefined ? "lost" : "disconnected");
        this.#finish(reason, end.bye, describeEnd(end));
        return;
      }
      for (;;) {
        const outcome = await reconnect({
          options: this.options,
          identity: this.#identity,
          login: this.#login,
          events: this.#events,
          closed: this.closed,
          ended: () => this.#end !== undefined,
          reopen: () => this.#reopen(),
          finish: (reason, bye, detail) => this.#finish(reason, bye, detail),
        }, end);
        if (outcome === undefined) return;
        if ("gaveUp" in outcome) {
          const { reason, bye, detail } = outcome.gaveUp;
          if (!this.options.linger) return this.#finish(reason, bye, detail);
          if (!(await this.#dormant("gave-up", bye, detail))) return;
          continue;
        }
        this.#setState("ready");
        const resent = this.#flushQueue(false);
        this.#events.emit("reconnect", {
          name: this.name,
          groups: this.groups,
          lostGroups: outcome.lostGroups,
          resent: resent.length,
        });
        // After the reconnect, so that a program shows "back" before the lines that went out.
        for (const line of resent) this.#events.emit("sent", { line });
        break;
      }
    }
  }

  /** Waits in state `dormant` until woken (`true`) or the client ends (`false`). */
  async #dormant(
    why: "idle" | "gave-up",
    bye: ByeEvent | undefined,
    detail: string,
  ): Promise<boolean> {
    this.#setState("dormant");
    const woken = new Promise<void>((resolve) => this.#wakeDormant = resolve);
    this.#events.emit("dormant", { why, bye, detail });
    await Promise.race([woken, this.closed]);
    this.#wakeDormant = undefined;
    if (this.#end !== undefined) return false;
    this.#setState("reconnecting");
    return true;
  }

  #finish(reason: EndReason, bye: ByeEvent | undefined, detail: string): void {
    if (this.#end !== undefined) return;
    this.#setState("closed");
    this.#session.close();
    this.#end = { reason, bye, detail, unsent: this.#queue.splice(0) };
    this.#events.emit("end", this.#end);
    this.#resolveEnd(this.#end);
  }

  #setState(state: ClientState): void {
    if (this.#state === "closed") return;
    this.#state = state;
    this.#stateChanged.wakeAll();
  }
}

/**
 * A connection to the first of `options.servers` that can be reached, starting at `start`; the
 * last error when none can. Refusals that are answers (`access-denied`) end the search.
 */
async function openFirstReachable(
  options: ResolvedClientOptions,
  start: number,
): Promise<{ link: ClientLink; server: number }> {
  const servers = options.servers;
  for (let tried = 0;; tried++) {
    const server = (start + tried) % servers.length;
    try {
      return { link: await ClientLink.open(linkOptions(options, servers[server])), server };
    } catch (error) {
      const unreachable = error instanceof ConnectError && error.code !== "access-denied";
      if (!unreachable || tried + 1 >= servers.length) throw error;
    }
  }
}

function linkOptions(
  options: ResolvedClientOptions,
  server: ServerAddress = options.servers[0]!,
): LinkOptions {
  return {
    hostname: server.hostname,
    port: server.port,
    connectTimeoutMs: options.connectTimeout * 1000,
    dial: server.dial,
  };
}

/** @throws {TypeError} when `line` holds a line break: one call, one line. */
function assertOneLine(line: string): void {
  if (/[\r\n]/.test(line)) throw new TypeError("a line cannot contain a line break");
}
