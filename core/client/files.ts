/**
 * Files on the client side: `:put` and `:send` a local file, `:get` a shared file and `:accept`
 * an offered one into a downloads folder, on top of the sized payloads of
 * {@linkcode SwitchboardClient.upload} and {@linkcode SwitchboardClient.download}.
 *
 * An upload is hashed first (streaming, so its size costs no memory), then its command line and
 * exactly its bytes go out. A download streams into a hidden temporary file in the destination
 * folder while its SHA-256 is computed, and is kept only when every byte arrived and the hash
 * matches what the `FILE` line announced — under a name that was free: `name`, `name (1)`, …, so
 * an existing file is never overwritten. A name that comes from the server (another user chose
 * it) is checked again here, so it can never point outside the downloads folder.
 *
 * @example
 * ```ts ignore
 * import { SwitchboardClient } from "./client.ts";
 * import { FileTransfers } from "./files.ts";
 * await using client = await SwitchboardClient.connect({ port: 12345 });
 * await client.register("alice");
 * const files = new FileTransfers(client, { downloads: "downloads" });
 * const up = await files.put("report.pdf");
 * const down = await files.get("report.pdf");
 * console.log(up.ok, down.path); // true downloads/report (1).pdf, if report.pdf was there
 * ```
 * @module
 */

import { basename, dirname, resolve, sep } from "node:path";
import type { Answer } from "./answer.ts";
import type { SwitchboardClient } from "./client.ts";
import type { PayloadSink } from "./payload.ts";
import { fileNameProblem, normalizeFileName } from "../protocol/file_names.ts";
import { describeError as describe } from "../util/describe_error.ts";
import { HashingFile, hashStream, removeQuietly } from "../util/hashing_file.ts";
import type { ErrEvent, FileEvent, OkEvent } from "../protocol/server_line.ts";

/** What a transfer was. */
export type TransferKind = "put" | "send" | "get" | "accept";

/** How far a transfer got; reported often (every piece), so a listener should be cheap. */
export interface TransferProgress {
  /** `hashing` the local file before an upload, then `sending`; `receiving` for a download. */
  phase: "hashing" | "sending" | "receiving";
  /** The file's name on the server. */
  name: string;
  /** Bytes done in this phase. */
  bytes: number;
  /** Bytes in all. */
  size: number;
}

/** Why a transfer failed: the server's `ERR` code, or one of the client's own (see below). */
export interface TransferError {
  /**
   * The server's code (`no-such-file`, `too-large`, `bad-hash`, …), or the client's:
   * `not-found` / `not-a-file` / `io-error` (the local file or folder), `bad-file-name` (a name
   * unfit for the server, or one from the server unfit for a local file), `bad-hash` (the bytes
   * received do not match the `FILE` line), `incomplete` (the connection ended mid-payload),
   * `closed` (no answer: the connection dropped).
   */
  code: string;
  /** For a person. */
  text: string;
}

/** The outcome of one transfer. */
export interface TransferResult {
  /** True when the file went through and (for a download) was kept. */
  ok: boolean;
  /** Which command. */
  kind: TransferKind;
  /** The file's name on the server (or in the offer). */
  name: string;
  /** The local file: the one read for an upload; the one written for a download (once kept). */
  path: string | undefined;
  /** Bytes in the file (0 when it never became known). */
  size: number;
  /** Its SHA-256, lower-case hex ("" when it never became known). */
  sha256: string;
  /** Bytes that crossed the connection. */
  bytes: number;
  /** Milliseconds from the command going out (a download: from its `FILE` line) to the end. */
  ms: number;
  /** The server's final line, if it came. */
  final: OkEvent | ErrEvent | undefined;
  /** For `:send`: the offer's id and how many recipients it went to. */
  offer: { id: number; recipients: number } | undefined;
  /** What went wrong, when `ok` is false. */
  error: TransferError | undefined;
}

