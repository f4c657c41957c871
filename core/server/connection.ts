/**
 * One task per connection: read chunks, cut them into lines, act on each line, queue replies.
 *
 * The hot path never decodes a plain chat line: it is validated as UTF-8 once per chunk, checked
 * for control characters byte by byte, and copied into one `MSG` batch per chunk that is handed
 * to every recipient as the same `Uint8Array`. Before each line the connection respects the
 * server's backpressure gate and its own rate limit, so it stops reading while others catch up.
 *
 * Sized payloads and long-running commands (file transfers, `:run`) pause the line loop instead
 * of adding work to it: a command that needs one registers a pause, the parser then yields no
 * more lines, and the pause is served where the loop already stops at the end of a chunk. Plain
 * lines pay nothing for these features.
 * @module
 */

import { isUtf8 } from "node:buffer";
import { runCommand } from "./commands/table.ts";
import type {
  Caller,
  ConnectionHandle,
  DeferOptions,
  PayloadSink,
  ServerContext,
  Session,
} from "./context.ts";
import type { HeldSender } from "./congestion.ts";
import { ABNORMAL_REASONS, type DisconnectReason, type ErrorCode } from "../protocol/errors.ts";
import type { Group } from "./hub.ts";
import { livenessAction } from "./liveness.ts";
import { Outbound } from "./outbound.ts";
import { LineParser, TOO_LONG } from "../protocol/line_parser.ts";
import { ReadBuffers } from "./read_buffers.ts";
import { pumpPayload } from "./payload_io.ts";
import type { PayloadSource } from "../protocol/payload.ts";
import type { ByteStream } from "../net/stream.ts";
import { describeError as describe } from "../util/describe_error.ts";
import { abortion, settleWithin, sleep } from "../util/time.ts";
import { WakeList } from "../util/wake_list.ts";
import {
  byeLine,
  errLine,
  formatLine,
  isPlainText,
  nameProblem,
  neutralize,
  parseCommand,
  PROTOCOL_VERSION,
} from "../protocol/grammar.ts";
import { TokenBucket } from "./rate_limit.ts";
import { VERSION } from "../protocol/version.ts";

const COLON = 0x3a;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
/**
 * Read buffers start small (idle connections stay cheap) and grow fourfold while reads fill them,
 * up to the queue's high-water mark (a quarter of `--max-queue-bytes`) or MAX_READ_BUFFER. Each
 * read is a Deno op whose cost does not depend on its size: on a stream of 1 KiB echo lines,
 * 256 KiB reads instead of 64 KiB took the server from 445 to 626 MB/s.
 */
const MIN_READ_BUFFER = 1024;
const MAX_READ_BUFFER = 256 * 1024;
/** The read started while a task runs (see {@linkcode Connection.#watchPeer}). */
const EARLY_READ_BUFFER = 64 * 1024;
/**
 * A broadcast batch is handed out once it reaches this size (or a quarter of the queue limit,
 * the high-water mark, if smaller), then the gate is checked again: a queue never holds more
 * than the mark plus one batch plus one line, so healthy readers are never cut in a flood.
 */
const MAX_BATCH_BYTES = 64 * 1024;
/**
 * Refused lines in a row (too long, invalid UTF-8) after which a connection is taken as not
 * speaking the protocol at all (binary data, TLS, a wrong program) and closed with
 * `BYE protocol-error`. A person pasting text in the wrong encoding stays far below it.
 */
export const MAX_BAD_LINES_IN_A_ROW = 100;
const EMPTY = new Uint8Array(0);
/**
 * How long a closing connection that still had input coming goes on reading (and discarding) it
 * after its `BYE`, before the socket is closed. Closing a socket with unread input makes the
 * kernel send a reset, which can destroy the `BYE` before the client reads it.
 */
const LINGER_MS = 1000;
/** How long a slow consumer's `BYE` may take to go out: it is cut for not reading, after all. */
const SLOW_CONSUMER_BYE_MS = 1000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

type State = "open" | "closing" | "closed";

/** Why {@linkcode Connection.#drainNow} stopped; see there. */
type DrainStop = "done" | "gate" | "token" | "pause";

/** What the line loop serves before its next line: a sized payload to read, or a task to await. */
type Pause =
  | { kind: "payload"; sink: PayloadSink; size: number; received: number }
  | { kind: "task"; run: (signal: AbortSignal) => Promise<void>; abortOnEof: boolean };

/** A client connection. Created by the server for each accepted socket. */
export class Connection implements ConnectionHandle, Caller, Session, HeldSender {
  readonly id: number;
  readonly ip: string;
  readonly port: number;
  readonly address: string;
  name = "";
  registered = false;
  admin: boolean;
  readonly groups: Set<Group> = new Set();
  readonly outbound: Outbound;
  readonly acceptedAt = performance.now();
  lastReceived = this.acceptedAt;
  lastActivity = this.acceptedAt;
  pingSentAt = 0;

