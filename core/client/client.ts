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

import { AckTracker } from "./acks.ts";
import type { Answer } from "./answer.ts";
import type {
  ClientEnd,
  ClientEventMap,
  ClientLineEvent,
  ClientState,
  EchoEvent,
  EndReason,
} from "./events.ts";
import { ConnectError } from "./errors.ts";
import { ClientLink, type LinkOptions } from "./link.ts";
import { type ClientOptions, resolveClientOptions, type ResolvedClientOptions } from "./options.ts";
import {
  type PayloadReceiver,
  receivePayload,
  type TransferHooks,
  type UploadAnswer,
} from "./payload.ts";
import { Emitter } from "../util/emitter.ts";
import type { PayloadSource } from "../protocol/payload.ts";
import { nameKey, parseCommand } from "../protocol/grammar.ts";
import {
  type ByeEvent,
  DATA_EVENT_TYPES,
  type ErrEvent,
  type HelloEvent,
  type OkEvent,
  parseServerLine,
  type ServerEvent,
  type WelcomeEvent,
} from "../protocol/server_line.ts";

/** Outcome of {@linkcode SwitchboardClient.register}. */
export type RegisterResult =
  | { ok: true; welcome: WelcomeEvent }
  | {
    ok: false;
    /** `bad-name`, `name-taken`, or `closed` when the server hung up twice. */
    code: string;
    /** The server's explanation. */
    text: string;
  };

/**
 * What {@linkcode SwitchboardClient.send} did with a line: sent it, queued it (disconnected or
 * not registered yet), or refused it (queue full, longer than `maxLineBytes`, client closed).
 */
export type SendStatus = "sent" | "queued" | "queue-full" | "too-long" | "closed";

interface Pending {
  line: string;
  internal: boolean;
  /** Data lines, kept for {@linkcode SwitchboardClient.request} (not for lines merely sent). */
  data: ServerEvent[] | undefined;
  resolve: (answer: Answer) => void;
  /** Where the bytes after a `FILE` line in this command's answer go. */
  receive: PayloadReceiver | undefined;
}

type RegistrationReply = WelcomeEvent | ErrEvent | { type: "closed"; bye: ByeEvent | undefined };

interface PumpEnd {
  bye: ByeEvent | undefined;
  error: string | undefined;
  unanswered: string[];
  unacknowledged: string[];
}

