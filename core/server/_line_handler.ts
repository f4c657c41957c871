/**
 * What a connection does with each line it reads: a name to register, a `:command`, a lobby
 * message, an echoed line, or a line to refuse (too long, not UTF-8).
 *
 * The hot path never decodes a plain chat line: the chunk is validated as UTF-8 once, the line is
 * checked for control characters byte by byte, and the lobby lines of one chunk go to the
 * recording point together, which encodes them into one buffer for every recipient. Echo mode
 * takes the plain lines of a chunk in one pass and echoes them as one slice of the chunk.
 * @module
 */

import { isUtf8 } from "node:buffer";
import type { Caller, ServerContext } from "./context.ts";
import type { Peer } from "./hub.ts";
import type { Outbound } from "./outbound.ts";
import { LOBBY } from "./record.ts";
import { runCommand } from "./commands/table.ts";
import type { DisconnectReason, ErrorCode } from "../protocol/errors.ts";
import {
  errLine,
  formatLine,
  isPlainText,
  nameProblem,
  neutralize,
  okLine,
  parseCommand,
} from "../protocol/grammar.ts";
import { HeldSession } from "./sessions.ts";
import { nameRefusal } from "./_name_rules.ts";
import { type LineParser, TOO_LONG } from "../protocol/line_parser.ts";
import { CARRIAGE_RETURN, COLON, isCommandLine, isExit, NEWLINE } from "./_line_bytes.ts";
import { InfoTemplate, logInfo } from "../log/fast_info.ts";

/**
 * Refused lines in a row (too long, invalid UTF-8) after which a connection is taken as not
 * speaking the protocol at all (binary data, TLS, a wrong program) and closed with
 * `BYE protocol-error`. A person pasting text in the wrong encoding stays far below it.
 */
export const MAX_BAD_LINES_IN_A_ROW = 100;
/**
 * Pending lobby lines are handed out once they reach this size (or a quarter of the queue limit,
 * the high-water mark, if smaller), then the gate is checked again: a queue never holds more
 * than the mark plus one batch plus one line, so healthy readers are never cut in a flood.
 */
const MAX_BATCH_BYTES = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const REGISTERED = new InfoTemplate("registered {name} ({peer})");

/** The connection whose lines a {@linkcode LineHandler} handles. */
export interface LineConnection extends Caller, Peer {
  /** Connection id, as in server events. */
  readonly id: number;
  name: string;
  registered: boolean;
  account: string | undefined;
  ids: boolean;
  /** False once the connection starts closing. */
  readonly open: boolean;
  /** `ip:port`, made afresh, not kept (for records of rare events: see `Connection.address`). */
  describeAddress(): string;
  readonly outbound: Outbound;
  readonly parser: LineParser;
  /** The chunk being handled. */
  readonly chunk: Uint8Array;
  /** Notes a line of the client's own, for the idle timeout. */
  touch(): void;
  /** Keeps the read buffer from reuse until everything queued so far is written (echo). */
  retainChunk(): void;
  /** Closes with `BYE <reason> :<text>`. */
  close(reason: DisconnectReason, text: string): Promise<void>;
}

/** Handles one connection's lines; see the module comment. */
export class LineHandler {
  readonly #connection: LineConnection;
  readonly #ctx: ServerContext;
  readonly #echo: boolean;
  readonly #batchLimit: number;
  /** Whether the bytes of the current chunk up to its last newline are valid UTF-8. */
  chunkIsUtf8 = false;
  /** Lobby lines waiting to be recorded together (none: undefined, no array kept). */
  #pending: Uint8Array[] | undefined;
  #pendingBytes = 0;
  /**
   * The run of echo lines {@linkcode LineHandler.flush} records: each line's start and end in the
   * chunk (without its line ending), and the span of them all (with it). No run: undefined.
   */
  #echoBounds: number[] | undefined;
  #echoStart = -1;
  #echoEnd = -1;
  /** Refused lines since the last valid one; see {@linkcode MAX_BAD_LINES_IN_A_ROW}. */
  #badLines = 0;
  #ack: boolean;
  #ackSeq = 0;
  /** The connection's line limit, taken when it opened like its parser's (a reload keeps it). */
  readonly #maxLineBytes: number;

  /** A handler for `connection` of the server behind `ctx`. */
  constructor(connection: LineConnection, ctx: ServerContext) {
    this.#connection = connection;
    this.#ctx = ctx;
    const options = ctx.options;
    this.#echo = options.mode === "echo";
    this.#batchLimit = Math.min(MAX_BATCH_BYTES, Math.floor(options.maxQueueBytes / 4));
    this.#ack = options.ack && !this.#echo;
    this.#maxLineBytes = options.maxLineBytes;
  }