  readonly #conn: ByteStream;
  readonly #ctx: ServerContext;
  readonly #parser: LineParser;
  readonly #bucket: TokenBucket | undefined;
  readonly #echo: boolean;
  readonly #batchLimit: number;
  readonly #onClosed: (connection: Connection, reason: DisconnectReason) => void;
  readonly #wake = new AbortController();
  #state: State = "open";
  #closing: Promise<void> | undefined;
  #processing: Promise<void> | undefined;
  #chunk: Uint8Array = new Uint8Array(0);
  #chunkIsUtf8 = false;
  /**
   * Clock readings happen in the liveness sweep, not per chunk or per write: the hot path only
   * raises these flags and counts bytes, and each sweep turns them into times (see
   * {@linkcode Connection.checkLiveness}). A time seen this way is at most one sweep late, so a
   * timeout can fire up to one sweep interval late, never early.
   */
  #receivedSinceSweep = false;
  #activeSinceSweep = false;
  /** When the outbound queue was last seen empty or making progress (sweep time). */
  #progressAt = this.acceptedAt;
  #writtenAtSweep = 0;
  #emptyAtSweep = true;
  readonly #buffers: ReadBuffers;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #prefix: Uint8Array = new Uint8Array(0);
  #prefixName = "";
  #echoStart = -1;
  /** When the rate limit was last logged for this client (performance.now()), or 0. */
  #rateLimitLoggedAt = 0;
  /** Refused lines since the last valid one; see {@linkcode MAX_BAD_LINES_IN_A_ROW}. */
  #badLines = 0;
  /** Whether the request log takes message lines, checked once a chunk. */
  #logMessages = false;
  /** When the current chunk was read, for the request log (set only while it logs). */
  #chunkWallTime = 0;
  #echoEnd = -1;
  /** A line taken from the parser and held by the rate limit until a token is there. */
  #lineOnHold: Uint8Array | typeof TOO_LONG | undefined;
  /** A payload or task to serve before the next line (see the module comment). */
  #pause: Pause | undefined;
  /** The unparsed rest of the chunk, set aside while a task runs. */
  #rest: Uint8Array | undefined;
  /** A socket read started while a task runs (to notice the peer leaving); the next chunk. */
  #early: { buffer: Uint8Array; read: Promise<number | null> } | undefined;
  /** Aborts the running task. */
  #task: AbortController | undefined;
  /** Lines for this client held back while a payload is being sent to it. */
  #held: Uint8Array[] | undefined;
  #heldBytes = 0;
  #ack: boolean;
  #ackSeq = 0;
  /** The line held back is a lobby message waiting for the gate (see congestion.ts). */
  #lobbyHold = false;
  /** The read loop stopped with input not handled: a close lingers (see LINGER_MS). */
  #inputLeft = false;
  /** Resolves when the read loop has finished, after discarding input while closing. */
  readonly #readerDone: Promise<void>;
  #readerFinished!: () => void;
  /** Resolves once the connection starts closing (the read loop waits for it at shutdown). */
  #closeStarted!: Promise<void>;
  #startClose!: () => void;

  /** Wraps an accepted socket; call {@linkcode Connection.run} to serve it. */
  constructor(
    id: number,
    conn: ByteStream,
    ctx: ServerContext,
    peer: { ip: string; port: number; address: string; admin: boolean },
    onClosed: (connection: Connection, reason: DisconnectReason) => void,
  ) {
    this.id = id;
    this.#conn = conn;
    this.#ctx = ctx;
    this.ip = peer.ip;
    this.port = peer.port;
    this.address = peer.address;
    this.admin = peer.admin;
    this.#onClosed = onClosed;
    const options = ctx.options;
    this.#echo = options.mode === "echo";
    this.#batchLimit = Math.min(MAX_BATCH_BYTES, Math.floor(options.maxQueueBytes / 4));
    this.#buffers = new ReadBuffers(
      MIN_READ_BUFFER,
      Math.min(MAX_READ_BUFFER, Math.floor(options.maxQueueBytes / 4)),
    );
    this.#parser = new LineParser(options.maxLineBytes);
    this.#bucket = options.rateLimit > 0 ? new TokenBucket(options.rateLimit) : undefined;
    this.#ack = options.ack && !this.#echo;
    this.outbound = new Outbound(conn, {
      maxQueueBytes: options.maxQueueBytes,
      onCongestion: (congested) => {
        // Only named clients receive lobby lines; anyone's drain releases who waited on it.
        if (!this.#echo && (this.registered || !congested)) ctx.gate.set(this, congested);
        if (!congested) this.#wakeUp();
      },
      onError: () => void this.#closeAbruptly("quit", "write failed"),
    });
    this.#closeStarted = new Promise((resolve) => this.#startClose = resolve);
    this.#readerDone = new Promise((resolve) => this.#readerFinished = resolve);
  }

  /** The hub peer once registered. */
  get peer(): Connection | undefined {
    return this.registered ? this : undefined;
  }

  /** True until the connection starts closing. */
  get open(): boolean {
    return this.#state === "open";
  }

  /** The connection itself, for commands that move bytes or wait. */
  get session(): Session {
    return this;
  }

  /** Whether plain messages are acknowledged with `ACK`/`NACK`. */
  get ack(): boolean {
    return this.#ack;
  }

