/**
 * One task per connection: the read loop. It reads chunks from the stream, hands each line to
 * its {@linkcode LineHandler}, and before each line respects the server's backpressure gate and
 * its own rate limit, so it stops reading while others catch up. It also closes: `BYE`, drain,
 * linger. The parts live beside it: line handling (`_line_handler.ts`), pauses for sized payloads
 * and long commands (`_pauses.ts`), outgoing payloads (`_payload_io.ts`), liveness readings
 * (`liveness.ts`), the outbound queue (`outbound.ts`).
 * @module
 */

import type {
  Caller,
  ConnectionHandle,
  DeferOptions,
  PayloadSink,
  ServerContext,
  Session,
} from "./context.ts";
import type { HeldSender } from "./congestion.ts";
import type { Group } from "./hub.ts";
import { LineHandler } from "./_line_handler.ts";
import { livenessAction, LivenessClock } from "./liveness.ts";
import { Outbound, type OutboundEvents } from "./outbound.ts";
import { PayloadSender } from "./_payload_io.ts";
import { ReadBuffers } from "./read_buffers.ts";
import { TokenBucket } from "./_rate_limit.ts";
import { isLobbyLine, isUtf8Prefix, NEWLINE } from "./_line_bytes.ts";
import { LinePauses } from "./_pauses.ts";
import type { ByteStream } from "../net/stream.ts";
import { ABNORMAL_REASONS, type DisconnectReason, type ErrorCode } from "../protocol/errors.ts";
import {
  byeLine,
  errLine,
  formatAddress,
  formatLine,
  neutralize,
  PROTOCOL_VERSION,
} from "../protocol/grammar.ts";
import { LineParser, type TOO_LONG } from "../protocol/line_parser.ts";
import { VERSION } from "../protocol/version.ts";
import { encodeText } from "../util/byte_slab.ts";
import { describeError } from "../util/describe_error.ts";
import { InfoTemplate, logInfo } from "../log/fast_info.ts";
import { settleWithin, sleep } from "../util/time.ts";
import { WakeList } from "../util/wake_list.ts";
import { Latch } from "../util/latch.ts";

/**
 * Read buffers start small (idle connections stay cheap) and grow fourfold while reads fill them,
 * up to the queue's high-water mark (a quarter of `--max-queue-bytes`) or MAX_READ_BUFFER. Each
 * read is a Deno op whose cost does not depend on its size: on a stream of 1 KiB echo lines,
 * 256 KiB reads instead of 64 KiB took the server from 445 to 626 MB/s. Starting at 256 bytes
 * rather than 1 KiB took 10 000 idle clients from 16.3–17.2 to 14.6–15.3 kB each (RSS).
 */
const MIN_READ_BUFFER = 256;
const MAX_READ_BUFFER = 256 * 1024;
/**
 * How long a closing connection that still had input coming goes on reading (and discarding) it
 * after its `BYE`, before the socket is closed. Closing a socket with unread input makes the
 * kernel send a reset, which can destroy the `BYE` before the client reads it.
 */
const LINGER_MS = 1000;
/**
 * How long a connection closed by a shutdown, whose peer has not finished sending, waits for a
 * read to show whether more input is on its way. Input that arrived unread when the socket is closed makes
 * the kernel reset the connection and drop what was still queued for the peer, its `BYE`
 * included; input seen within this time turns the wait into a linger (LINGER_MS).
 */
const INPUT_PROBE_MS = 20;
/** How long a slow consumer's `BYE` may take to go out: it is cut for not reading, after all. */
const SLOW_CONSUMER_BYE_MS = 1000;

const encoder = new TextEncoder();
const DISCONNECTED = new InfoTemplate("disconnected {peer} {name}: {reason} ({detail})");
/**
 * Lines every session gets alike, encoded once (shared by every queue, which never changes what
 * it writes): the greeting of each mode, and the `BYE` after `:quit`.
 */
const HELLO_CHAT = encoder.encode(
  formatLine(
    "HELLO",
    [PROTOCOL_VERSION, "chat", VERSION],
    "Welcome to Switchboard! Send your name (1-32 of A-Z a-z 0-9 _ - .)",
  ),
);
const HELLO_ECHO = encoder.encode(
  formatLine(
    "HELLO",
    [PROTOCOL_VERSION, "echo", VERSION],
    "Echo server: every line comes back; send exit to leave",
  ),
);
const QUIT_TEXT = "Goodbye!";
const QUIT_BYE = encoder.encode(byeLine("quit", neutralize(QUIT_TEXT)));
const NO_CHUNK = new Uint8Array(0);

