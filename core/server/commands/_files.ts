/**
 * The file commands of the wire protocol: `:put`, `:get`, `:files`, `:rm` (the shared area) and
 * `:send`, `:accept`, `:decline` (direct transfers). The grammar and replies are in
 * `docs/protocol.md` ("Files"); storage is in `../files/area.ts` and `../files/transfer.ts`.
 *
 * A command announcing a sized payload (`:put`, `:send`) consumes exactly `<size>` bytes after its
 * line whatever happens, as soon as `<size>` itself is readable: a refusal (`ERR`) is sent at once,
 * before any byte is stored, and the bytes that follow are read and dropped, so the framing of
 * the connection stays intact.
 * @module
 */

import type { CommandFamily } from "./_spec.ts";
import type { Logger } from "@logtape/logtape";
import type { Caller, PayloadSink, ServerContext, Session } from "../context.ts";
import type { ErrorCode } from "../../protocol/errors.ts";
import { fileNameProblem, normalizeFileName } from "../../protocol/file_names.ts";
import { parseSha256, parseWireNumber } from "../../protocol/numbers.ts";
import type { HashingFile } from "../../util/hashing_file.ts";
import type { FileArea } from "../files/area.ts";
import {
  errLine,
  formatLine,
  groupName,
  nameKey,
  neutralize,
  okLine,
  splitWords,
} from "../../protocol/grammar.ts";
import { recipientsOf } from "../files/transfer.ts";

/** Usage lines, as `ERR bad-args` shows them. */
const FILE_USAGE = {
  put: ":put <name> <size> <sha256>  (then <size> raw bytes)",
  get: ":get <name>",
  files: ":files",
  rm: ":rm <name>",
  send: ":send <user|#group> <name> <size> <sha256>  (then <size> raw bytes)",
  accept: ":accept <offer-id>",
  decline: ":decline <offer-id>",
} as const;

/** The file and transfer commands. */
export const FILE_COMMANDS: CommandFamily = {
  put: { needs: "name", usage: FILE_USAGE.put, run: put },
  get: { needs: "name", usage: FILE_USAGE.get, run: get },
  files: { needs: "name", usage: FILE_USAGE.files, run: files },
  rm: { needs: "name", usage: FILE_USAGE.rm, run: rm },
  send: { needs: "name", usage: FILE_USAGE.send, run: send },
  accept: { needs: "name", usage: FILE_USAGE.accept, run: accept },
  decline: { needs: "name", usage: FILE_USAGE.decline, run: decline },
};

/** A sink that drops a refused payload. */
const DISCARD: PayloadSink = {
  write() {},
  end: () => Promise.resolve(),
  abort: () => Promise.resolve(),
};

/**
 * Where the `<size>` of a payload command sits among its words, so that any refusal, even the
 * generic ones (`not-registered`), still reads and drops the payload.
 */
export function payloadSize(verb: string, rest: string): number | undefined {
  const index = verb === "put" ? 1 : verb === "send" ? 2 : -1;
  if (index < 0) return undefined;
  const words = rest.split(" ").filter((word) => word !== "");
  return parseWireNumber(words[index] ?? "");
}

/** Refuses a payload command: the final `ERR` line now, then `size` bytes read and dropped. */
export function refusePayload(
  caller: Caller,
  size: number,
  code: ErrorCode,
  text: string,
): void {
  caller.send(errLine(code, text));
  caller.session?.receive(size, DISCARD);
}

/** Runs `use` with the area, or answers `ERR io-error` when it cannot be opened. */
async function withArea(
  ctx: ServerContext,
  caller: Caller,
  use: (area: FileArea) => Promise<void> | void,
  onFailure: (code: ErrorCode, text: string) => void = (code, text) =>
    caller.send(errLine(code, text)),
): Promise<void> {
  let area: FileArea;
  try {
    area = await ctx.files.area();
  } catch (error) {
    ctx.log.server.error("shared area {dir} unusable: {error}", {
      dir: ctx.options.filesDir,
      error: String(error),
    });
    onFailure("io-error", "the shared area cannot be opened; see the server log");
    return;
  }
  await use(area);
}