/** Reasons after which reconnecting makes sense: the server went away or cut a stuck link. */
const TRANSIENT_BYE = new Set(["shutdown", "stale", "slow-consumer"]);
const encoder = new TextEncoder();
const SHORT_CONNECT_ERRORS: Partial<Record<ConnectError["code"], string>> = {
  refused: "connection refused",
  unreachable: "host unreachable",
  timeout: "connection timed out",
};

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
  readonly #groups = new Map<string, string>();
  readonly #queue: string[] = [];
  readonly #pending: Pending[] = [];
  readonly #sleepers = new Set<() => void>();
  readonly #acks = new AckTracker();
  #link: ClientLink;
  #hello: HelloEvent;
  #state: ClientState;
  #name: string | undefined;
  #pump: Promise<PumpEnd>;
  #supervisor: Promise<void> | undefined;
  #registering: ((reply: RegistrationReply) => void) | undefined;
  #stateWaiters: (() => void)[] = [];
  #quitting = false;
  #lastBye: ByeEvent | undefined;
  #staleTimer: ReturnType<typeof setTimeout> | undefined;
  #end: ClientEnd | undefined;
  #resolveEnd!: (end: ClientEnd) => void;

  private constructor(options: ResolvedClientOptions, link: ClientLink) {
    this.options = options;
    this.address = link.address;
    this.closed = new Promise((resolve) => this.#resolveEnd = resolve);
    this.#link = link;
    this.#hello = link.hello;
    this.#pump = this.#attach(link);
    this.#state = link.hello.mode === "echo" ? "ready" : "registering";
    if (this.#state === "ready") this.#supervisor = this.#supervise();
  }

  /**
   * Connects and waits for the server's greeting.
   * @throws {ConnectError} with code `refused`, `unreachable`, `timeout`, `access-denied`,
   * `server-full`, `shutting-down`, `not-switchboard` or `closed`.
   */
  static async connect(options: ClientOptions = {}): Promise<SwitchboardClient> {
    const resolved = resolveClientOptions(options);
    const link = await ClientLink.open(linkOptions(resolved));
    return new SwitchboardClient(resolved, link);
  }

  /** The server's most recent greeting. */
  get hello(): HelloEvent {
    return this.#hello;
  }

  /** `chat` or `echo`, from the greeting. */
  get mode(): "chat" | "echo" {
    return this.#hello.mode;
  }

  /** The registered name (kept up to date through renames), or `undefined` before. */
  get name(): string | undefined {
    return this.#name;
  }

  /** Groups this client belongs to (without `#`), re-joined after a reconnect. */
  get groups(): string[] {
    return [...this.#groups.values()];
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
    return this.#acks.active;
  }

  /**
   * Messages sent on this connection with acknowledgements on that got no `ACK`/`NACK` yet.
   * After {@linkcode SwitchboardClient.settle} any left were never answered.
   */
  get unacknowledged(): string[] {
    return this.#acks.unanswered;
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
  async register(name: string): Promise<RegisterResult> {
    if (this.mode === "echo") throw new Error("an echo server takes no name");
    if (this.#state !== "registering") throw new Error(`cannot register while ${this.#state}`);
    let last: RegistrationReply | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (this.#link.closed) await this.#reopen();
      last = await this.#registerOn(this.#link, name);
      if (last.type === "welcome") {
        this.#name = last.name;
        await this.#enableAcks(this.#link);
        this.#setState("ready");
        this.#flushQueue();
        this.#supervisor = this.#supervise();
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
   * registered, otherwise queued (up to `queueLimit` lines) and sent after reconnecting.
   * @throws {TypeError} when `line` contains a line break.
   */
  send(line: string): SendStatus {
    if (/[\r\n]/.test(line)) throw new TypeError("a line cannot contain a line break");
    if (this.#state === "closed") return "closed";
    if (encoder.encode(line).length > this.options.maxLineBytes) return "too-long";
    if (this.#state === "ready" && !this.#link.closed) {
      this.#transmit(this.#link, line, false);
      return "sent";
    }
    if (this.#queue.length >= this.options.queueLimit) return "queue-full";
    this.#queue.push(line);
    return "queued";
  }

  /**
   * Sends a `:command` once connected and resolves with its answer. The answer's `final` is
   * `undefined` when the connection dropped before it came, or the client closed.
   */
  async request(command: string): Promise<Answer> {
    if (/[\r\n]/.test(command)) throw new TypeError("a line cannot contain a line break");
    if (!(await this.ready())) return { command, final: undefined, data: [] };
    return await this.#requestOn(this.#link, command, false);
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
    if (/[\r\n]/.test(line)) throw new TypeError("a line cannot contain a line break");
    if (this.mode === "echo") throw new Error("an echo server takes no files");
    if (!(await this.ready())) return { command: line, final: undefined, data: [], sent: 0 };
    const link = this.#link;
    const answer = this.#expect(line, undefined, false, hooks.onAnswer);
    const written = link.writePayload(line, source, size, hooks.onProgress).then((sent) => {
      hooks.onWritten?.(sent);
      return sent;
    });
    hooks.onQueued?.();
    const [result, sent] = await Promise.all([answer, written]);
    return { ...result, sent };
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
    if (/[\r\n]/.test(line)) throw new TypeError("a line cannot contain a line break");
    if (this.mode === "echo") throw new Error("an echo server takes no files");
    if (!(await this.ready())) return { command: line, final: undefined, data: [] };
    const answer = this.#expect(line, receive, false, hooks.onAnswer);
    void this.#link.write(line + "\n");
    hooks.onQueued?.();
    return await answer;
  }

  /** Resolves `true` once the client is connected and registered, `false` if it closed first. */
  async ready(): Promise<boolean> {
    while (this.#state !== "ready" || this.#link.closed) {
      if (this.#end !== undefined) return false;
      await this.#nextState();
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
      const answer = await this.#requestOn(this.#link, marker, true);
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
    if (this.#state !== "reconnecting" && !this.#link.closed) {
      void this.#link.write(this.mode === "echo" ? "exit\n" : ":quit\n");
      await Promise.race([this.#pump, this.#sleep(timeoutMs)]);
    }
    this.#finish("quit", this.#lastBye, "left");
    return await this.closed;
  }

  /** Closes at once without saying goodbye. */
  close(): void {
    this.#finish("closed", this.#lastBye, "closed by the program");
  }

  /** Closes and waits for the background reading to stop. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.#pump;
    await this.#supervisor;
  }

  // --- connection and reading ---------------------------------------------------------------

  #attach(link: ClientLink): Promise<PumpEnd> {
    this.#link = link;
    this.#hello = link.hello;
    this.#lastBye = undefined;
    this.#armStaleTimer(link);
    this.#pump = this.#read(link);
    return this.#pump;
  }

  async #reopen(): Promise<void> {
    const link = await ClientLink.open(linkOptions(this.options));
    if (this.#state === "closed") {
      link.close();
      return;
    }
    this.#attach(link);
  }

  async #read(link: ClientLink): Promise<PumpEnd> {
    let bye: ByeEvent | undefined;
    for (;;) {
      const line = await link.next();
      if (line === null) break;
      // Parsed once more here: after this line come raw bytes, whoever reports the line.
      const header = this.mode === "chat" && line.startsWith("FILE ")
        ? parseServerLine(line)
        : undefined;
      bye = this.#dispatch(link, line) ?? bye;
      if (header?.type === "file") {
        // The sink the current command asked for (a `FILE` nobody asked for is dropped).
        const head = this.#pending[0];
        const receive = head?.receive;
        if (head !== undefined) head.receive = undefined;
        await receivePayload(link, header, receive);
      }
    }
    link.close();
    if (link !== this.#link) {
      return { bye, error: link.error, unanswered: [], unacknowledged: [] };
    }
    clearTimeout(this.#staleTimer);
    const unacknowledged = this.#acks.end().map((message) => message.line);
    const pending = this.#pending.splice(0);
    for (const entry of pending) {
      entry.resolve({ command: entry.line, final: undefined, data: entry.data ?? [] });
    }
    this.#registering?.({ type: "closed", bye });
    this.#registering = undefined;
    this.#stateChanged();
    return {
      bye,
      error: link.error,
      unanswered: pending.filter((entry) => !entry.internal).map((entry) => entry.line),
      unacknowledged,
    };
  }

  #armStaleTimer(link: ClientLink): void {
    clearTimeout(this.#staleTimer);
    const limit = this.options.staleTimeout * 1000;
    if (limit <= 0) return;
    const check = () => {
      if (link !== this.#link || link.closed) return;
      const quiet = Date.now() - link.lastActivity;
      if (quiet >= limit) {
        link.close(`no data from the server for ${this.options.staleTimeout} s`);
        return;
      }
      this.#staleTimer = setTimeout(check, limit - quiet);
    };
    this.#staleTimer = setTimeout(check, limit);
  }

  /** Handles one server line; returns it when it is a `BYE`. */
  #dispatch(link: ClientLink, line: string): ByeEvent | undefined {
    if (this.mode === "echo") return this.#dispatchEcho(link, line);
    const event = parseServerLine(line);
    switch (event.type) {
      case "ping":
        void link.write(":pong\n");
        return undefined;
      case "bye":
        this.#lastBye = event;
        this.#emitLine(event, undefined);
        return event;
      case "welcome":
        if (this.#registering !== undefined) return this.#registrationReply(event);
        break;
      case "error":
        if (this.#pending.length > 0) return this.#answer(event);
        if (this.#registering !== undefined && isNameRefusal(event)) {
          return this.#registrationReply(event);
        }
        break;
      case "ok":
        if (this.#pending.length > 0) return this.#answer(event);
        break;
      case "nick":
        if (this.#name !== undefined && nameKey(event.from) === nameKey(this.#name)) {
          this.#name = event.to;
        }
        break;
      case "ack":
      case "nack":
        this.#emitLine(event, this.#acks.answer(event.seq));
        return undefined;
      default: {
        const head = this.#pending[0];
        if (head !== undefined && DATA_EVENT_TYPES.has(event.type)) {
          head.data?.push(event);
          if (!head.internal) this.#emitLine(event, head.line);
          return undefined;
        }
      }
    }
    this.#emitLine(event, undefined);
    return undefined;
  }

  #dispatchEcho(link: ClientLink, line: string): ByeEvent | undefined {
    const head = this.#pending[0];
    if (head !== undefined && line === head.line) {
      this.#answerEcho({ type: "echo", text: line, line });
      return undefined;
    }
    const event = parseServerLine(line);
    if (event.type === "ping") {
      this.#transmit(link, ":pong", true);
      return undefined;
    }
    if (event.type === "bye") {
      this.#lastBye = event;
      this.#emitLine(event, undefined);
      return event;
    }
    if (head !== undefined) {
      // An error in place of the echo (line too long, bad UTF-8), or an altered echo.
      this.#answerEcho(event.type === "error" ? event : { type: "echo", text: line, line });
      return undefined;
    }
    this.#emitLine(event, undefined);
    return undefined;
  }

  #answerEcho(event: EchoEvent | ErrEvent): void {
    const head = this.#pending.shift() as Pending;
    head.resolve({ command: head.line, final: event, data: [] });
    if (!head.internal) this.#emitLine(event, head.line);
  }

  #answer(event: OkEvent | ErrEvent): undefined {
    const head = this.#pending.shift() as Pending;
    if (event.type === "ok") this.#track(event, head.line);
    head.resolve({ command: head.line, final: event, data: head.data ?? [] });
    if (!head.internal) this.#emitLine(event, head.line);
    return undefined;
  }

  #registrationReply(event: WelcomeEvent | ErrEvent): undefined {
    const resolve = this.#registering as (reply: RegistrationReply) => void;
    this.#registering = undefined;
    if (event.type === "welcome") this.#name = event.name;
    this.#events.emit("line", { event, command: undefined, registration: true });
    resolve(event);
    return undefined;
  }

  /** Keeps name, groups and acknowledgements in step with what the server confirmed. */
  #track(event: OkEvent, command: string): void {
    const [sub, group] = event.params;
    if (event.verb === "name" && sub !== undefined) this.#name = sub;
    // `:ack on` restarts the numbering; a bare `:ack` only asks.
    if (event.verb === "ack" && /^:ack\s+(on|off)\s*$/i.test(command)) {
      if (sub === "on") this.#acks.start();
      else this.#acks.stop();
    }
    if (event.verb !== "group" || group === undefined) return;
    if (sub === "create" || sub === "join") this.#groups.set(nameKey(group), group);
    if (sub === "leave") this.#groups.delete(nameKey(group));
  }

  #emitLine(event: ClientLineEvent, command: string | undefined): void {
    this.#events.emit("line", { event, command, registration: false });
  }

  // --- sending ------------------------------------------------------------------------------

  /** Writes a line; a command (and, to an echo server, any line) awaits its answer in order. */
  #transmit(link: ClientLink, line: string, internal: boolean): void {
    if (expectsAnswer(this.mode, line)) {
      this.#pending.push({
        line,
        internal,
        data: undefined,
        resolve: () => {},
        receive: undefined,
      });
    } else if (this.mode === "chat") {
      this.#acks.sent(line);
    }
    void link.write(line + "\n");
  }

  #requestOn(link: ClientLink, line: string, internal: boolean): Promise<Answer> {
    if (link.closed || !expectsAnswer(this.mode, line)) {
      if (!link.closed) void link.write(line + "\n");
      return Promise.resolve({ command: line, final: undefined, data: [] });
    }
    const answer = this.#expect(line, undefined, internal);
    void link.write(line + "\n");
    return answer;
  }

  /** Registers a command about to be written as the next one waiting for its answer. */
  #expect(
    line: string,
    receive: PayloadReceiver | undefined,
    internal = false,
    onAnswer?: (answer: Answer) => void,
  ): Promise<Answer> {
    return new Promise((resolve) => {
      const settle = onAnswer === undefined ? resolve : (answer: Answer) => {
        try {
          onAnswer(answer);
        } catch {
          // The caller's own bug; the answer still resolves.
        }
        resolve(answer);
      };
      this.#pending.push({ line, internal, data: [], resolve: settle, receive });
    });
  }

  /** With the `ack` option, `:ack on` on a fresh connection (before any queued line goes out). */
  async #enableAcks(link: ClientLink): Promise<void> {
    if (this.options.ack && this.mode === "chat") await this.#requestOn(link, ":ack on", true);
  }

  #registerOn(link: ClientLink, name: string): Promise<RegistrationReply> {
    if (link.closed) return Promise.resolve({ type: "closed", bye: this.#lastBye });
    return new Promise((resolve) => {
      this.#registering = resolve;
      void link.write(name + "\n");
    });
  }

  #flushQueue(): number {
    const lines = this.#queue.splice(0);
    for (const line of lines) this.#transmit(this.#link, line, false);
    return lines.length;
  }

  // --- staying connected --------------------------------------------------------------------

  async #supervise(): Promise<void> {
    for (;;) {
      const end = await this.#pump;
      if (this.#state === "closed") return;
      const final = this.#quitting ? "quit" : finalReason(end.bye);
      const retry = final === undefined && this.options.reconnectTimeout > 0;
      if (retry) this.#setState("reconnecting");
      this.#events.emit("disconnect", {
        bye: end.bye,
        error: end.error,
        reconnecting: retry,
        unanswered: end.unanswered,
        unacknowledged: end.unacknowledged,
      });
      if (!retry) {
        const reason = final ?? (end.bye === undefined ? "lost" : "disconnected");
        this.#finish(reason, end.bye, describeEnd(end));
        return;
      }
      if (!(await this.#recover(end))) return;
    }
  }

  /** Reconnects until it works or time runs out; false when the client ended instead. */
  async #recover(cause: PumpEnd): Promise<boolean> {
    const deadline = Date.now() + this.options.reconnectTimeout * 1000;
    let lastError = describeEnd(cause);
    for (let attempt = 1;; attempt++) {
      const delayMs = attempt === 1 ? 0 : Math.max(0, this.options.backoff(attempt - 1));
      if (Date.now() + delayMs > deadline) {
        this.#finish(
          cause.bye === undefined ? "lost" : "disconnected",
          cause.bye,
          `gave up reconnecting after ${this.options.reconnectTimeout} s (${lastError})`,
        );
        return false;
      }
      this.#events.emit("reconnecting", { attempt, delayMs, lastError });
      await this.#sleep(delayMs);
      if (this.#end !== undefined) return false;
      try {
        await this.#reopen();
      } catch (error) {
        if (!(error instanceof ConnectError)) throw error;
        if (error.code === "access-denied") {
          this.#finish("access-denied", undefined, error.message);
          return false;
        }
        // Said again every few seconds: the short form for the common, self-explaining cases.
        lastError = SHORT_CONNECT_ERRORS[error.code] ?? error.message;
        continue;
      }
      if (this.#end !== undefined) return false;
      const link = this.#link;
      const problem = await this.#reidentify(link);
      if (problem === "ended") return false;
      if (problem !== undefined) {
        lastError = problem;
        link.close();
        continue;
      }
      const lostGroups = await this.#rejoin(link);
      await this.#enableAcks(link);
      if (link.closed) {
        lastError = link.error ?? "the server closed the connection again";
        continue;
      }
      this.#setState("ready");
      const resent = this.#flushQueue();
      this.#events.emit("reconnect", { name: this.#name, groups: this.groups, lostGroups, resent });
      return true;
    }
  }

  /** Registers the same name again; returns a problem to retry on, or "ended". */
  async #reidentify(link: ClientLink): Promise<string | "ended" | undefined> {
    if (this.mode !== "chat" || this.#name === undefined) return undefined;
    const name = this.#name;
    const reply = await this.#registerOn(link, name);
    if (reply.type === "welcome") return undefined;
    if (reply.type === "closed") return link.error ?? "the server closed the connection";
    if (reply.code === "name-taken") {
      return `the name ${name} is still taken (the old session has not ended yet)`;
    }
    this.#finish("name-refused", undefined, `the server refused the name ${name}: ${reply.text}`);
    return "ended";
  }

  async #rejoin(link: ClientLink): Promise<{ group: string; text: string }[]> {
    const lost: { group: string; text: string }[] = [];
    for (const [key, group] of [...this.#groups]) {
      let answer = await this.#requestOn(link, `:group join ${group}`, true);
      if (answer.final?.type === "error" && answer.final.code === "no-such-group") {
        answer = await this.#requestOn(link, `:group create ${group}`, true);
      }
      if (answer.final === undefined) return lost;
      if (answer.final.type === "error") {
        this.#groups.delete(key);
        lost.push({ group, text: answer.final.text });
      }
    }
    return lost;
  }

  #finish(reason: EndReason, bye: ByeEvent | undefined, detail: string): void {
    if (this.#end !== undefined) return;
    this.#setState("closed");
    clearTimeout(this.#staleTimer);
    for (const wake of [...this.#sleepers]) wake();
    this.#link.close();
    this.#end = { reason, bye, detail, unsent: this.#queue.splice(0) };
    this.#events.emit("end", this.#end);
    this.#resolveEnd(this.#end);
  }

  // --- small helpers ------------------------------------------------------------------------

  #setState(state: ClientState): void {
    if (this.#state === "closed") return;
    this.#state = state;
    this.#stateChanged();
  }

  #stateChanged(): void {
    const waiters = this.#stateWaiters;
    this.#stateWaiters = [];
    for (const wake of waiters) wake();
  }

  #nextState(): Promise<void> {
    return new Promise((resolve) => this.#stateWaiters.push(resolve));
  }

  /** Sleeps `ms`, or less when the client closes. */
  #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#state === "closed") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#sleepers.add(done);
    });
  }
}

function linkOptions(options: ResolvedClientOptions): LinkOptions {
  return {
    hostname: options.hostname,
    port: options.port,
    connectTimeoutMs: options.connectTimeout * 1000,
  };
}

/** True when the server answers `line` with exactly one line of its own. */
function expectsAnswer(mode: "chat" | "echo", line: string): boolean {
  if (mode === "echo") return line.toLowerCase() !== "exit";
  if (!line.startsWith(":") || line.startsWith("::")) return false;
  const verb = parseCommand(line).verb;
  return verb !== "pong" && verb !== "quit";
}

function isNameRefusal(event: ErrEvent): boolean {
  return event.code === "bad-name" || event.code === "name-taken";
}

/** The end reason a `BYE` forces, or `undefined` when reconnecting is worth a try. */
function finalReason(bye: ByeEvent | undefined): EndReason | undefined {
  if (bye === undefined || TRANSIENT_BYE.has(bye.reason)) return undefined;
  if (bye.reason === "quit") return "quit";
  if (bye.reason === "kicked") return "kicked";
  return "disconnected";
}

function describeEnd(end: { bye: ByeEvent | undefined; error: string | undefined }): string {
  if (end.bye !== undefined) return `the server said ${end.bye.reason}: ${end.bye.text}`;
  return end.error ?? "the server closed the connection";
}