type State = "open" | "closing" | "closed";

/** Why {@linkcode Connection.#drainNow} stopped; see there. */
type DrainStop = "done" | "gate" | "token" | "pause";

/** The peer of an accepted stream, as the server's admission saw it. */
export interface PeerInfo {
  /** IP address (an IPv4-mapped IPv6 address as plain IPv4). */
  ip: string;
  port: number;
  /** Connected from an address in `admins`. */
  admin: boolean;
  /** Accepted from a TLS listener: what the peer sends is encrypted on the way. */
  secure: boolean;
}

/**
 * Who runs connections: told when one closes and when its task ends. One object for every
 * connection, rather than callbacks made for each.
 */
export interface ConnectionOwner {
  /** `connection` closed (its socket too) for `reason`. */
  connectionClosed(connection: Connection, reason: DisconnectReason): void;
  /** The task of {@linkcode Connection.run} for `connection` is over. */
  connectionEnded(connection: Connection): void;
}

/** A client connection. Created by the server for each accepted stream. */
export class Connection implements ConnectionHandle, Caller, Session, HeldSender, OutboundEvents {
  readonly id: number;
  readonly ip: string;
  readonly port: number;
  readonly secure: boolean;
  name = "";
  registered = false;
  admin: boolean;
  account: string | undefined = undefined;
  /** `MSG` and `PM` lines come with their ids (`:ids on`). */
  ids = false;
  #groups: Set<Group> | undefined;
  readonly outbound: Outbound;
  readonly parser: LineParser;
  readonly stream: ByteStream;
  /** The chunk being handled; between chunks, once the parser holds none of it, an empty one. */
  chunk: Uint8Array = NO_CHUNK;
  /** When it was accepted (`Date.now()`), for `/connz`. */
  readonly connectedAt: number = Date.now();
  /** Bytes read from it. */
  bytesIn = 0;
  /** Messages it sent that were recorded (the recording point counts them). */
  messagesIn = 0;
  /** Messages queued to it (lobby, group, private, echoed), counted by `deliver`. */
  messagesOut = 0;

  readonly #ctx: ServerContext;
  readonly #lines: LineHandler;
  /** Made with the first payload or task: most connections never pause. */
  #pauses: LinePauses | undefined;
  /** Made with the first outgoing payload: most connections never send one. */
  #payloads: PayloadSender | undefined;
  readonly #clock = new LivenessClock();
  readonly #buffers: ReadBuffers;
  readonly #bucket: TokenBucket | undefined;
  readonly #echo: boolean;
  readonly #owner: ConnectionOwner;
  /** Made by the first wait: most connections never wait for the gate or a token. */
  #parked: WakeList | undefined;
  #state: State = "open";
  #closing: Promise<void> | undefined;
  #processing: Promise<void> | undefined;
  /** When the rate limit was last logged for this client (performance.now()), or 0. */
  #rateLimitLoggedAt = 0;
  /** A line taken from the parser and held by the rate limit or the gate. */
  #lineOnHold: Uint8Array | typeof TOO_LONG | undefined;
  /** The line held back is a lobby message waiting for the gate (see congestion.ts). */
  #lobbyHold = false;
  /** The peer finished sending (a read returned the end of the stream). */
  #peerDone = false;
  /** The connection ends because the peer closed it, not because it asked to (`:quit`). */
  #endedByPeer = false;
  /** The read loop stopped with input not handled: a close lingers (see LINGER_MS). */
  #inputLeft = false;
  /**
   * The read loop has ended. Made when it ends or is waited for, as `#closeStarted` is: an idle
   * connection has neither.
   */
  #readerDone: Latch | undefined;
  /** A close has begun (the read loop waits for it at shutdown). */
  #closeStarted: Latch | undefined;
  /** See {@linkcode Connection.address}. */
  #address: string | undefined;
  /**
   * The close needs the read loop to go on reading (it lingers, or probes for input at a
   * shutdown), or the socket is closed. Until then a read loop that stopped reads nothing: a
   * read left pending at a plain `:quit` only ended in the error its interruption throws (3 % of
   * the server's time under connection churn). Made by the close or the wait, whichever is
   * first: an idle connection has none.
   */
  #closeReads: Latch | undefined;
  /**
   * While a close waits for its `BYE` to go out within the write deadline: when that wait ends
   * (`performance.now()`), checked by the liveness sweep instead of a timer per close.
   */
  #closeWaitUntil = 0;
  /** Ends that wait (the queue was written, or the sweep found the deadline passed). */
  #endCloseWait: (() => void) | undefined;

