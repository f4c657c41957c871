/**
 * Checks that a folder or file named in the configuration can be used, before the server relies
 * on it: a folder is created when missing (as the server would) and written to, a file's folder
 * likewise. Each check returns what is wrong in a few words, or `undefined`, so the caller can
 * name the setting and print one line instead of failing later with a stack trace.
 *
 * @example
 * ```ts
 * import { folderProblem } from "./path_checks.ts";
 * const file = await Deno.makeTempFile();
 * console.assert(await folderProblem(file) === "not a folder");
 * console.assert(await folderProblem(`${file}/logs`) === "cannot use it (a part of the path is a file)");
 * console.assert(await folderProblem(await Deno.makeTempDir()) === undefined);
 * ```
 * @module
 */

import { describeError } from "../util/describe_error.ts";
import { dirname, join } from "node:path";
import { deniedAccess } from "../util/permissions.ts";

/** What a failed file-system call means, in a few words: `"permission denied"`. */
export function fsReason(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable) {
    const kind = deniedAccess(error.message)?.kind;
    return kind === undefined
      ? "Deno's permissions do not allow it"
      : `Deno's permissions do not allow it: it needs ${kind} access`;
  }
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotADirectory) return "a part of the path is a file";
  if (error instanceof Deno.errors.IsADirectory) return "it is a folder";
  if (error instanceof Deno.errors.NotFound) return "no such file or folder";
  if (error instanceof Deno.errors.AlreadyExists) return "a file is in the way";
  // "Read-only file system (os error 30): mkdir '/x'" → "read-only file system"
  const message = describeError(error);
  const first = (message.split("\n")[0] ?? "").replace(/\s*\(os error \d+\).*$/, "").trim();
  return first === "" ? "unknown error" : first.charAt(0).toLowerCase() + first.slice(1);
}

/**
 * A path as shown in a message: bare, or JSON-quoted when it is empty or holds spaces, quotes
 * or control characters, so the message stays one line and the path can be copied.
 */
export function showPath(path: string): string {
  return /^[^\s"'\\\p{Cc}]+$/u.test(path) ? path : JSON.stringify(path);
}

/** Options of {@linkcode folderProblem}. */
export interface FolderCheck {
  /** Mode of a folder created by the check (before the umask). @default {0o777} */
  mode?: number;
  /**
   * Files the program will append to in the folder: each is opened (created if missing, never
   * truncated). Without any, writing is tried with a temporary file that is removed at once.
   */
  files?: string[];
}

/**
 * Why `path` cannot serve as a writable folder, or `undefined` when it can. A missing folder is
 * created (with its parents), as the server would create it.
 */
export async function folderProblem(
  path: string,
  check: FolderCheck = {},
): Promise<string | undefined> {
  let stat: Deno.FileInfo | undefined;
  try {
    stat = await Deno.stat(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) return `cannot use it (${fsReason(error)})`;
  }
  if (stat !== undefined && !stat.isDirectory) return "not a folder";
  if (stat === undefined) {
    try {
      await Deno.mkdir(path, {
        recursive: true,
        ...check.mode === undefined ? {} : { mode: check.mode },
      });
    } catch (error) {
      return `cannot create it (${fsReason(error)})`;
    }
  }
  const files = check.files ?? [];
  for (const name of files) {
    try {
      (await Deno.open(join(path, name), { append: true, create: true })).close();
    } catch (error) {
      return `cannot write ${name} there (${fsReason(error)})`;
    }
  }
  if (files.length === 0) {
    try {
      await Deno.remove(await Deno.makeTempFile({ dir: path, prefix: ".switchboard-check-" }));
    } catch (error) {
      return `cannot write there (${fsReason(error)})`;
    }
  }
  return undefined;
}

/**
 * Why a file cannot be written at `path`, or `undefined` when it can: its folder must be
 * usable (see {@linkcode folderProblem}, created with `mode` when missing) and the path must not
 * be a folder, nor a file that cannot be written. The file itself is neither created nor changed.
 */
export async function fileProblem(path: string, mode?: number): Promise<string | undefined> {
  const dir = dirname(path);
  const folder = await folderProblem(dir, mode === undefined ? {} : { mode });
  if (folder !== undefined) return `cannot use its folder ${showPath(dir)}: ${folder}`;
  try {
    (await Deno.open(path, { write: true })).close();
  } catch (error) {
    if (error instanceof Deno.errors.IsADirectory) return "it is a folder, not a file";
    if (!(error instanceof Deno.errors.NotFound)) return `cannot write it (${fsReason(error)})`;
  }
  return undefined;
}
