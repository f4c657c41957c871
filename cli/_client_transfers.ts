/**
 * The `client` program's file transfers: the client-local commands `:put`, `:get`, `:send` and
 * `:accept` (on top of `core/client/files.ts`), what happens to files other users offer, the
 * progress lines above the prompt on a terminal, and the summary line (or JSON records) every
 * transfer ends with. Private to `cli/`.
 *
 * A transfer command is handled in two steps: the local part that must come first (hashing the
 * file to upload) and putting its command on the connection happen before the next input line is
 * read, so a script's `:put a.txt` then `:get a.txt` reach the server in that order; the bytes
 * then move in the background while the conversation goes on.
 * @module
 */

import { parseWireNumber } from "../core/protocol/numbers.ts";
import { basename } from "node:path";
import type { SwitchboardClient } from "../core/client/client.ts";
import {
  failure,
  type FileTransfers,
  type TransferCallbacks,
  type TransferProgress,
  type TransferResult,
} from "../core/client/files.ts";
import { neutralize } from "../core/protocol/grammar.ts";
import type { OfferEvent } from "../core/protocol/server_line.ts";
import { progressLine, summaryLine, transferRecord } from "./_client_progress.ts";
import { userFolder, userPath } from "./_user_paths.ts";

/** Where the desk reports; implemented by the client program. */
export interface DeskOutput {
  /** A summary line; `ok` false counts as a failure of the session (exit code 1). */
  line(text: string, ok: boolean): void;
  /** A notice about what the client does (accepting an offer, how to answer one). */
  notice(text: string): void;
  /** With `--json`: a record on stdout instead of lines. */
  json: ((record: Record<string, unknown>) => void) | undefined;
  /** Counts a failure without a line (`--json`, where the record says it). */
  failed(): void;
  /** On a terminal: replaces the progress lines above the prompt. */
  status: ((lines: string[]) => void) | undefined;
  /** Terminal width, for progress lines. */
  columns(): number;
}

/** Options of a {@linkcode TransferDesk}. */
export interface DeskOptions {
  /** `ask` (on a terminal; declines without one), `accept` or `decline` offered files. */
  offers: "ask" | "accept" | "decline";
  /** A person is at a terminal: offers are asked about, and transfers need a live connection. */
  interactive: boolean;
  /** A person can answer an offer (stdin is a terminal). */
  canAsk: boolean;
}

/** Milliseconds between two redraws of the progress lines. */
const REDRAW_MS = 100;
/** Milliseconds between two JSON progress records of one transfer. */
const JSON_PROGRESS_MS = 1000;

interface Active {
  kind: TransferResult["kind"];
  name: string;
  progress: TransferProgress | undefined;
  phaseStarted: number;
  lastRecord: number;
}

/**
 * Splits command words on spaces; a word may be quoted with `"` or `'` to hold spaces (a path).
 * Returns `undefined` for an unclosed quote.
 *
 * @example
 * ```ts
 * import { splitArgs } from "./_client_transfers.ts";
 * console.assert(JSON.stringify(splitArgs(`"my file.txt" notes.txt`)) === '["my file.txt","notes.txt"]');
 * ```
 */
export function splitArgs(text: string): string[] | undefined {
  const words: string[] = [];
  const pattern = /\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+))/y;
  let pos = 0;
  while (pos < text.length) {
    if (/^\s*$/.test(text.slice(pos))) break;
    pattern.lastIndex = pos;
    const match = pattern.exec(text);
    if (match === null) return undefined;
    words.push(match[1] ?? match[2] ?? match[3] ?? "");
    pos = pattern.lastIndex;
  }
  return words;
}

/** Runs the transfers of one client program and reports on them. */
export class TransferDesk {
  readonly #client: SwitchboardClient;
  readonly #files: FileTransfers;
  readonly #out: DeskOutput;
  readonly #options: DeskOptions;
  readonly #active = new Map<number, Active>();
  readonly #running = new Set<Promise<void>>();
  /** Offers this client made: id → file name, for receipts. */
  readonly #offers = new Map<number, string>();
  #nextId = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /** A desk for `client`, saving through `files`. */
  constructor(
    client: SwitchboardClient,
    files: FileTransfers,
    options: DeskOptions,
    out: DeskOutput,
  ) {
    this.#client = client;
    this.#files = files;
    this.#options = options;
    this.#out = out;
  }

  /** Transfers in progress. */
  get active(): number {
    return this.#running.size;
  }

  /** The file name of offer `id`, when this client made it. */
  offerName(id: number): string | undefined {
    return this.#offers.get(id);
  }