  /** Wraps an accepted stream; call {@linkcode Connection.run} to serve it. */
  constructor(
    id: number,
    stream: ByteStream,
    ctx: ServerContext,
    peer: PeerInfo,
    owner: ConnectionOwner,
  ) {
    this.id = id;
    this.stream = stream;
    this.#ctx = ctx;
    this.ip = peer.ip;
    this.port = peer.port;
    this.admin = peer.admin;
    this.secure = peer.secure;
    this.#owner = owner;
    const options = ctx.options;
    this.#echo = options.mode === "echo";
    this.#buffers = new ReadBuffers(
      MIN_READ_BUFFER,
      Math.min(MAX_READ_BUFFER, Math.floor(options.maxQueueBytes / 4)),
    );
    this.parser = new LineParser(options.maxLineBytes);
    this.#bucket = options.rateLimit > 0 ? new TokenBucket(options.rateLimit) : undefined;
    this.outbound = new Outbound(stream, { maxQueueBytes: options.maxQueueBytes, events: this });
    this.#lines = new LineHandler(this, ctx);
  }

  /** Its outbound queue passed its high-water mark, or drained again. */
  congestionChanged(congested: boolean): void {
    // Only named clients receive lobby lines; anyone's drain releases who waited on it.
    if (!this.#echo && (this.registered || !congested)) this.#ctx.gate.set(this, congested);
    if (!congested) this.#parked?.wakeAll();
  }

  /** A write to the client failed: the connection ends. */
  writeFailed(error: unknown): void {
    void this.#closeAbruptly("write-error", describeError(error));
  }

  /** Its last line of its own (`performance.now()`), as of the last liveness sweep. */
  get lastActivity(): number {
    return this.#clock.lastActivity;
  }

  /**
   * `ip:port` (IPv6 in brackets), made when first asked for and kept: the request log asks for it
   * with every message a client sends, and a fresh string each time would also be hashed afresh
   * where the log caches by sender. An idle client is never asked (its registration is logged
   * with {@linkcode Connection.describeAddress}), so it keeps no string.
   */
  get address(): string {
    return this.#address ??= formatAddress(this.ip, this.port);
  }

  /** `ip:port` as {@linkcode Connection.address}, made afresh and not kept. */
  describeAddress(): string {
    return this.#address ?? formatAddress(this.ip, this.port);
  }

  /** The groups it is in (the set is made on first use: most clients join none). */
  get groups(): Set<Group> {
    return this.#groups ??= new Set();
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

  /** What backpressure holds back for what this connection delivers: the connection itself. */
  get holdable(): HeldSender {
    return this;
  }

  /** Whether plain messages are acknowledged with `ACK`/`NACK`. */
  get ack(): boolean {
    return this.#lines.ack;
  }

  /**
   * Serves the connection until it closes, then tells the owner (`connectionEnded`). Never throws.
   */
  async run(): Promise<void> {
    this.deliver(this.#echo ? HELLO_ECHO : HELLO_CHAT);
    const ctx = this.#ctx;
    const parser = this.parser;
    const lines = this.#lines;
    let ended = false;
    try {
      for (;;) {
        // The common read inline: a helper's promise per chunk showed in round-trip profiles.
        let chunk: Uint8Array | null;
        if (!this.#pauses?.hasEarlyRead) {
          const buffer = this.#buffers.next(this.outbound.bytesWritten);
          const count = await this.stream.read(buffer);
          if (count === null) {
            ended = this.#peerDone = true;
            break;
          }
          this.#buffers.filled(count);
          chunk = buffer.subarray(0, count);
        } else {
          chunk = await this.#pauses.takeEarlyRead();
          if (chunk === null) {
            ended = this.#peerDone = true;
            break;
          }
        }
        ctx.counters.bytesIn += chunk.length;
        this.bytesIn += chunk.length;
        if (this.#state !== "open" || ctx.draining) {
          // Input that arrives once a shutdown began is not handled (nor acknowledged): the
          // shutdown stops reading first, then delivers what it had read.
          this.#inputLeft = true;
          break;
        }
        this.#clock.received();
        this.chunk = chunk;
        parser.push(chunk);
        // A chunk that continues a payload is not scanned for text.
        const newline = this.#pauses?.pending ? -1 : chunk.lastIndexOf(NEWLINE);
        lines.chunkIsUtf8 = newline >= 0 && isUtf8Prefix(chunk, newline + 1);
        const stop = this.#drainNow();
        if (stop !== "done") {
          this.#processing = this.#drain(stop);
          await this.#processing;
          this.#processing = undefined;
        }
        if (this.#state !== "open") break;
        // Done with the chunk: an idle connection keeps no view of its read buffer.
        if (parser.remaining === 0) {
          parser.push(NO_CHUNK);
          this.chunk = NO_CHUNK;
        }
      }
      if (!ended) {
        await this.#discardUntilClosed();
        return;
      }
      if (this.#state !== "open" || ctx.draining) return;
      await this.#pauses?.abortPayload();
      // The peer finished sending: a last line without its newline still counts.
      const tail = parser.takePartial();
      if (tail !== null) {
        lines.chunkIsUtf8 = false;
        lines.handle(tail);
        if (this.#pauses?.taskPending) await this.#pauses.resume();
        lines.flush();
      }
      // The peer closed without `:quit`: a client that can resume may be back (sessions.ts).
      this.#endedByPeer = true;
      await this.close("quit", "Goodbye!");
    } catch (error) {
      await this.#closeAbruptly("read-error", describeError(error));
    } finally {
      this.#processing = undefined;
      (this.#readerDone ??= new Latch()).open();
      try {
        await this.#pauses?.abortPayload();
      } finally {
        this.#owner.connectionEnded(this);
      }
    }
  }

  /**
   * Once the read loop stopped reading for good (a shutdown, or a close with input left), waits
   * for the close to begin and then reads and drops whatever the peer still sends, so the close
   * can linger until the peer has seen its `BYE` (see LINGER_MS).
   */
  async #discardUntilClosed(): Promise<void> {
    await (this.#closeStarted ??= new Latch()).wait();
    await (this.#closeReads ??= new Latch()).wait();
    if (this.#state !== "closing") return;
    const pauses = this.#pauses;
    if (pauses?.hasEarlyRead && (await pauses.takeEarlyRead()) === null) {
      this.#peerDone = true;
      return;
    }
    const scratch = this.#buffers.next(this.outbound.bytesWritten);
    while (this.#state === "closing") {
      if ((await this.stream.read(scratch)) === null) {
        this.#peerDone = true;
        return;
      }
      this.#inputLeft = true;
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
    this.#parked?.wakeAll();
    this.#pauses?.abortTask();
  }

  /** Queues one server line to this client. */
  send(line: string): void {
    this.deliver(encodeText(line));
  }

  /**
   * Queues bytes to this client; a client that cannot take them is cut as a slow consumer.
   * `messages`: how many messages `bytes` holds, for `/connz` (0 for other lines).
   */
  deliver(bytes: Uint8Array, messages = 0): void {
    this.#deliver(bytes, messages, false);
  }

  /** Queues a presence line to go out with the next write, or at {@linkcode Connection.sendSoon}. */
  deliverSoon(bytes: Uint8Array): void {
    this.#deliver(bytes, 0, true);
  }

  /** Writes what {@linkcode Connection.deliverSoon} queued, if no write has taken it yet. */
  sendSoon(): void {
    if (this.#state !== "closed") this.outbound.send();
  }

  #deliver(bytes: Uint8Array, messages: number, soon: boolean): void {
    if (this.#state !== "open") return;
    this.messagesOut += messages;
    const payloads = this.#payloads;
    if (payloads?.sending ? payloads.hold(bytes) : this.outbound.enqueue(bytes, false, soon)) {
      // Whoever sent this now waits for this queue to drain (see congestion.ts).
      if (this.outbound.congested) this.#ctx.gate.deliveredToCongested(this);
      return;
    }
    const max = this.#ctx.options.maxQueueBytes;
    // Relayed from another cluster node: its sender could not be held in time (it is now, see
    // core/cluster/node.ts), so what the bus already carried is taken, up to 4 limits.
    if (this.#ctx.gate.relaying && this.outbound.queuedBytes < 4 * max) {
      if (this.outbound.enqueue(bytes, true)) return;
    }
    this.#ctx.throttle.warning(
      this.#ctx.log.limits,
      this.ip,
      "slow consumer {name} ({peer}): more than {bytes} bytes queued",
      { name: this.name, peer: this.address, bytes: max },
    );
    void this.close("slow-consumer", `more than ${max} bytes queued`);
  }

  /**
   * Nagle's algorithm holds a small write while an earlier one is unacknowledged. The first two
   * writes cannot meet that: the greeting goes to a silent socket, and the reply to the name
   * follows the peer's line, which acknowledges the greeting. From the third on, pushed lines may
   * follow each other, so it goes off before the third — unless the connection is closing, when
   * the last write is its `BYE` and the close pushes it out. A churning session (greeting, name,
   * `:quit`) never pays the system call: 6 % of the server's time under churn.
   */
  thirdWrite(): void {
    if (this.#state !== "open") return;
    try {
      this.stream.setNoDelay?.(true);
    } catch {
      // The peer is gone; the write will tell.
    }
  }

  /** `ACK` for `count` lobby messages just recorded (the recording point calls it). */
  acknowledge(count: number): void {
    this.#lines.acknowledge(count);
  }

  /** `NACK` for `count` lobby messages a keeper could not take (the recording point calls it). */
  refuse(count: number, code: ErrorCode, text: string): void {
    this.#lines.refuse(count, code, text);
  }

  /** Notes a line of the client's own, for the idle timeout. */
  touch(): void {
    this.#clock.active();
  }

  /** Keeps the read buffer from reuse until everything queued so far is written. */
  retainChunk(): void {
    this.#buffers.retain(this.outbound.bytesWritten + this.outbound.queuedBytes);
  }

  /** Runs one sweep of the liveness wheel for this connection. */
  checkLiveness(now: number): void {
    if (this.#state !== "open") {
      if (this.#closeWaitUntil !== 0 && now >= this.#closeWaitUntil) this.#endCloseWait?.();
      return;
    }
    const ctx = this.#ctx;
    const state = this.#clock.sweep(now, this.outbound, {
      busy: this.#pauses?.busy === true,
      registering: !this.#echo && !this.registered,
      // During a shutdown the grace period bounds the wait; a cut would only lose messages.
      holding: !ctx.draining && ctx.gate.holds(this),
    });
    const action = livenessAction(state, ctx.options, now);
    if (action === undefined) return;
    if (action.kind === "ping") {
      this.#clock.pingSentAt = now;
      this.send("PING\n");
      return;
    }
    ctx.throttle.warning(
      ctx.log.limits,
      this.ip,
      "{reason}: {name} ({peer}): {text}",
      { reason: action.reason, name: this.name, peer: this.address, text: action.text },
      `limit: ${action.reason}`,
    );
    void this.close(action.reason, action.text);
  }

  /**
   * Closes the connection: leaves the hub, tells the client `BYE <reason> :<text>` and waits up
   * to `waitMs` (default: the write deadline) for queued bytes to go out, then closes the socket.
   */
  close(reason: DisconnectReason, text: string, waitMs?: number): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closing = this.#close(reason, text, waitMs);
    return this.#closing;
  }

  /** `waitMs` undefined: the write deadline, which the liveness sweep enforces (see there). */
  async #close(reason: DisconnectReason, text: string, waitMs?: number): Promise<void> {
    const linger = this.#inputLeft || this.parser.remaining > 0 || this.#lineOnHold !== undefined;
    this.#lines.flush();
    this.#leave(reason, text);
    if (reason === "slow-consumer") {
      this.outbound.discardPending();
      waitMs = Math.min(waitMs ?? this.#ctx.options.writeDeadline * 1000, SLOW_CONSUMER_BYE_MS);
    }
    // In the middle of a payload a BYE would be read as payload bytes: the client sees the
    // payload cut short instead.
    if (!this.#payloads?.sending) {
      const bye = reason === "quit" && text === QUIT_TEXT
        ? QUIT_BYE
        : encodeText(byeLine(reason, neutralize(text)));
      this.outbound.enqueue(bye, true);
    }
    if (waitMs !== undefined) await settleWithin(this.outbound.flushed(), waitMs);
    else await this.#flushedWithinWriteDeadline();
    // At shutdown a client still sending is owed its ACKs and BYE: look for input on its way.
    const probe = !linger && this.#ctx.draining;
    if (
      (linger || probe) && !this.#peerDone && this.outbound.queuedBytes === 0 &&
      !this.outbound.failed
    ) {
      // The peer may still send: half-close, so it reads the BYE and the end, and if input is
      // coming (or was left unread) drop it until the peer closes too (or LINGER_MS), instead
      // of a reset that may destroy the BYE.
      try {
        await this.stream.closeWrite();
      } catch {
        // Gone already.
      }
      (this.#closeReads ??= new Latch()).open();
      const readerDone = this.#readerDone ??= new Latch();
      if (probe) await settleWithin(readerDone.wait(), INPUT_PROBE_MS);
      if (linger || this.#inputLeft) await settleWithin(readerDone.wait(), LINGER_MS);
    }
    this.#finish(reason, text);
  }

  /**
   * Waits until the queue is written or the write deadline passed. The deadline is the one the
   * liveness sweep holds open connections to, and the sweep ends this wait too (at most one sweep
   * late, as it cuts a stalled reader): a timer per close cost 5 % of the server's time under
   * connection churn.
   */
  async #flushedWithinWriteDeadline(): Promise<void> {
    const outbound = this.outbound;
    if (outbound.queuedBytes === 0 || outbound.failed) return;
    this.#closeWaitUntil = performance.now() + this.#ctx.options.writeDeadline * 1000;
    await new Promise<void>((resolve) => {
      this.#endCloseWait = resolve;
      outbound.flushed().then(resolve);
    });
    this.#closeWaitUntil = 0;
    this.#endCloseWait = undefined;
  }

  #closeAbruptly(reason: DisconnectReason, detail: string): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#lines.flush();
    this.#leave(reason, detail);
    this.#finish(reason, detail);
    this.#closing = Promise.resolve();
    return this.#closing;
  }

  #leave(reason: DisconnectReason, text: string): void {
    this.#state = "closing";
    (this.#closeStarted ??= new Latch()).open();
    this.#parked?.wakeAll();
    this.#pauses?.abortTask();
    this.#ctx.gate.forget(this);
    if (!this.registered) return;
    if (this.#ctx.sessions.leave(this, reason, this.#endedByPeer)) return;
    this.#ctx.hub.remove(this, reason, {
      kickText: reason === "kicked" ? neutralize(text) : undefined,
      announce: !this.#ctx.draining,
    });
  }

  #finish(reason: DisconnectReason, detail: string): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    (this.#closeReads ??= new Latch()).open();
    try {
      this.stream.close();
    } catch {
      // Already closed by the peer or by a failed write.
    }
    const ctx = this.#ctx;
    ctx.counters.bytesOut += this.outbound.bytesWritten;
    const message = DISCONNECTED.raw;
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
      ctx.throttle.warning(ctx.log.conn, this.ip, message, properties, kind);
    } else {
      logInfo(ctx.log.conn, DISCONNECTED, properties);
    }
    this.#owner.connectionClosed(this, reason);
  }

  /**
   * Handles the lines of the current chunk for as long as nothing needs waiting for, and says
   * what stopped it: the chunk is done (or the connection closing), the gate is closed (others
   * are catching up), the rate limit holds the next line, or a payload or task is pending.
   * Most chunks never wait, and cost no promise; {@linkcode Connection.#drain} does the waiting.
   */
  #drainNow(): DrainStop {
    if (this.#pauses?.pending) return "pause";
    const parser = this.parser;
    const lines = this.#lines;
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
          if (this.#echo && lines.chunkIsUtf8 && bucket === undefined) lines.echoPlainLines();
          const next = parser.next();
          if (next === null) {
            if (this.#pauses?.pending) return "pause";
            lines.flush();
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
        lines.handle(line);
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
        if (!(await (this.#pauses as LinePauses).resume())) return;
        continue;
      }
      this.#lines.flush();
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

  /** Reads the next `size` raw bytes of the connection into `sink` before any further line. */
  receive(size: number, sink: PayloadSink): void {
    // The chunk was checked as UTF-8 as a whole, payload bytes included: a lead byte that ends
    // the payload would vouch for the continuation bytes that start the next line. The lines
    // after a payload in the same chunk are checked one by one.
    this.#lines.chunkIsUtf8 = false;
    (this.#pauses ??= new LinePauses(this)).receive(size, sink);
  }

  /** Runs `task` before the connection handles its next line. */
  defer(run: (signal: AbortSignal) => Promise<void>, options?: DeferOptions): void {
    (this.#pauses ??= new LinePauses(this)).defer(run, options);
  }

  /** Sends a header line, a payload of exactly `size` bytes from `source`, then a trailer line. */
  sendPayload(...payload: Parameters<Session["sendPayload"]>): Promise<boolean> {
    return this.#payloadSender().send(...payload);
  }

  #payloadSender(): PayloadSender {
    return this.#payloads ??= new PayloadSender(this, this.outbound.maxQueueBytes);
  }

  /** Queues `line` once the queue is below half its high-water mark. */
  sendPaced(line: string, signal: AbortSignal): Promise<boolean> {
    return this.#payloadSender().sendPaced(line, signal);
  }

  /** Resolves once everything queued so far has been written. */
  flushed(): Promise<void> {
    return this.outbound.flushed();
  }

  /** Turns acknowledgements on (numbering restarts at 1) or off. */
  setAck(on: boolean): void {
    this.#lines.setAck(on);
  }

  /** Registers under an account's name; see {@linkcode Session.registerAs}. */
  registerAs(name: string): void {
    this.#lines.registerAs(name);
  }

  /** Queues an encoded line; see {@linkcode Session.deliverLine}. */
  deliverLine(line: Uint8Array): void {
    this.deliver(line);
  }

  /** Opens the session; see {@linkcode Session.openSession}. */
  openSession(): void {
    this.#lines.openSession();
  }

  /** Turns message ids on or off; see {@linkcode Session.setIds}. */
  setIds(on: boolean): void {
    if (this.ids === on) return;
    this.ids = on;
    if (this.registered) this.#ctx.sessions.idsChanged(on);
  }

  /** Takes over a session; see {@linkcode Session.resume}. */
  resume(token: string, lastIds: readonly number[]): void {
    this.#lines.resume(token, lastIds);
  }

  /** A payload to this client broke: its framing is lost, so the connection ends. */
  payloadBroken(sent: number, why: string): void {
    this.#ctx.throttle.warning(
      this.#ctx.log.conn,
      this.ip,
      "payload to {name} ({peer}) broken after {bytes} bytes: {why}",
      { name: this.name, peer: this.address, bytes: sent, why },
    );
    void this.close(this.#ctx.draining ? "shutdown" : "protocol-error", why);
  }

  /** A deferred task threw: a bug, logged, and the client still gets a final line. */
  taskFailed(error: unknown): void {
    this.#ctx.log.server.error("command task failed for {name} ({peer}): {error}", {
      name: this.name,
      peer: this.address,
      error: describeError(error),
    });
    if (!this.#payloads?.sending) this.send(errLine("io-error", "internal error"));
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

  /**
   * Waits until this connection's own queue has drained, every recipient it waits on has drained
   * or left, and (for a held lobby line) no named client is backed up. Each of those wakes it.
   */
  async #waitForGate(): Promise<void> {
    const gate = this.#ctx.gate;
    while (this.#state === "open") {
      const lobby = this.#lobbyHold && gate.closed;
      if (!lobby && !this.outbound.congested && !gate.blocked(this)) break;
      const woken = (this.#parked ??= new WakeList()).wait();
      if (lobby) gate.waitForLobby(this);
      await woken;
    }
    this.#lobbyHold = false;
  }

  /** Called by the gate when nothing holds this connection back any more. */
  unblocked(): void {
    this.#parked?.wakeAll();
  }

  async #waitForToken(bucket: TokenBucket): Promise<void> {
    while (this.#state === "open" && !this.#ctx.draining && !bucket.take()) {
      await sleep(bucket.delay(), (this.#parked ??= new WakeList()).wait());
    }
  }
}