  /** Serves the connection until it closes. Never throws. */
  async run(): Promise<void> {
    const mode = this.#echo ? "echo" : "chat";
    const greeting = this.#echo
      ? "Echo server: every line comes back; send exit to leave"
      : "Welcome to Switchboard! Send your name (1-32 of A-Z a-z 0-9 _ - .)";
    this.send(formatLine("HELLO", [PROTOCOL_VERSION, mode, VERSION], greeting));
    let ended = false;
    try {
      for (;;) {
        // The common read inline: a helper's promise per chunk showed in round-trip profiles.
        let chunk: Uint8Array | null;
        if (this.#early === undefined) {
          const buffer = this.#buffers.next(this.outbound.bytesWritten);
          const count = await this.#conn.read(buffer);
          if (count === null) {
            ended = true;
            break;
          }
          this.#buffers.filled(count);
          chunk = buffer.subarray(0, count);
        } else {
          chunk = await this.#readEarly();
          if (chunk === null) {
            ended = true;
            break;
          }
        }
        this.#ctx.counters.bytesIn += chunk.length;
        if (this.#state !== "open" || this.#ctx.draining) {
          // Input that arrives once a shutdown began is not handled (nor acknowledged): the
          // shutdown stops reading first, then delivers what it had read.
          this.#inputLeft = true;
          break;
        }
        this.#receivedSinceSweep = true;
        this.pingSentAt = 0;
        this.#chunk = chunk;
        this.#logMessages = this.#ctx.messages.enabled;
        if (this.#logMessages) this.#chunkWallTime = Date.now();
        this.#parser.push(chunk);
        // A chunk that continues a payload is not scanned for text.
        const newline = this.#pause === undefined ? chunk.lastIndexOf(NEWLINE) : -1;
        this.#chunkIsUtf8 = newline >= 0 && isUtf8Prefix(chunk, newline + 1);
        const stop = this.#drainNow();
        if (stop !== "done") {
          this.#processing = this.#drain(stop);
          await this.#processing;
          this.#processing = undefined;
        }
        if (this.#state !== "open") break;
      }
      if (!ended) {
        await this.#discardUntilClosed();
        return;
      }
      if (this.#state !== "open" || this.#ctx.draining) return;
      await this.#abortPayload();
      // The peer finished sending: a last line without its newline still counts.
      const tail = this.#parser.takePartial();
      if (tail !== null) {
        this.#chunkIsUtf8 = false;
        this.#handle(tail);
        if (this.#pause?.kind === "task") await this.#resume();
        this.#flush();
      }
      await this.close("quit", "Goodbye!");
    } catch (error) {
      await this.#closeAbruptly("quit", describe(error));
    } finally {
      this.#processing = undefined;
      this.#readerFinished();
      await this.#abortPayload();
    }
  }

  /**
   * Once the line loop stopped reading for good (a shutdown, or a close with input left), waits
   * for the close to begin and then reads and drops whatever the peer still sends, so the close
   * can linger until the peer has seen its `BYE` (see LINGER_MS).
   */
  async #discardUntilClosed(): Promise<void> {
    await this.#closeStarted;
    if (this.#early !== undefined && (await this.#readEarly()) === null) return;
    const scratch = this.#buffers.next(this.outbound.bytesWritten);
    while (this.#state === "closing") {
      if ((await this.#conn.read(scratch)) === null) return;
    }
  }

  /** Resolves once the line being handled (if any) and the rest of its chunk are done. */
  settled(): Promise<void> {
    return this.#processing ?? Promise.resolve();
  }

  /**
   * Lets lines held by the rate limit through at once (shutdown: everything already read must
   * be handled; backpressure still applies) and aborts a running task (a download or `:run`),
   * which would otherwise hold the shutdown up.
   */
  release(): void {
    this.#wakeUp();
    this.#task?.abort();
  }

  /** Queues one server line to this client. */
  send(line: string): void {
    this.deliver(encoder.encode(line));
  }

  /** Queues bytes to this client; a client that cannot take them is cut as a slow consumer. */
  deliver(bytes: Uint8Array): void {
    if (this.#state !== "open") return;
    if (this.#held === undefined ? this.outbound.enqueue(bytes) : this.#hold(bytes)) {
      // Whoever sent this now waits for this queue to drain (see congestion.ts).
      if (this.outbound.congested) this.#ctx.gate.deliveredToCongested(this);
      return;
    }
    this.#ctx.throttle.warning(
      this.#ctx.log.limits,
      this.ip,
      "slow consumer {name} ({peer}): more than {bytes} bytes queued",
      { name: this.name, peer: this.address, bytes: this.#ctx.options.maxQueueBytes },
    );
    void this.close("slow-consumer", `more than ${this.#ctx.options.maxQueueBytes} bytes queued`);
  }

  /** Runs one sweep of the liveness wheel for this connection. */
  checkLiveness(now: number): void {
    if (this.#state !== "open") return;
    if (this.#receivedSinceSweep) {
      this.#receivedSinceSweep = false;
      this.lastReceived = now;
    }
    // A running task (download, :run) is activity: only the slow-consumer rules apply to it.
    if (this.#activeSinceSweep || this.#task !== undefined) {
      this.#activeSinceSweep = false;
      this.lastActivity = now;
      if (this.#task !== undefined) this.lastReceived = now;
    }
    this.#sampleProgress(now);
    const action = livenessAction(
      {
        acceptedAt: this.acceptedAt,
        registering: !this.#echo && !this.registered,
        lastReceived: this.lastReceived,
        lastActivity: this.lastActivity,
        pingSentAt: this.pingSentAt,
        queuedBytes: this.outbound.queuedBytes,
        lastProgress: this.#progressAt,
        congestedSince: this.outbound.congestedSince,
        // During a shutdown the grace period bounds the wait; a cut would only lose messages.
        holding: !this.#ctx.draining && this.#ctx.gate.holds(this),
      },
      this.#ctx.options,
      now,
    );
    if (action === undefined) return;
    if (action.kind === "ping") {
      this.pingSentAt = now;
      this.send("PING\n");
      return;
    }
    this.#ctx.throttle.warning(
      this.#ctx.log.limits,
      this.ip,
      "{reason}: {name} ({peer}): {text}",
      { reason: action.reason, name: this.name, peer: this.address, text: action.text },
      `limit: ${action.reason}`,
    );
    void this.close(action.reason, action.text);
  }

  /**
   * Notes when the outbound queue last made progress. Bytes written since the previous sweep, or
   * a queue that was empty then (whatever it holds came later), date progress to now: a stalled
   * reader is never cut before the write deadline, at most one sweep after it.
   */
  #sampleProgress(now: number): void {
    const { queuedBytes, bytesWritten } = this.outbound;
    if (queuedBytes === 0 || bytesWritten !== this.#writtenAtSweep || this.#emptyAtSweep) {
      this.#progressAt = now;
    }
    this.#writtenAtSweep = bytesWritten;
    this.#emptyAtSweep = queuedBytes === 0;
  }

  /**
   * Closes the connection: leaves the hub, tells the client `BYE <reason> :<text>` and waits up
   * to `waitMs` (default: the write deadline) for queued bytes to go out, then closes the socket.
   */
  close(reason: DisconnectReason, text: string, waitMs?: number): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closing = this.#close(reason, text, waitMs ?? this.#ctx.options.writeDeadline * 1000);
    return this.#closing;
  }

  async #close(reason: DisconnectReason, text: string, waitMs: number): Promise<void> {
    const linger = this.#inputLeft || this.#parser.remaining > 0 || this.#lineOnHold !== undefined;
    this.#flush();
    this.#leave(reason, text);
    if (reason === "slow-consumer") {
      this.outbound.discardPending();
      waitMs = Math.min(waitMs, SLOW_CONSUMER_BYE_MS);
    }
    // In the middle of a payload a BYE would be read as payload bytes: the client sees the
    // payload cut short instead.
    if (this.#held === undefined) {
      this.outbound.enqueue(encoder.encode(byeLine(reason, neutralize(text))), true);
    }
    await settleWithin(this.outbound.flushed(), waitMs);
    if (linger && this.outbound.queuedBytes === 0 && !this.outbound.failed) {
      // The peer still sends: half-close, so it reads the BYE and the end, and drop its input
      // until it closes too (or LINGER_MS), instead of a reset that may destroy the BYE.
      try {
        await this.#conn.closeWrite();
      } catch {
        // Gone already.
      }
      await settleWithin(this.#readerDone, LINGER_MS);
    }
    this.#finish(reason, text);
  }

  #closeAbruptly(reason: DisconnectReason, detail: string): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#flush();
    this.#leave(reason, detail);
    this.#finish(reason, detail);
    this.#closing = Promise.resolve();
    return this.#closing;
  }

  #leave(reason: DisconnectReason, text: string): void {
    this.#state = "closing";
    this.#startClose();
    this.#wakeUp();
    this.#task?.abort();
    this.#ctx.gate.forget(this);
    if (!this.registered) return;
    this.#ctx.hub.remove(this, reason, {
      kickText: reason === "kicked" ? neutralize(text) : undefined,
      announce: !this.#ctx.draining,
    });
  }

  #finish(reason: DisconnectReason, detail: string): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer or by a failed write.
    }
    this.#ctx.counters.bytesOut += this.outbound.bytesWritten;
    const message = "disconnected {peer} {name}: {reason} ({detail})";
    const properties = {
      peer: this.address,
      ip: this.ip,
      port: this.port,
      name: this.name,
      reason,
      detail,
    };
    if (ABNORMAL_REASONS.has(reason)) {
      const kind = `disconnected: ${reason}`;
      this.#ctx.throttle.warning(this.#ctx.log.conn, this.ip, message, properties, kind);
    } else {
      this.#ctx.log.conn.info(message, properties);
    }
    this.#onClosed(this, reason);
  }