/** Callbacks of a transfer. */
export interface TransferCallbacks {
  /** The command went out: lines sent from now on are handled by the server after it. */
  onQueued?: () => void;
  /** Progress, see {@linkcode TransferProgress}. */
  onProgress?: (progress: TransferProgress) => void;
  /**
   * The outcome, as soon as it is known: for a transfer that reached the server, right when its
   * final line came, before the client handles any later line (so a report of it comes in the
   * order of the conversation). The returned promise resolves with the same result a little
   * later.
   */
  onDone?: (result: TransferResult) => void;
}

/** Options of {@linkcode FileTransfers}. */
export interface FileTransferOptions {
  /** Folder downloads are saved in; created when first needed. @default {"downloads"} */
  downloads?: string;
}

/** Prefix of a download in progress (hidden; server names cannot start with a dot). */
export const DOWNLOAD_TEMP_PREFIX = ".download-";

/** Bytes read per step while hashing a local file. */
/**
 * Why `name` (from the server: another user chose it) cannot be saved as a file in a downloads
 * folder, or `undefined` when it can: the protocol's name rules again (`fileNameProblem` of
 * `file_names.ts`: no path separators or look-alikes, no `..`, no leading dot, no control or
 * invisible characters, no Windows device name, at most 128 bytes).
 *
 * @example
 * ```ts
 * import { downloadNameProblem } from "./files.ts";
 * console.assert(downloadNameProblem("photo.jpg") === undefined);
 * console.assert(downloadNameProblem("../../.bashrc") !== undefined);
 * console.assert(downloadNameProblem("NUL.txt") !== undefined);
 * ```
 */
export function downloadNameProblem(name: string): string | undefined {
  return fileNameProblem(name);
}

/**
 * The path of `name` directly inside `dir`, after {@linkcode downloadNameProblem} and a second,
 * independent check that the resolved path's folder is `dir` itself.
 * @throws {TypeError} when `name` is unfit or would land anywhere else.
 */
export function pathInside(dir: string, name: string): string {
  const problem = downloadNameProblem(name);
  if (problem !== undefined) throw new TypeError(problem);
  const root = resolve(dir);
  const path = resolve(root, name);
  if (dirname(path) !== root || basename(path) !== name) {
    throw new TypeError(`${JSON.stringify(name)} does not stay inside ${dir}`);
  }
  return path;
}

/**
 * The `attempt`-th name tried for `name`: itself, then `stem (1).ext`, `stem (2).ext`, …
 *
 * @example
 * ```ts
 * import { candidateName } from "./files.ts";
 * console.assert(candidateName("a.tar.gz", 2) === "a.tar (2).gz");
 * console.assert(candidateName("README", 1) === "README (1)");
 * ```
 */
export function candidateName(name: string, attempt: number): string {
  if (attempt === 0) return name;
  const dot = name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  return `${stem} (${attempt})${ext}`;
}

/**
 * Claims a free file name in `dir` for `name` (`name`, `name (1)`, …) by creating it empty with
 * `createNew`, which fails rather than open an existing file: two downloads, or another program,
 * can never end up with the same name. Returns the path claimed.
 */
export async function claimFreshPath(
  dir: string,
  name: string,
  attempts = 10_000,
): Promise<string> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const path = resolve(dir, candidateName(name, attempt));
    try {
      const file = await Deno.open(path, { write: true, createNew: true });
      file.close();
      return path;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
  }
  throw new Deno.errors.AlreadyExists(`no free name for ${name} in ${dir}`);
}

/**
 * `:put`, `:send`, `:get` and `:accept` with local files, for one client. Each method resolves
 * with a {@linkcode TransferResult} once the transfer is over (it never throws for a transfer
 * that fails: the result says why); `onQueued` tells when its command went out, so lines sent
 * after that are handled by the server after it.
 */
export class FileTransfers {
  readonly #client: SwitchboardClient;
  /** The downloads folder. */
  readonly downloads: string;

