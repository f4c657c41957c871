/**
 * Pauses of a connection's line loop: a sized payload to read (`:put`, `:send`) or a task to
 * await (a download, `:run`). A command registers one; the parser then yields no more lines, and
 * the loop serves the pause where it already stops at the end of a chunk, so plain lines pay
 * nothing for these features.
 * @module
 */

import type { DeferOptions, PayloadSink } from "./context.ts";
import type { LineParser } from "../protocol/line_parser.ts";
import type { ByteStream } from "../net/stream.ts";

const EMPTY = new Uint8Array(0);
/** The read started while a task runs (see {@linkcode LinePauses.watchPeer}). */
const EARLY_READ_BUFFER = 64 * 1024;

/** What the line loop serves before its next line. */
type Pause =
  | { kind: "payload"; sink: PayloadSink; size: number; received: number }
  | { kind: "task"; run: (signal: AbortSignal) => Promise<void>; abortOnEof: boolean };

/** The connection whose line loop pauses. */
export interface PausingConnection {
  /** False once the connection starts closing. */
  readonly open: boolean;
  /** Its line parser. */
  readonly parser: LineParser;
  /** The socket, read ahead while a task runs. */
  readonly stream: ByteStream;
  /** The chunk being handled. */
  chunk: Uint8Array;
  /** Notes activity (a payload arriving, a task ending). */
  touch(): void;
  /** A task threw: it is a bug, but the client must still get a final line. */
  taskFailed(error: unknown): void;
}

/** The pending pause of one connection, if any, and what serves it. */
export class LinePauses {
  readonly #connection: PausingConnection;
  #pause: Pause | undefined;
  /** The unparsed rest of the chunk, set aside while a task runs. */
  #rest: Uint8Array | undefined;
  /** A socket read started while a task runs (to notice the peer leaving); the next chunk. */
  #early: { buffer: Uint8Array; read: Promise<number | null> } | undefined;
  /** Aborts the running task. */
  #task: AbortController | undefined;

  /** Pauses for `connection`; none is pending. */
  constructor(connection: PausingConnection) {
    this.#connection = connection;
  }

  /** True while a payload or task waits to be served. */
  get pending(): boolean {
    return this.#pause !== undefined;
  }

  /** True while a payload is being read (a chunk continues it: not scanned for text). */
  get readingPayload(): boolean {
    return this.#pause?.kind === "payload";
  }

  /** True while a deferred task is pending or running. */
  get taskPending(): boolean {
    return this.#pause?.kind === "task";
  }

  /** True while a task runs (a download or `:run`): activity, for the liveness sweep. */
  get busy(): boolean {
    return this.#task !== undefined;
  }

  /** True when a chunk was read ahead while a task ran: the next read takes it. */
  get hasEarlyRead(): boolean {
    return this.#early !== undefined;
  }

  /** Reads the next `size` raw bytes into `sink` before any further line. */
  receive(size: number, sink: PayloadSink): void {
    if (size === 0) {
      this.defer(() => sink.end());
      return;
    }
    this.#pause = { kind: "payload", sink, size, received: 0 };
    this.#connection.parser.expectPayload(size);
  }

  /** Runs `task` before the next line: the rest of the chunk is set aside until it is done. */
  defer(run: (signal: AbortSignal) => Promise<void>, options: DeferOptions = {}): void {
    if (this.#rest === undefined) {
      const { parser, chunk } = this.#connection;
      this.#rest = chunk.subarray(chunk.length - parser.remaining);
      parser.push(EMPTY);
    }
    this.#pause = { kind: "task", run, abortOnEof: options.abortOnEof ?? false };
  }

  /**
   * Serves the pending pause. Returns true when lines may be handled again, false when the chunk
   * is used up in the middle of a payload (read more) or the connection is closing.
   */
  resume(): Promise<boolean> {
    const pause = this.#pause as Pause;
    return pause.kind === "payload" ? this.#readPayload(pause) : this.#runTask(pause);
  }

  /** Aborts the running task (the connection closes, the server shuts down). */
  abortTask(): void {
    this.#task?.abort();
  }

  /** The sink of a payload cut short removes what it stored (and tells the client, if any). */
  async abortPayload(): Promise<void> {
    const pause = this.#pause;
    if (pause?.kind !== "payload") return;
    this.#pause = undefined;
    await pause.sink.abort();
  }

  /** Takes the chunk read ahead while a task ran. */
  async takeEarlyRead(): Promise<Uint8Array | null> {
    const early = this.#early as { buffer: Uint8Array; read: Promise<number | null> };
    this.#early = undefined;
    const count = await early.read;
    return count === null ? null : early.buffer.subarray(0, count);
  }

  async #readPayload(pause: Pause & { kind: "payload" }): Promise<boolean> {
    const connection = this.#connection;
    const parser = connection.parser;
    connection.touch();
    for (;;) {
      const piece = parser.nextPayload();
      if (piece === null) break;
      pause.received += piece.length;
      // The socket is not read while the sink (a disk write) is busy: bounded memory.
      await pause.sink.write(piece);
      if (!connection.open) return false;
    }
    if (parser.payloadRemaining > 0) return false;
    this.#pause = undefined;
    await pause.sink.end();
    return connection.open;
  }

  async #runTask(pause: Pause & { kind: "task" }): Promise<boolean> {
    const connection = this.#connection;
    const controller = new AbortController();
    this.#task = controller;
    if (pause.abortOnEof) this.#watchPeer(controller);
    try {
      await pause.run(controller.signal);
    } catch (error) {
      connection.taskFailed(error);
    } finally {
      this.#task = undefined;
    }
    if (this.#pause === pause) this.#pause = undefined;
    if (!connection.open) return false;
    connection.touch();
    // A task may have deferred another one: the rest of the chunk waits for that too.
    if (this.#pause?.kind === "task") return true;
    const rest = this.#rest as Uint8Array;
    this.#rest = undefined;
    connection.chunk = rest;
    connection.parser.push(rest);
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
      early = this.#early = { buffer, read: this.#connection.stream.read(buffer) };
    }
    early.read.then(
      (count) => {
        if (count === null) controller.abort();
      },
      () => controller.abort(),
    );
  }
}