function consoleRefusal(caller: Caller): Session | undefined {
  const session = caller.session;
  if (session === undefined) {
    caller.send(errLine("not-allowed", "the console cannot transfer files"));
  }
  return session;
}

/** An upload announced by `:put` or `:send`, its words checked; see {@linkcode announcedUpload}. */
interface AnnouncedUpload {
  name: string;
  size: number;
  sha256: string;
  session: Session;
  /** Refuses the upload: the final `ERR` line now, the payload read and dropped. */
  refuse(code: ErrorCode, text: string): void;
}

/**
 * Checks the `<name> <size> <sha256>` words of an upload. Without a readable size no payload is
 * expected, so the refusal is a plain `ERR`; once the size is known, every refusal also consumes
 * the payload. Answers the caller and returns undefined when the upload is refused.
 */
function announcedUpload(
  caller: Caller,
  [rawName = "", sizeWord = "", hashWord = "", extra = ""]: readonly string[],
  usage: string,
): AnnouncedUpload | undefined {
  const name = normalizeFileName(rawName);
  const size = parseWireNumber(sizeWord);
  if (size === undefined) {
    caller.send(errLine("bad-args", `usage: ${usage} (no payload was expected)`));
    return undefined;
  }
  const session = consoleRefusal(caller);
  if (session === undefined) return undefined;
  const refuse = (code: ErrorCode, text: string) => refusePayload(caller, size, code, text);
  const sha256 = parseSha256(hashWord);
  if (sha256 === undefined || extra !== "") {
    refuse("bad-args", `usage: ${usage}`);
    return undefined;
  }
  const problem = fileNameProblem(name);
  if (problem !== undefined) {
    refuse("bad-file-name", problem);
    return undefined;
  }
  return { name, size, sha256, session, refuse };
}

/**
 * The `<name>` of a `:get` or `:rm` and the session to serve it on; or undefined once the caller
 * was told why not (usage, the console, the area switched off).
 */
function fileRequest(
  ctx: ServerContext,
  caller: Caller,
  rest: string,
  verb: "get" | "rm",
): { name: string; session: Session } | undefined {
  const [name = "", extra = ""] = splitWords(rest, 1);
  if (name === "" || extra !== "") {
    usage(caller, verb);
    return undefined;
  }
  const session = consoleRefusal(caller);
  if (session === undefined) return undefined;
  if (disabled(ctx)) {
    caller.send(errLine("disabled", DISABLED_TEXT));
    return undefined;
  }
  return { name, session };
}

function disabled(ctx: ServerContext): boolean {
  return ctx.options.filesDir === "";
}

const DISABLED_TEXT = "the shared area is off (the server runs without --files-dir)";

/** `:put <name> <size> <sha256>` + bytes → `OK put <name>`. */
function put(ctx: ServerContext, caller: Caller, rest: string): void {
  const upload = announcedUpload(caller, splitWords(rest, 3), FILE_USAGE.put);
  if (upload === undefined) return;
  const { name, size, session, refuse } = upload;
  if (disabled(ctx)) return refuse("disabled", DISABLED_TEXT);
  session.defer(() =>
    withArea(ctx, caller, async (area) => {
      const reservation = area.reserve(name, size, caller.name, ctx.options);
      if ("code" in reservation) return refuse(reservation.code, reservation.text);
      await receiveUpload(ctx, caller, upload, {
        what: "upload",
        create: () => area.createUpload(),
        release: () => area.release(reservation),
        unavailable: "the server cannot store files now; see its log",
        keep: async (file, stored) => {
          try {
            await area.commit(reservation, file.path, stored);
          } catch (error) {
            await file.discard();
            logFailure(ctx.log.traffic, "cannot move an upload into place", caller, name, error);
            caller.send(errLine("io-error", "the file could not be stored; see the server log"));
            return;
          }
          ctx.log.traffic.info("stored {file} ({bytes} bytes) from {name} ({peer})", {
            file: name,
            bytes: size,
            name: caller.name,
            peer: caller.address,
          });
          caller.send(okLine("put", name));
        },
      });
    }, refuse)
  );
}