  /** Transfers for `client`, saving downloads in `options.downloads`. */
  constructor(client: SwitchboardClient, options: FileTransferOptions = {}) {
    this.#client = client;
    this.downloads = options.downloads ?? "downloads";
  }

  /**
   * Uploads the file at `path` to the shared area as `name` (default: its file name), in Unicode
   * NFC as the server stores it.
   */
  put(path: string, name?: string, callbacks: TransferCallbacks = {}): Promise<TransferResult> {
    const target = normalizeFileName(name ?? basename(path));
    return this.#upload(
      "put",
      path,
      target,
      (size, sha256) => `:put ${target} ${size} ${sha256}`,
      callbacks,
    );
  }

  /**
   * Offers the file at `path` to a user or a `#group`, under its file name in Unicode NFC; the
   * result's `offer` has its id.
   */
  send(target: string, path: string, callbacks: TransferCallbacks = {}): Promise<TransferResult> {
    const name = normalizeFileName(basename(path));
    if (target === "" || /\s/.test(target)) {
      const result = failure("send", name, path, "bad-args", "send to whom?");
      return Promise.resolve(reportOnce(callbacks)(result));
    }
    return this.#upload(
      "send",
      path,
      name,
      (size, sha256) => `:send ${target} ${name} ${size} ${sha256}`,
      callbacks,
    );
  }

  /**
   * Downloads the shared file `name` into the downloads folder, or to `dest`: an existing folder
   * (the file keeps the server's name), or a file path (its own name is used). Never overwrites:
   * a taken name becomes `name (1)`, `name (2)`, …
   */
  get(name: string, dest?: string, callbacks: TransferCallbacks = {}): Promise<TransferResult> {
    if (name === "" || /\s/.test(name)) {
      const result = failure("get", name, undefined, "bad-args", "get which file?");
      return Promise.resolve(reportOnce(callbacks)(result));
    }
    return this.#download("get", `:get ${name}`, name, dest, callbacks);
  }

  /** Accepts offer `id` (from an `OFFER` line) and saves the file as {@linkcode get} does. */
  accept(id: number, dest?: string, callbacks: TransferCallbacks = {}): Promise<TransferResult> {
    return this.#download("accept", `:accept ${id}`, `offer ${id}`, dest, callbacks);
  }

  async #upload(
    kind: "put" | "send",
    path: string,
    name: string,
    command: (size: number, sha256: string) => string,
    callbacks: TransferCallbacks,
  ): Promise<TransferResult> {
    const once = reportOnce(callbacks);
    const problem = fileNameProblem(name);
    if (problem !== undefined) {
      return once(
        failure(kind, name, path, "bad-file-name", `${JSON.stringify(name)}: ${problem}`),
      );
    }
    let file: Deno.FsFile;
    try {
      const info = await Deno.stat(path);
      if (!info.isFile) {
        return once(failure(kind, name, path, "not-a-file", `${path} is not a file`));
      }
      file = await Deno.open(path);
    } catch (error) {
      return once(localFailure(kind, name, path, error));
    }
    try {
      const report = callbacks.onProgress;
      let size: number, sha256: string;
      try {
        const total = (await file.stat()).size;
        ({ size, sha256 } = await hashStream(
          file,
          report && ((bytes) => report({ phase: "hashing", name, bytes, size: total })),
        ));
        await file.seek(0, Deno.SeekMode.Start);
      } catch (error) {
        return once(localFailure(kind, name, path, error));
      }
      let started = 0;
      let written: number | undefined;
      let answered: Answer | undefined;
      const build = (answer: Answer, sent: number) =>
        uploadResult(kind, name, path, size, sha256, sent, started, answer);
      const answer = await this.#client.upload(command(size, sha256), file, size, {
        onQueued: () => {
          started = performance.now();
          callbacks.onQueued?.();
        },
        onProgress: report && ((bytes) => report({ phase: "sending", name, bytes, size })),
        onWritten: (sent) => {
          written = sent;
          if (answered !== undefined) once(build(answered, sent));
        },
        onAnswer: (answer) => {
          answered = answer;
          if (written !== undefined) once(build(answer, written));
        },
      });
      return once(build(answer, answer.sent));
    } finally {
      file.close();
    }
  }

  async #download(
    kind: "get" | "accept",
    command: string,
    name: string,
    dest: string | undefined,
    callbacks: TransferCallbacks,
  ): Promise<TransferResult> {
    const once = reportOnce(callbacks);
    const download = new Download(this.downloads, dest, callbacks.onProgress);
    const finalOf = (answer: Answer) => answer.final?.type === "echo" ? undefined : answer.final;
    const answer = await this.#client.download(command, (header) => download.open(header), {
      onQueued: () => callbacks.onQueued?.(),
      onAnswer: (answer) => once(download.result(kind, name, finalOf(answer))),
    });
    return once(download.result(kind, name, finalOf(answer)));
  }
}