  /**
   * Handles `:put`, `:get`, `:send` or `:accept` (`verb` without the colon); resolves once the
   * transfer's command is on the connection (or it failed before). False for any other verb.
   */
  async command(verb: string, rest: string): Promise<boolean> {
    const args = splitArgs(rest);
    const usage = (text: string) => {
      this.#out.line(
        `✗ usage: ${text}${args === undefined ? " (a quote is not closed)" : ""}`,
        false,
      );
      return true;
    };
    switch (verb) {
      case "put": {
        const [path, name, extra] = args ?? [];
        if (path === undefined || extra !== undefined) return usage(":put <path> [name]");
        await this.#start(
          "put",
          name ?? basename(path),
          (cb) => this.#files.put(userPath(path), name, cb),
        );
        return true;
      }
      case "get": {
        const [name, dest, extra] = args ?? [];
        if (name === undefined || extra !== undefined) return usage(":get <name> [dest]");
        await this.#start("get", name, (cb) => this.#files.get(name, optionalPath(dest), cb));
        return true;
      }
      case "send": {
        const [target, path, extra] = args ?? [];
        if (path === undefined || extra !== undefined) return usage(":send <user|#group> <path>");
        await this.#start(
          "send",
          basename(path),
          (cb) => this.#files.send(target!, userPath(path), cb),
        );
        return true;
      }
      case "accept": {
        const [id, dest, extra] = args ?? [];
        const offer = parseWireNumber(id);
        if (offer === undefined || extra !== undefined) return usage(":accept <id> [dest]");
        await this.#start(
          "accept",
          `offer ${offer}`,
          (cb) => this.#files.accept(offer, optionalPath(dest), cb),
        );
        return true;
      }
      default:
        return false;
    }
  }

  /** An `OFFER` arrived: accept, decline, or tell the person how to answer. */
  offered(event: OfferEvent): void {
    const name = neutralize(event.name);
    const policy = this.#options.offers === "ask" && !this.#options.canAsk
      ? "decline"
      : this.#options.offers;
    switch (policy) {
      case "accept":
        this.#out.notice(`accepting offer ${event.id} (${name}) into ${this.#files.downloads}`);
        void this.#start("accept", name, (cb) => this.#files.accept(event.id, undefined, cb));
        return;
      case "decline":
        this.#client.send(`:decline ${event.id}`);
        return;
      case "ask":
        this.#out.notice(
          `type :accept ${event.id} to save ${name} in ${this.#files.downloads}, or :decline ${event.id}`,
        );
    }
  }

  /** Resolves once no transfer is running. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  /** Stops drawing. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #start(
    kind: TransferResult["kind"],
    name: string,
    run: (callbacks: TransferCallbacks) => Promise<TransferResult>,
  ): Promise<void> {
    if (this.#options.interactive && this.#client.state !== "ready") {
      this.#out.line(
        `✗ ${kind} ${neutralize(name)}: not connected; try again once reconnected`,
        false,
      );
      return;
    }
    const id = ++this.#nextId;
    const entry: Active = { kind, name, progress: undefined, phaseStarted: 0, lastRecord: 0 };
    this.#active.set(id, entry);
    this.#out.json?.({
      type: "transfer",
      time: new Date().toISOString(),
      event: "start",
      kind,
      name,
    });
    let queued!: () => void;
    const started = new Promise<void>((resolve) => queued = resolve);
    // The outcome is reported as soon as it is known (see `onDone`), once.
    let finished = false;
    const finish = (result: TransferResult) => {
      if (finished) return;
      finished = true;
      this.#finish(id, result);
    };
    let done: Promise<TransferResult>;
    try {
      done = run({
        onQueued: queued,
        onProgress: (progress) => this.#progress(entry, progress),
        onDone: finish,
      });
    } catch (error) {
      done = Promise.reject(error);
    }
    const settled = done.then(finish, (error) => finish(crashed(kind, name, error)));
    this.#running.add(settled);
    void settled.finally(() => this.#running.delete(settled));
    await Promise.race([started, settled]);
  }

  #progress(entry: Active, progress: TransferProgress): void {
    const now = performance.now();
    if (entry.progress?.phase !== progress.phase) entry.phaseStarted = now;
    entry.progress = progress;
    if (this.#out.json !== undefined) {
      if (now - entry.lastRecord < JSON_PROGRESS_MS) return;
      entry.lastRecord = now;
      this.#out.json({
        type: "transfer",
        time: new Date().toISOString(),
        event: "progress",
        kind: entry.kind,
        name: progress.name,
        phase: progress.phase,
        bytes: progress.bytes,
        size: progress.size,
      });
      return;
    }
    if (this.#out.status !== undefined && this.#timer === undefined && !this.#closed) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#draw();
      }, REDRAW_MS);
    }
  }

  #draw(): void {
    if (this.#closed) return;
    const now = performance.now();
    const columns = this.#out.columns();
    const lines: string[] = [];
    for (const entry of this.#active.values()) {
      if (entry.progress === undefined) continue;
      lines.push(progressLine({
        ...entry.progress,
        kind: entry.kind,
        elapsedMs: now - entry.phaseStarted,
      }, columns));
    }
    this.#out.status?.(lines);
  }

  #finish(id: number, result: TransferResult): void {
    const entry = this.#active.get(id);
    this.#active.delete(id);
    if (entry?.progress !== undefined) this.#draw();
    if (result.offer !== undefined) this.#offers.set(result.offer.id, result.name);
    if (this.#out.json !== undefined) {
      this.#out.json(transferRecord(result, new Date()));
      if (!result.ok) this.#out.failed();
      return;
    }
    this.#out.line(summaryLine(result, userFolder()), result.ok);
  }
}

/** A destination as the user meant it; an empty or missing one means the downloads folder. */
function optionalPath(dest: string | undefined): string | undefined {
  return dest === undefined || dest === "" ? dest : userPath(dest);
}

function crashed(kind: TransferResult["kind"], name: string, error: unknown): TransferResult {
  return failure(
    kind,
    name,
    undefined,
    "io-error",
    error instanceof Error ? error.message : String(error),
  );
}