/** `:get <name>` → `FILE <name> <size> <sha256>`, the bytes, `OK get <name>`. */
function get(ctx: ServerContext, caller: Caller, rest: string): void {
  const request = fileRequest(ctx, caller, rest, "get");
  if (request === undefined) return;
  const { name, session } = request;
  session.defer((signal) =>
    withArea(ctx, caller, async (area) => {
      const info = area.find(name);
      if (info === undefined) {
        caller.send(errLine("no-such-file", `there is no file ${neutralize(name)}`));
        return;
      }
      let file: Deno.FsFile;
      try {
        file = await Deno.open(area.pathOf(info));
      } catch (error) {
        logFailure(ctx.log.traffic, "cannot open a shared file", caller, info.name, error);
        caller.send(
          error instanceof Deno.errors.NotFound
            ? errLine("no-such-file", `${info.name} is gone`)
            : errLine("io-error", `${info.name} cannot be read; see the server log`),
        );
        return;
      }
      try {
        const header = formatLine("FILE", [info.name, info.size, info.sha256]);
        const sent = await session.sendPayload(
          header,
          file,
          info.size,
          okLine("get", info.name),
          signal,
        );
        ctx.log.traffic.info("sent {file} ({bytes} bytes) to {name} ({peer}): {outcome}", {
          file: info.name,
          bytes: info.size,
          name: caller.name,
          peer: caller.address,
          outcome: sent ? "complete" : "broken",
        });
      } finally {
        file.close();
      }
    })
  );
}

/** `:files` → `FILEINFO <name> <size> <sha256> <uploader> <time>`… then `OK files <count>`. */
function files(ctx: ServerContext, caller: Caller): void {
  const session = consoleRefusal(caller);
  if (session === undefined) return;
  if (disabled(ctx)) return caller.send(errLine("disabled", DISABLED_TEXT));
  session.defer((signal) =>
    withArea(ctx, caller, async (area) => {
      const list = area.list();
      for (const info of list) {
        const line = formatLine("FILEINFO", [
          info.name,
          info.size,
          info.sha256,
          info.uploader,
          info.time,
        ]);
        if (!await session.sendPaced(line, signal)) return;
      }
      caller.send(okLine("files", list.length));
    })
  );
}

/** `:rm <name>` → `OK rm <name>`; the uploader or an admin only. */
function rm(ctx: ServerContext, caller: Caller, rest: string): void {
  const request = fileRequest(ctx, caller, rest, "rm");
  if (request === undefined) return;
  const { name, session } = request;
  session.defer(() =>
    withArea(ctx, caller, async (area) => {
      const info = area.find(name);
      if (info === undefined) {
        caller.send(errLine("no-such-file", `there is no file ${neutralize(name)}`));
        return;
      }
      if (!caller.admin && nameKey(info.uploader) !== nameKey(caller.name)) {
        caller.send(errLine("not-allowed", `only ${info.uploader} or an admin may remove it`));
        return;
      }
      try {
        await area.remove(info);
      } catch (error) {
        logFailure(ctx.log.traffic, "cannot remove a shared file", caller, info.name, error);
        caller.send(errLine("io-error", `${info.name} could not be removed; see the server log`));
        return;
      }
      ctx.log.traffic.info("removed {file} for {name} ({peer})", {
        file: info.name,
        name: caller.name,
        peer: caller.address,
      });
      caller.send(okLine("rm", info.name));
    })
  );
}

/**
 * `:send <user|#group> <name> <size> <sha256>` + bytes → `OK send <offer-id> <recipients>`; each
 * recipient gets `OFFER <offer-id> <from> <target> <name> <size> <sha256>`.
 */