/** A function that settles a transfer's outcome once: the first result wins and is reported. */
function reportOnce(callbacks: TransferCallbacks): (result: TransferResult) => TransferResult {
  let settled: TransferResult | undefined;
  return (result) => {
    if (settled !== undefined) return settled;
    settled = result;
    callbacks.onDone?.(result);
    return result;
  };
}

function uploadResult(
  kind: "put" | "send",
  name: string,
  path: string,
  size: number,
  sha256: string,
  sent: number,
  started: number,
  answer: Answer,
): TransferResult {
  const final = answer.final?.type === "echo" ? undefined : answer.final;
  const result: TransferResult = {
    ok: false,
    kind,
    name,
    path,
    size,
    sha256,
    bytes: sent,
    ms: started === 0 ? 0 : performance.now() - started,
    final,
    offer: undefined,
    error: undefined,
  };
  if (final === undefined) {
    result.error = sent < size
      ? incomplete(sent, size)
      : { code: "closed", text: "the connection ended before the server confirmed" };
  } else if (final.type === "error") {
    result.error = { code: final.code, text: final.text };
  } else {
    result.ok = true;
    if (kind === "send") {
      const [id = "", recipients = ""] = final.params;
      result.offer = { id: Number(id), recipients: Number(recipients) };
    }
  }
  return result;
}

/** One download: where it goes, and what became of it. */
class Download {
  readonly #downloads: string;
  readonly #dest: string | undefined;
  readonly #report: ((progress: TransferProgress) => void) | undefined;
  #header: FileEvent | undefined;
  #received = 0;
  #started = 0;
  #ms = 0;
  #path: string | undefined;
  #error: TransferError | undefined;

  constructor(
    downloads: string,
    dest: string | undefined,
    report: ((progress: TransferProgress) => void) | undefined,
  ) {
    this.#downloads = downloads;
    this.#dest = dest;
    this.#report = report;
  }