  /** Whether plain messages are acknowledged with `ACK`/`NACK`. */
  get ack(): boolean {
    return this.#ack;
  }

  /** Turns acknowledgements on (numbering restarts at 1) or off. */
  setAck(on: boolean): void {
    this.#ack = on && !this.#echo;
    this.#ackSeq = 0;
  }

  /** `ACK <seq>` for each of `count` lobby messages just recorded, in one buffer, if asked for. */
  acknowledge(count: number): void {
    if (!this.#ack) return;
    let lines = "";
    for (let i = 0; i < count; i++) lines += `ACK ${++this.#ackSeq}\n`;
    this.#connection.send(lines);
  }

  /** `NACK <seq> <code> :<text>` for each of `count` lobby messages just recorded, if asked for. */
  refuse(count: number, code: ErrorCode, text: string): void {
    if (!this.#ack) return;
    for (let i = 0; i < count; i++) this.#nack(code, text);
  }

  /** Handles one line (without its line ending) or the marker of one that was too long. */
  handle(line: Uint8Array | typeof TOO_LONG): void {
    const connection = this.#connection;
    if (line === TOO_LONG) return this.#refuseTooLong();
    if (!(this.chunkIsUtf8 && !connection.parser.carried) && !isUtf8(line)) {
      return this.#refuseBadUtf8(line);
    }
    this.#badLines = 0;
    if (!this.#echo && isCommandLine(line)) {
      this.flush();
      return this.#command(decoder.decode(line));
    }
    connection.touch();
    if (this.#echo) return this.#echoLine(line);
    if (line.length === 0) return;
    if (isExit(line)) {
      this.flush();
      void connection.close("quit", "Goodbye!");
      return;
    }
    if (!connection.registered) return this.#register(decoder.decode(line));
    // "::text" sends a message that starts with one colon.
    const text = line[0] === COLON ? line.subarray(1) : line;
    this.#queueLobbyLine(
      isPlainText(text) ? text : encoder.encode(neutralize(decoder.decode(text))),
    );
  }

  /** Hands the pending lobby lines and the pending echo run to the recording point. */
  flush(): void {
    const connection = this.#connection;
    if (this.#echoStart >= 0) {
      const chunk = connection.chunk;
      const verbatim = chunk.subarray(this.#echoStart, this.#echoEnd);
      const lines = { bytes: chunk, bounds: this.#echoBounds ?? [] };
      this.#echoBounds = undefined;
      this.#echoStart = -1;
      this.#ctx.recorder.record(connection, { kind: "echo", verbatim }, lines);
      // The read buffer is not reused until the queue has written everything up to this echo.
      connection.retainChunk();
    }
    const pending = this.#pending;
    if (pending === undefined) return;
    this.#pending = undefined;
    this.#pendingBytes = 0;
    this.#ctx.recorder.record(connection, LOBBY, pending);
  }

  /**
   * Echoes the lines from the parser's position on that need nothing but echoing: whole in this
   * chunk (valid UTF-8 already checked for the chunk), within the length limit, and not `exit`.
   * Stops before any other line, which {@linkcode LineHandler.handle} then takes. Same outcome
   * as handling each line, without a dispatch per line: on a stream of 1 KiB lines that was a
   * seventh of the server's time.
   */
  echoPlainLines(): void {
    const { parser, chunk } = this.#connection;
    const max = this.#maxLineBytes;
    let start = parser.position;
    for (let newline = parser.nextLineEnd(); newline >= 0; newline = parser.nextLineEnd()) {
      const end = newline > start && chunk[newline - 1] === CARRIAGE_RETURN ? newline - 1 : newline;
      const length = end - start;
      if (length > max || (length === 4 && isExit(chunk.subarray(start, end)))) return;
      parser.skipLine(newline);
      (this.#echoBounds ??= []).push(start, end);
      if (this.#echoStart < 0) {
        this.#echoStart = start;
        this.#connection.touch();
        this.#badLines = 0;
      }
      this.#echoEnd = start = newline + 1;
    }
  }

  #queueLobbyLine(text: Uint8Array): void {
    (this.#pending ??= []).push(text);
    // The wire line adds `MSG <name> * :` and a newline.
    this.#pendingBytes += this.#connection.name.length + text.length + 9;
    if (this.#pendingBytes >= this.#batchLimit) this.flush();
  }

  #echoLine(line: Uint8Array): void {
    const connection = this.#connection;
    if (isExit(line)) {
      this.flush();
      void connection.close("quit", "Goodbye!");
      return;
    }
    if (connection.parser.carried) {
      // The line began in an earlier chunk: it is a copy, not a slice of this one.
      this.flush();
      const copy = new Uint8Array(line.length + 1);
      copy.set(line);
      copy[line.length] = NEWLINE;
      const text = copy.subarray(0, line.length);
      this.#ctx.recorder.record(connection, { kind: "echo", verbatim: copy }, [text]);
      return;
    }
    // Extend the run of verbatim lines (with their own line endings) that flush will echo.
    const start = line.byteOffset - connection.chunk.byteOffset;
    if (this.#echoStart < 0) this.#echoStart = start;
    (this.#echoBounds ??= []).push(start, start + line.length);
    this.#echoEnd = connection.parser.position;
  }

  #register(name: string): void {
    const refusal = nameRefusal(this.#ctx, name);
    if (refusal !== undefined) {
      // Said as it is to a name line: the text of a bad name should not repeat the name.
      const text = refusal.code === "bad-name" ? nameProblem(name)! : refusal.text;
      const retry = refusal.code === "login-required" ? "" : "; try another";
      this.#connection.send(errLine(refusal.code, text + retry));
      return;
    }
    if (this.#ctx.cluster !== undefined) return this.#registerInCluster(name);
    this.registerAs(name);
    this.openSession();
  }

  /**
   * A cluster node asks the bus whether the name is free cluster-wide; the connection handles
   * its next line once the answer is in, and every other connection goes on meanwhile.
   */
  #registerInCluster(name: string): void {
    const connection = this.#connection;
    const cluster = this.#ctx.cluster!;
    connection.session!.defer(async () => {
      const claim = await cluster.claim(name);
      const free = claim === "ok" && !this.#ctx.hub.isTaken(name) && !connection.registered;
      if (free && connection.open) {
        this.registerAs(name);
        this.openSession();
        return;
      }
      if (claim === "ok") cluster.release(name);
      if (claim === "unavailable") {
        connection.send(
          errLine("cluster-unavailable", "the cluster cannot check names now; try again soon"),
        );
      } else connection.send(errLine("name-taken", `"${name}" is taken; try another`));
    });
  }

  /**
   * Registers the connection under `name`, already checked (or an account's, after `:login`):
   * joins the hub, sends `WELCOME`, logs and emits `register`.
   */
  registerAs(name: string): void {
    const connection = this.#connection;
    const { hub, gate, log, events } = this.#ctx;
    connection.name = name;
    connection.registered = true;
    hub.register(connection);
    if (connection.outbound.congested) gate.set(connection, true);
    const online = hub.online;
    connection.send(
      formatLine(
        "WELCOME",
        [name, online],
        `Hello ${name}! ${online} online. Type :help for commands`,
      ),
    );
    const peer = connection.describeAddress();
    logInfo(log.conn, REGISTERED, { name, peer });
    events.emit("register", { id: connection.id, name, address: peer });
  }

  /** Sends `SESSION <token>` for a session opened now (after `WELCOME`, or `OK login`). */
  openSession(): void {
    const connection = this.#connection;
    const token = this.#ctx.sessions.open(connection);
    if (connection.ids) this.#ctx.sessions.idsChanged(true);
    connection.send(formatLine("SESSION", [token]));
  }

  /** Takes over the session of `token`; see `Session.resume` in context.ts. */
  resume(token: string, lastIds: readonly number[]): void {
    const { sessions, cluster } = this.#ctx;
    if (cluster !== undefined && !sessions.has(token)) {
      return this.#resumeFromCluster(token, lastIds);
    }
    const connection = this.#connection;
    const idsBefore = connection.ids;
    connection.ids = true;
    const outcome = sessions.resume(token, lastIds, connection);
    if ("refused" in outcome) {
      connection.ids = idsBefore;
      connection.send(errLine("bad-session", outcome.refused));
      return;
    }
    sessions.idsChanged(true);
    const previous = outcome.previous;
    connection.account = previous.account;
    if (previous.admin === true) connection.admin = true;
    this.#welcomeBack(outcome.token, outcome.replay, outcome.count);
    if (!(previous instanceof HeldSession)) {
      // The server still thought that connection alive: the client noticed the break first.
      const live = previous as unknown as LineConnection;
      void live.close("replaced", "resumed from another connection");
    }
  }

  /**
   * A session this node does not hold, in a cluster: another node may (or did, if it was lost).
   * The connection handles its next line once the takeover is settled.
   */
  #resumeFromCluster(token: string, lastIds: readonly number[]): void {
    const connection = this.#connection;
    const { sessions, hub, cluster } = this.#ctx;
    connection.session!.defer(async () => {
      const takeover = await cluster!.takeOverSession(token);
      if ("refused" in takeover) {
        connection.send(errLine("bad-session", takeover.refused));
        return;
      }
      connection.ids = true;
      connection.name = takeover.name;
      connection.account = takeover.account;
      if (takeover.admin) connection.admin = true;
      // Its old node let go of it: it is put in its place here even if it cannot stay, so that
      // its leaving reaches every node the same way.
      cluster!.placeSession(connection, takeover);
      const adopted = connection.open
        ? sessions.adopt(connection, lastIds, takeover.start)
        : { refused: "the connection closed during the takeover" };
      if ("refused" in adopted) {
        hub.remove(connection, "quit");
        connection.send(errLine("bad-session", adopted.refused));
        return;
      }
      sessions.idsChanged(true);
      this.#welcomeBack(adopted.token, adopted.replay, adopted.count);
    });
  }

  /** `WELCOME`, `SESSION`, the replay and `OK resume <count>` for a resumed session. */
  #welcomeBack(token: string, replay: readonly Uint8Array[], count: number): void {
    const connection = this.#connection;
    const { hub, gate, log, events } = this.#ctx;
    connection.registered = true;
    if (connection.outbound.congested) gate.set(connection, true);
    const online = hub.online;
    const name = connection.name;
    connection.send(
      formatLine("WELCOME", [name, online], `Welcome back ${name}! ${online} online.`),
    );
    connection.send(formatLine("SESSION", [token]));
    // Past the queue limit if need be: the replay is bounded by what the session may miss.
    for (const part of replay) connection.outbound.enqueue(part, true);
    connection.send(okLine("resume", count));
    const peer = connection.describeAddress();
    log.conn.info("resumed {name} ({peer}): {count} messages replayed", { name, peer, count });
    events.emit("register", { id: connection.id, name, address: peer });
  }

  #command(line: string): void {
    const { verb, rest } = parseCommand(line);
    // A pong proves liveness (any received byte does) but is not activity of the client's own.
    if (verb === "pong") return;
    const connection = this.#connection;
    connection.touch();
    if (verb === "quit") {
      void connection.close("quit", "Goodbye!");
      return;
    }
    runCommand(this.#ctx, connection, verb, rest);
  }

  #refuseTooLong(): void {
    const connection = this.#connection;
    connection.touch();
    this.flush();
    const max = this.#maxLineBytes;
    this.#ctx.throttle.warning(
      this.#ctx.log.limits,
      connection.ip,
      "line too long from {name} ({peer}): limit {bytes} bytes",
      { name: connection.name, peer: connection.address, bytes: max },
    );
    const text = `lines are limited to ${max} bytes; that one was dropped`;
    // With acknowledgements on, an over-long line counts as a message (its start is gone).
    if (this.#ack && connection.registered) this.#nack("line-too-long", text);
    else connection.send(errLine("line-too-long", text));
    this.#countBadLine();
  }

  #refuseBadUtf8(line: Uint8Array): void {
    const connection = this.#connection;
    connection.touch();
    this.flush();
    this.#ctx.throttle.warning(
      this.#ctx.log.limits,
      connection.ip,
      "invalid UTF-8 from {name} ({peer})",
      { name: connection.name, peer: connection.address },
    );
    const text = "lines must be valid UTF-8; that one was dropped";
    if (this.#ack && connection.registered && !isCommandLine(line)) this.#nack("bad-utf8", text);
    else connection.send(errLine("bad-utf8", text));
    this.#countBadLine();
  }

  /** `NACK <seq> <code> :<text>` for a refused message. */
  #nack(code: ErrorCode, text: string): void {
    this.#connection.send(formatLine("NACK", [++this.#ackSeq, code], text));
  }

  #countBadLine(): void {
    if (++this.#badLines < MAX_BAD_LINES_IN_A_ROW) return;
    void this.#connection.close(
      "protocol-error",
      `${MAX_BAD_LINES_IN_A_ROW} invalid lines in a row`,
    );
  }
}