function send(ctx: ServerContext, caller: Caller, rest: string): void {
  const [target = "", ...words] = splitWords(rest, 4);
  const upload = announcedUpload(caller, words, FILE_USAGE.send);
  if (upload === undefined) return;
  const { name, size, session, refuse } = upload;
  const resolved = resolveTarget(ctx, caller, target);
  if ("code" in resolved) return refuse(resolved.code, resolved.text);
  const quota = ctx.options.fileQuota;
  if (quota > 0 && size > quota) return refuse("too-large", `files are limited to ${quota} bytes`);
  const spool = ctx.files.spool;
  const hold = spool.reserve(caller.name, session.id, size);
  if ("code" in hold) return refuse(hold.code, hold.text);
  session.defer(() =>
    receiveUpload(ctx, caller, upload, {
      what: "send",
      create: () => spool.createFile(),
      release: () => spool.release(hold),
      unavailable: "the server cannot take transfers now; see its log",
      keep: async (file, stored) => {
        const recipients = recipientsOf(ctx, caller, resolved.target);
        if (recipients.length === 0) {
          await file.discard();
          spool.release(hold);
          caller.send(errLine("no-such-user", `nobody in ${resolved.target} is online any more`));
          return;
        }
        const display = resolved.target.startsWith("#") ? resolved.target : recipients[0]!.name;
        const offer = spool.offer(caller, display, recipients, {
          name,
          size,
          sha256: stored,
          path: file.path,
          hold,
        });
        caller.send(okLine("send", offer.id, offer.pending.size));
      },
    })
  );
}

/** `:accept <id>` → `FILE <name> <size> <sha256>`, the bytes, `OK accept <id>`. */
function accept(ctx: ServerContext, caller: Caller, rest: string): void {
  const [word = "", extra = ""] = splitWords(rest, 1);
  const id = parseWireNumber(word);
  if (id === undefined || extra !== "") return usage(caller, "accept");
  const session = consoleRefusal(caller);
  if (session === undefined) return;
  const spool = ctx.files.spool;
  const offer = spool.claim(id, caller);
  if (offer === undefined) {
    caller.send(errLine("no-such-offer", `there is no offer ${id} for you (expired?)`));
    return;
  }
  offer.active++;
  session.defer(async (signal) => {
    let sent = false;
    try {
      using file = await Deno.open(offer.path);
      const header = formatLine("FILE", [offer.name, offer.size, offer.sha256]);
      sent = await session.sendPayload(header, file, offer.size, okLine("accept", id), signal);
    } catch (error) {
      logFailure(ctx.log.traffic, "cannot open a spool file", caller, offer.name, error);
      caller.send(errLine("io-error", "the offered file cannot be read; see the server log"));
    } finally {
      offer.active--;
      spool.settle(offer, caller.name, sent ? "delivered" : "failed");
    }
  });
}

/** `:decline <id>` → `OK decline <id>`; the sender gets `RECEIPT <id> <you> declined`. */
function decline(ctx: ServerContext, caller: Caller, rest: string): void {
  const [word = "", extra = ""] = splitWords(rest, 1);
  const id = parseWireNumber(word);
  if (id === undefined || extra !== "") return usage(caller, "decline");
  const spool = ctx.files.spool;
  const offer = spool.claim(id, caller);
  if (offer === undefined) {
    caller.send(errLine("no-such-offer", `there is no offer ${id} for you (expired?)`));
    return;
  }
  spool.settle(offer, caller.name, "declined");
  caller.send(okLine("decline", id));
}

/** Validates the target of `:send`: `#group` (you must be in it) or another user online. */
function resolveTarget(
  ctx: ServerContext,
  caller: Caller,
  target: string,
): { target: string } | { code: ErrorCode; text: string } {
  if (target.startsWith("#")) {
    const group = ctx.hub.findGroup(groupName(target));
    if (group === undefined) {
      return { code: "no-such-group", text: `there is no group ${neutralize(target)}` };
    }
    const self = caller.peer;
    if (self === undefined || !group.members.has(self)) {
      return { code: "not-allowed", text: `you are not a member of #${group.name}` };
    }
    if (group.members.size < 2) {
      return { code: "no-such-user", text: `nobody else is in #${group.name}` };
    }
    return { target: `#${group.name}` };
  }
  const peer = ctx.hub.find(target);
  if (peer === undefined) {
    return { code: "no-such-user", text: `nobody called "${neutralize(target)}" is online` };
  }
  if (peer === caller.peer) return { code: "bad-args", text: "you cannot send a file to yourself" };
  return { target: peer.name };
}