  /** Takes the chunk read ahead while a task ran (see {@linkcode Connection.#watchPeer}). */
  async #readEarly(): Promise<Uint8Array | null> {
    const early = this.#early as { buffer: Uint8Array; read: Promise<number | null> };
    this.#early = undefined;
    const count = await early.read;
    return count === null ? null : early.buffer.subarray(0, count);
  }

  /**
   * Handles the lines of the current chunk for as long as nothing needs waiting for, and says
   * what stopped it: the chunk is done (or the connection closing), the gate is closed (others
   * are catching up), the rate limit holds the next line, or a payload or task is pending.
   * Most chunks never wait, and cost no promise; {@linkcode Connection.#drain} does the waiting.
   */
  #drainNow(): DrainStop {
    if (this.#pause !== undefined) return "pause";
    const parser = this.#parser;
    const bucket = this.#bucket;
    const gate = this.#ctx.gate;
    // What this connection delivers meanwhile is its own: a congested recipient holds it back.
    gate.sender = this;
    try {
      for (;;) {
        // A line taken from the parser before the rate limit or the gate held it goes first.
        let line = this.#lineOnHold;
        if (line === undefined) {
          // Backpressure stays on during a shutdown: what was read is delivered, not dumped.
          if (this.outbound.congested || gate.blocked(this)) return "gate";
          // Echo mode takes the plain lines of a chunk in one pass; the rest goes line by line.
          if (this.#echo && this.#chunkIsUtf8 && bucket === undefined) this.#echoPlainLines();
          const next = parser.next();
          if (next === null) {
            if (this.#pause !== undefined) return "pause";
            this.#flush();
            return "done";
          }
          line = next;
          // A token per line, taken once the line is there (not for the end of a chunk).
          if (bucket !== undefined && !this.#ctx.draining && !bucket.take()) {
            this.#lineOnHold = line;
            return "token";
          }
        }
        // A lobby line reaches every named client: it waits while one of them is backed up.
        if (gate.closed && this.registered && !this.#echo && isLobbyLine(line)) {
          this.#lineOnHold = line;
          this.#lobbyHold = true;
          return "gate";
        }
        this.#lineOnHold = undefined;
        this.#handle(line);
        if (this.#state !== "open") return "done";
      }
    } finally {
      gate.sender = undefined;
    }
  }

  /** Waits for whatever stopped {@linkcode Connection.#drainNow}, then lets it go on. */
  async #drain(stop: DrainStop): Promise<void> {
    for (; stop !== "done"; stop = this.#drainNow()) {
      if (stop === "pause") {
        if (!(await this.#resume())) return;
        continue;
      }
      this.#flush();
      if (stop === "gate") {
        await this.#waitForGate();
      } else {
        this.#noteRateLimited();
        // Takes the token the held line waits for; #drainNow then handles that line first.
        await this.#waitForToken(this.#bucket as TokenBucket);
      }
      if (this.#state !== "open") return;
    }
  }

  /**
   * Serves the pending pause. Returns true when lines may be handled again, false when the chunk
   * is used up in the middle of a payload (read more) or the connection is closing.
   */
  #resume(): Promise<boolean> {
    const pause = this.#pause as Pause;
    return pause.kind === "payload" ? this.#readPayload(pause) : this.#runTask(pause);
  }

  async #readPayload(pause: Pause & { kind: "payload" }): Promise<boolean> {
    const parser = this.#parser;
    this.#touch();
    for (;;) {
      const piece = parser.nextPayload();
      if (piece === null) break;
      pause.received += piece.length;
      // The socket is not read while the sink (a disk write) is busy: bounded memory.
      await pause.sink.write(piece);
      if (this.#state !== "open") return false;
    }
    if (parser.payloadRemaining > 0) return false;
    this.#pause = undefined;
    await pause.sink.end();
    return this.#state === "open";
  }

  async #runTask(pause: Pause & { kind: "task" }): Promise<boolean> {
    const controller = new AbortController();
    this.#task = controller;
    if (pause.abortOnEof) this.#watchPeer(controller);
    try {
      await pause.run(controller.signal);
    } catch (error) {
      // A task sends its own final line; one that throws is a bug, but the client still gets one.
      this.#ctx.log.server.error("command task failed for {name} ({peer}): {error}", {
        name: this.name,
        peer: this.address,
        error: describe(error),
      });
      if (this.#held === undefined) this.send(errLine("io-error", "internal error"));
    } finally {
      this.#task = undefined;
    }
    if (this.#pause === pause) this.#pause = undefined;
    if (this.#state !== "open") return false;
    this.#activeSinceSweep = true;
    // A task may have deferred another one: the rest of the chunk waits for that too.
    if (this.#pause?.kind === "task") return true;
    const rest = this.#rest as Uint8Array;
    this.#rest = undefined;
    this.#chunk = rest;
    this.#parser.push(rest);
    return true;
  }

  /**
   * Starts reading the next chunk while a task runs, so a peer that closes the connection is
   * noticed (and the task aborted) even when the task sends nothing. At most one chunk is read
   * ahead; it is handled after the task.
   */
  #watchPeer(controller: AbortController): void {
    let early = this.#early;
    if (early === undefined) {
      const buffer = new Uint8Array(EARLY_READ_BUFFER);
      early = this.#early = { buffer, read: this.#conn.read(buffer) };
    }
    early.read.then(
      (count) => {
        if (count === null) controller.abort();
      },
      () => controller.abort(),
    );
  }

  /** The sink of a payload cut short removes what it stored (and tells the client, if any). */
  async #abortPayload(): Promise<void> {
    const pause = this.#pause;
    if (pause?.kind !== "payload") return;
    this.#pause = undefined;
    await pause.sink.abort();
  }

  /** Reads the next `size` raw bytes into `sink` before any further line. */
  receive(size: number, sink: PayloadSink): void {
    if (size === 0) {
      this.defer(() => sink.end());
      return;
    }
    this.#pause = { kind: "payload", sink, size, received: 0 };
    this.#parser.expectPayload(size);
  }

  /** Runs `task` before the next line: the rest of the chunk is set aside until it is done. */
  defer(run: (signal: AbortSignal) => Promise<void>, options: DeferOptions = {}): void {
    if (this.#rest === undefined) {
      const parser = this.#parser;
      this.#rest = this.#chunk.subarray(this.#chunk.length - parser.remaining);
      parser.push(EMPTY);
    }
    this.#pause = { kind: "task", run, abortOnEof: options.abortOnEof ?? false };
  }

  /** Sends a header line, a payload of exactly `size` bytes from `source`, then a trailer line. */
  async sendPayload(
    header: string,
    source: PayloadSource,
    size: number,
    trailer: string,
    signal: AbortSignal,
  ): Promise<boolean> {
    if (this.#state !== "open") return false;
    this.send(header);
    this.#held = [];
    this.#heldBytes = 0;
    const { sent, failure } = await pumpPayload(this.outbound, source, size, {
      highWater: this.#highWater,
      signal,
      open: () => this.#state === "open",
    });
    if (sent === size && this.#state === "open") {
      this.outbound.enqueue(encoder.encode(trailer));
      const held = this.#held;
      this.#held = undefined;
      this.#heldBytes = 0;
      for (const bytes of held) this.deliver(bytes);
      return true;
    }
    // The framing is lost: nothing may follow an incomplete payload, so the connection ends.
    this.#held = [];
    if (this.#state === "open") {
      this.#ctx.throttle.warning(
        this.#ctx.log.conn,
        this.ip,
        "payload to {name} ({peer}) broken after {bytes} bytes: {why}",
        { name: this.name, peer: this.address, bytes: sent, why: failure },
      );
      void this.close(this.#ctx.draining ? "shutdown" : "protocol-error", failure);
    }
    return false;
  }

  /** Queues `line` once the queue is below half its high-water mark. */
  async sendPaced(line: string, signal: AbortSignal): Promise<boolean> {
    const limit = Math.floor(this.#highWater / 2);
    if (this.outbound.queuedBytes > limit) {
      const stop = abortion(signal);
      try {
        while (this.#state === "open" && !signal.aborted && this.outbound.queuedBytes > limit) {
          await Promise.race([this.outbound.flushed(), stop.promise]);
        }
      } finally {
        stop.dispose();
      }
    }
    if (this.#state !== "open") return false;
    this.send(line);
    return true;
  }

  /** Resolves once everything queued so far has been written. */
  flushed(): Promise<void> {
    return this.outbound.flushed();
  }

  /** Turns acknowledgements on (numbering restarts at 1) or off. */
  setAck(on: boolean): void {
    this.#ack = on && !this.#echo;
    this.#ackSeq = 0;
  }

  get #highWater(): number {
    return Math.max(1, Math.floor(this.#ctx.options.maxQueueBytes / 4));
  }

  #hold(bytes: Uint8Array): boolean {
    if (this.#heldBytes + bytes.length > this.#ctx.options.maxQueueBytes) return false;
    (this.#held as Uint8Array[]).push(bytes);
    this.#heldBytes += bytes.length;
    return true;
  }

  /** `ACK <seq>` for each of `count` messages just handed to their recipients, in one buffer. */
  #acknowledge(count: number): void {
    let lines = "";
    for (let i = 0; i < count; i++) lines += `ACK ${++this.#ackSeq}\n`;
    this.send(lines);
  }

  /** `NACK <seq> <code> :<text>` for a refused message. */
  #refuse(code: ErrorCode, text: string): void {
    this.send(formatLine("NACK", [++this.#ackSeq, code], text));
  }

  #handle(line: Uint8Array | typeof TOO_LONG): void {
    if (line === TOO_LONG) {
      this.#touch();
      this.#flush();
      const max = this.#ctx.options.maxLineBytes;
      this.#ctx.throttle.warning(
        this.#ctx.log.limits,
        this.ip,
        "line too long from {name} ({peer}): limit {bytes} bytes",
        { name: this.name, peer: this.address, bytes: max },
      );
      const text = `lines are limited to ${max} bytes; that one was dropped`;
      // With acknowledgements on, an over-long line counts as a message (its start is gone).
      if (this.#ack && this.registered) this.#refuse("line-too-long", text);
      else this.send(errLine("line-too-long", text));
      this.#countBadLine();
      return;
    }
    if (!(this.#chunkIsUtf8 && !this.#parser.carried) && !isUtf8(line)) {
      this.#touch();
      this.#flush();
      this.#ctx.throttle.warning(
        this.#ctx.log.limits,
        this.ip,
        "invalid UTF-8 from {name} ({peer})",
        { name: this.name, peer: this.address },
      );
      const text = "lines must be valid UTF-8; that one was dropped";
      const command = line[0] === COLON && line[1] !== COLON;
      if (this.#ack && this.registered && !command) this.#refuse("bad-utf8", text);
      else this.send(errLine("bad-utf8", text));
      this.#countBadLine();
      return;
    }
    this.#badLines = 0;
    if (line.length > 0 && line[0] === COLON && line[1] !== COLON && !this.#echo) {
      this.#flush();
      return this.#command(decoder.decode(line));
    }
    this.#touch();
    if (this.#echo) return this.#echoLine(line);
    if (line.length === 0) return;
    if (isExit(line)) {
      this.#flush();
      void this.close("quit", "Goodbye!");
      return;
    }
    if (!this.registered) return this.#register(decoder.decode(line));
    // "::text" sends a message that starts with one colon.
    const text = line[0] === COLON ? line.subarray(1) : line;
    this.#ctx.counters.messages++;
    if (isPlainText(text)) return this.#queueBroadcast(text);
    this.#queueBroadcast(encoder.encode(neutralize(decoder.decode(text))));
  }

  #queueBroadcast(text: Uint8Array): void {
    this.#pending.push(text);
    this.#pendingBytes += this.#messagePrefix().length + text.length + 1;
    if (this.#pendingBytes >= this.#batchLimit) this.#flush();
  }

  /** Hands out pending broadcast messages (one buffer for all recipients) and pending echoes. */
  #flush(): void {
    if (this.#echoStart >= 0) {
      this.deliver(this.#chunk.subarray(this.#echoStart, this.#echoEnd));
      // The read buffer is not reused until the queue has written everything up to this echo.
      this.#buffers.retain(this.outbound.bytesWritten + this.outbound.queuedBytes);
      this.#echoStart = -1;
    }
    if (this.#pending.length === 0) return;
    const prefix = this.#messagePrefix();
    const pending = this.#pending;
    const batch = new Uint8Array(this.#pendingBytes);
    let offset = 0;
    for (const text of pending) {
      batch.set(prefix, offset);
      offset += prefix.length;
      batch.set(text, offset);
      offset += text.length;
      batch[offset++] = NEWLINE;
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    const ctx = this.#ctx;
    const previousSender = ctx.gate.sender;
    ctx.gate.sender = this;
    const recipients = ctx.hub.broadcast(batch, this);
    ctx.gate.sender = previousSender;
    ctx.counters.deliveries += recipients * pending.length;
    if (this.#ack) this.#acknowledge(pending.length);
    if (this.#logMessages) {
      const time = this.#chunkWallTime, name = this.name, peer = this.address;
      for (const text of pending) ctx.messages.add(time, name, peer, "*", recipients, text);
    }
    if (ctx.events.has("message")) {
      for (const text of pending) {
        ctx.events.emit("message", {
          from: this.name,
          target: "*",
          text: decoder.decode(text),
          recipients,
        });
      }
    }
  }

  #messagePrefix(): Uint8Array {
    if (this.#prefixName !== this.name) {
      this.#prefix = encoder.encode(`MSG ${this.name} * :`);
      this.#prefixName = this.name;
    }
    return this.#prefix;
  }

  #echoLine(line: Uint8Array): void {
    if (isExit(line)) {
      this.#flush();
      void this.close("quit", "Goodbye!");
      return;
    }
    if (this.#logMessages) {
      this.#ctx.messages.add(this.#chunkWallTime, "", this.address, "echo", 1, line);
    }
    if (this.#parser.carried) {
      this.#flush();
      const copy = new Uint8Array(line.length + 1);
      copy.set(line);
      copy[line.length] = NEWLINE;
      this.deliver(copy);
      return;
    }
    // Extend the run of verbatim lines (with their own line endings) that #flush will echo.
    if (this.#echoStart < 0) this.#echoStart = line.byteOffset - this.#chunk.byteOffset;
    this.#echoEnd = this.#parser.position;
  }

  /**
   * Echoes the lines from the parser's position on that need nothing but echoing: whole in this
   * chunk (valid UTF-8 already checked for the chunk), within the length limit, and not `exit`.
   * Stops before any other line, which {@linkcode Connection.#handle} then takes. Same outcome
   * as handling each line, without a view and a dispatch per line: on a stream of 1 KiB lines
   * that was a seventh of the server's time.
   */
  #echoPlainLines(): void {
    const parser = this.#parser;
    const chunk = this.#chunk;
    const max = this.#ctx.options.maxLineBytes;
    const log = this.#logMessages ? this.#ctx.messages : undefined;
    let start = parser.position;
    for (let newline = parser.nextLineEnd(); newline >= 0; newline = parser.nextLineEnd()) {
      const end = newline > start && chunk[newline - 1] === CARRIAGE_RETURN ? newline - 1 : newline;
      const length = end - start;
      if (length > max || (length === 4 && isExit(chunk.subarray(start, end)))) return;
      parser.skipLine(newline);
      log?.add(this.#chunkWallTime, "", this.address, "echo", 1, chunk.subarray(start, end));
      if (this.#echoStart < 0) {
        this.#echoStart = start;
        this.#touch();
        this.#badLines = 0;
      }
      this.#echoEnd = start = newline + 1;
    }
  }

  #register(name: string): void {
    const problem = nameProblem(name);
    if (problem !== undefined) {
      this.send(errLine("bad-name", `${problem}; try another`));
      return;
    }
    const hub = this.#ctx.hub;
    if (hub.isTaken(name)) {
      this.send(errLine("name-taken", `"${name}" is taken; try another`));
      return;
    }
    this.name = name;
    this.registered = true;
    hub.register(this);
    if (this.outbound.congested) this.#ctx.gate.set(this, true);
    const online = hub.online;
    this.send(
      formatLine(
        "WELCOME",
        [name, online],
        `Hello ${name}! ${online} online. Type :help for commands`,
      ),
    );
    this.#ctx.log.conn.info("registered {name} ({peer})", { name, peer: this.address });
    this.#ctx.events.emit("register", { id: this.id, name, address: this.address });
  }

  #command(line: string): void {
    const { verb, rest } = parseCommand(line);
    // A pong proves liveness (any received byte does) but is not activity of the client's own.
    if (verb === "pong") return;
    this.#touch();
    if (verb === "quit") {
      void this.close("quit", "Goodbye!");
      return;
    }
    runCommand(this.#ctx, this, verb, rest);
  }

  /**
   * Logs that this client is being held by the rate limit: once, then at most once a minute (and,
   * like the other warnings a client can trigger, summarised per address beyond a few).
   */
  #noteRateLimited(): void {
    const now = performance.now();
    if (this.#rateLimitLoggedAt !== 0 && now - this.#rateLimitLoggedAt < 60_000) return;
    this.#rateLimitLoggedAt = now;
    this.#ctx.throttle.warning(
      this.#ctx.log.limits,
      this.ip,
      "rate limit: {name} ({peer}) sends faster than {rate} lines/s; its lines are held, not dropped",
      { name: this.name, peer: this.address, rate: this.#ctx.options.rateLimit },
    );
  }

  #countBadLine(): void {
    if (++this.#badLines < MAX_BAD_LINES_IN_A_ROW) return;
    void this.close("protocol-error", `${MAX_BAD_LINES_IN_A_ROW} invalid lines in a row`);
  }

  #touch(): void {
    this.#activeSinceSweep = true;
  }

  /**
   * Waits until this connection's own queue has drained, every recipient it waits on has drained
   * or left, and (for a held lobby line) no named client is backed up. Each of those wakes it.
   */
  async #waitForGate(): Promise<void> {
    const gate = this.#ctx.gate;
    while (this.#state === "open") {
      const lobby = this.#lobbyHold && gate.closed;
      if (!lobby && !this.outbound.congested && !gate.blocked(this)) break;
      const woken = this.#woken();
      if (lobby) gate.waitForLobby(this);
      await woken;
    }
    this.#lobbyHold = false;
  }

  /** Called by the gate when nothing holds this connection back any more. */
  unblocked(): void {
    this.#wakeUp();
  }

  async #waitForToken(bucket: TokenBucket): Promise<void> {
    while (this.#state === "open" && !this.#ctx.draining && !bucket.take()) {
      await sleep(bucket.delay(), this.#woken());
    }
  }

  readonly #parked = new WakeList();

  #woken(): Promise<void> {
    return this.#parked.wait();
  }

  #wakeUp(): void {
    this.#parked.wakeAll();
  }
}

/**
 * Whether the first `length` bytes of `chunk` are valid UTF-8. A short all-ASCII prefix (a typed
 * line, an echo round trip) is checked here: cheaper than the call into the runtime.
 */
function isUtf8Prefix(chunk: Uint8Array, length: number): boolean {
  if (length <= 256) {
    let i = 0;
    while (i < length && (chunk[i] as number) < 0x80) i++;
    if (i === length) return true;
  }
  return isUtf8(length === chunk.length ? chunk : chunk.subarray(0, length));
}

/** True for a line that is a lobby message: not a command (`::text` is a message), not `exit`. */
function isLobbyLine(line: Uint8Array | typeof TOO_LONG): boolean {
  return line !== TOO_LONG && line.length > 0 && (line[0] !== COLON || line[1] === COLON) &&
    !isExit(line);
}

/** True for the line `exit` in any case. */
function isExit(line: Uint8Array): boolean {
  return line.length === 4 && (line[0]! | 0x20) === 0x65 && (line[1]! | 0x20) === 0x78 &&
    (line[2]! | 0x20) === 0x69 && (line[3]! | 0x20) === 0x74;
}