  /** The sink for the payload after `header`; a counting discard when it cannot be saved. */
  async open(header: FileEvent): Promise<PayloadSink> {
    this.#header = header;
    this.#started = performance.now();
    let file: HashingFile | undefined;
    let target: { dir: string; name: string } | undefined;
    try {
      target = await this.#target(header.name);
      if (target !== undefined) {
        await Deno.mkdir(target.dir, { recursive: true });
        file = await HashingFile.create(target.dir, DOWNLOAD_TEMP_PREFIX);
      }
    } catch (error) {
      this.#error = { code: "io-error", text: describe(error) };
    }
    const count = (piece: Uint8Array) => {
      this.#received += piece.length;
      this.#report?.({
        phase: "receiving",
        name: header.name,
        bytes: this.#received,
        size: header.size,
      });
    };
    return {
      write: async (piece) => {
        count(piece);
        await file?.write(piece);
      },
      end: async () => {
        this.#ms = performance.now() - this.#started;
        if (file === undefined || target === undefined) return;
        const done = await file.finish();
        if ("error" in done) {
          await file.discard();
          this.#error = { code: "io-error", text: describe(done.error) };
          return;
        }
        if (done.sha256 !== header.sha256) {
          await file.discard();
          this.#error = {
            code: "bad-hash",
            text: `the bytes received hash to ${done.sha256}, not ${header.sha256}; nothing kept`,
          };
          return;
        }
        let claimed: string | undefined;
        try {
          claimed = await claimFreshPath(target.dir, target.name);
          // Replaces the empty file that holds the name for us, nothing else.
          await Deno.rename(file.path, claimed);
          this.#path = claimed;
        } catch (error) {
          await removeQuietly(file.path).catch(() => {});
          if (claimed !== undefined) await removeQuietly(claimed).catch(() => {});
          this.#error = { code: "io-error", text: describe(error) };
        }
      },
      abort: async (received) => {
        this.#ms = performance.now() - this.#started;
        await file?.discard();
        this.#error ??= incomplete(received, header.size);
      },
    };
  }

  /** Folder and file name for a download called `name` on the server; undefined if refused. */
  async #target(name: string): Promise<{ dir: string; name: string } | undefined> {
    const dest = this.#dest;
    if (dest !== undefined && dest !== "") {
      let folder = dest.endsWith("/") || dest.endsWith(sep);
      if (!folder) {
        try {
          folder = (await Deno.stat(dest)).isDirectory;
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
      }
      // A file name the user typed is theirs to choose; a server name is checked below.
      if (!folder) return { dir: dirname(resolve(dest)), name: basename(dest) };
      return this.#checked(dest, name);
    }
    return this.#checked(this.#downloads, name);
  }

  #checked(dir: string, name: string): { dir: string; name: string } | undefined {
    try {
      pathInside(dir, name);
    } catch (error) {
      this.#error = {
        code: "bad-file-name",
        text: `refused to save ${JSON.stringify(name)}: ${(error as Error).message}`,
      };
      return undefined;
    }
    return { dir: resolve(dir), name };
  }

  result(
    kind: "get" | "accept",
    name: string,
    final: OkEvent | ErrEvent | undefined,
  ): TransferResult {
    const header = this.#header;
    let error = this.#error;
    if (final?.type === "error") error = { code: final.code, text: final.text };
    else if (header === undefined && error === undefined) {
      error = final === undefined
        ? { code: "closed", text: "the connection ended before the server answered" }
        : { code: "bad-args", text: "the server sent no file" };
    } else if (final === undefined && error === undefined) {
      error = { code: "closed", text: "the connection ended before the server confirmed" };
    }
    return {
      ok: error === undefined && this.#path !== undefined,
      kind,
      name: header?.name ?? name,
      path: this.#path,
      size: header?.size ?? 0,
      sha256: header?.sha256 ?? "",
      bytes: this.#received,
      ms: this.#ms,
      final,
      offer: undefined,
      error,
    };
  }
}

/** The result of a transfer that failed before or without moving bytes. */
export function failure(
  kind: TransferKind,
  name: string,
  path: string | undefined,
  code: string,
  text: string,
): TransferResult {
  return {
    ok: false,
    kind,
    name,
    path,
    size: 0,
    sha256: "",
    bytes: 0,
    ms: 0,
    final: undefined,
    offer: undefined,
    error: { code, text },
  };
}

function localFailure(
  kind: TransferKind,
  name: string,
  path: string,
  error: unknown,
): TransferResult {
  if (error instanceof Deno.errors.NotFound) {
    return failure(kind, name, path, "not-found", `${path}: no such file`);
  }
  return failure(kind, name, path, "io-error", `${path}: ${describe(error)}`);
}

function incomplete(received: number, size: number): TransferError {
  return {
    code: "incomplete",
    text: `the connection ended after ${received} of ${size} bytes; nothing kept`,
  };
}