/** Where a verified upload goes, and how its space is given back; see {@linkcode receiveUpload}. */
interface UploadStore {
  /** `upload` (`:put`) or `send`, as logs and errors name it. */
  what: "upload" | "send";
  /** Creates the temporary file the bytes go to. */
  create(): Promise<HashingFile>;
  /** Gives back the space reserved for the upload. */
  release(): void;
  /** The `io-error` text when no temporary file can be created. */
  unavailable: string;
  /** Keeps the file, whose SHA-256 matched, and sends the final line. */
  keep(file: HashingFile, sha256: string): Promise<void>;
}

/**
 * Reads an announced upload into a new temporary file, verifies its SHA-256, and hands it to
 * `store.keep`; a failure at any step removes the file, gives the space back and answers.
 */
async function receiveUpload(
  ctx: ServerContext,
  caller: Caller,
  upload: AnnouncedUpload,
  store: UploadStore,
): Promise<void> {
  const { name, size, sha256, session, refuse } = upload;
  let file: HashingFile;
  try {
    file = await store.create();
  } catch (error) {
    store.release();
    const what = store.what === "upload" ? "an upload" : "a spool";
    logFailure(ctx.log.traffic, `cannot create ${what} file`, caller, name, error);
    return refuse("io-error", store.unavailable);
  }
  session.receive(size, {
    write: (piece) => file.write(piece),
    end: async () => {
      const stored = await verify(ctx, caller, file, name, sha256, () => store.release());
      if (stored !== undefined) await store.keep(file, stored);
    },
    abort: async () => {
      await file.discard();
      store.release();
      broken(ctx, caller, store.what, name, file.written, size);
    },
  });
}

/**
 * Finishes an upload and checks its hash. Returns the SHA-256 when it matches; otherwise the file
 * is deleted, `release` runs, the client gets `ERR io-error` or `ERR bad-hash`, and the result is
 * undefined.
 */
async function verify(
  ctx: ServerContext,
  caller: Caller,
  file: HashingFile,
  name: string,
  expected: string,
  release: () => void,
): Promise<string | undefined> {
  const result = await file.finish();
  if ("sha256" in result && result.sha256 === expected) return result.sha256;
  await file.discard();
  release();
  if ("error" in result) {
    logFailure(ctx.log.traffic, "cannot write an upload", caller, name, result.error);
    caller.send(errLine("io-error", "the file could not be written; see the server log"));
    return undefined;
  }
  ctx.throttle.warning(
    ctx.log.traffic,
    caller.ip,
    "upload of {file} from {name} ({peer}) refused: SHA-256 mismatch",
    { file: name, name: caller.name, peer: caller.address },
  );
  caller.send(
    errLine("bad-hash", `the bytes received hash to ${result.sha256}, not ${expected}`),
  );
  return undefined;
}

/** A transfer cut short: logged, and the client (if still there) told. */
function broken(
  ctx: ServerContext,
  caller: Caller,
  what: string,
  name: string,
  received: number,
  size: number,
): void {
  ctx.throttle.warning(
    ctx.log.traffic,
    caller.ip,
    "{what} of {file} from {name} ({peer}) broken after {received} of {bytes} bytes",
    { what, file: name, name: caller.name, peer: caller.address, received, bytes: size },
    `broken ${what}`,
  );
  caller.send(
    errLine("incomplete", `the connection ended after ${received} of ${size} bytes; nothing kept`),
  );
}

function logFailure(log: Logger, what: string, caller: Caller, file: string, error: unknown): void {
  log.error(`${what}: {file} for {name} ({peer}): {error}`, {
    file,
    name: caller.name,
    peer: caller.address,
    error: String(error),
  });
}

function usage(caller: Caller, verb: keyof typeof FILE_USAGE): void {
  caller.send(errLine("bad-args", `usage: ${FILE_USAGE[verb]}`));
}
