/**
 * The shared file area behind `:put`, `:get`, `:files` and `:rm`: files live flat in one folder
 * (`--files-dir`), their metadata (size, SHA-256, uploader, time) in a JSON index beside them,
 * `.switchboard-files.json`, rewritten atomically (temporary file, then rename) after every
 * change. A JSON index was chosen over `node:sqlite` because it needs no native module, an
 * operator can read and repair it with any editor, and the area is meant for tens to thousands
 * of files, not millions.
 *
 * An upload streams into a hidden temporary file in the same folder while its SHA-256 is computed,
 * and is renamed into place only once the hash matches, so a reader never sees a partial file and
 * a broken upload leaves nothing behind. Names the server uses for itself start with a dot, which
 * client names may not (the rules are in `file_names.ts`).
 * @module
 */

import { join } from "node:path";
import type { Logger } from "@logtape/logtape";
import { fileKey, fileNameProblem } from "../../protocol/file_names.ts";
import { hashFile, HashingFile, removeQuietly } from "../../util/hashing_file.ts";

/** One file of the shared area, as `:files` lists it. */
export interface FileInfo {
  /**
   * Name as the uploader spelled it, in Unicode NFC (a file an operator copied in keeps the name
   * it has on disk); unique without regard to case or normalisation.
   */
  name: string;
  /** Size in bytes. */
  size: number;
  /** SHA-256 of the content, 64 lower-case hex digits. */
  sha256: string;
  /** Name of the client that uploaded it, or `-` for a file an operator put in the folder. */
  uploader: string;
  /** When it was stored, ISO 8601 in UTC. */
  time: string;
}

/** The index file inside the area. */
export const INDEX_FILE = ".switchboard-files.json";
/** Prefix of an upload in progress (in the area) and of a spooled `:send` upload. */
export const TEMP_PREFIX = ".upload-";

/** A refusal: the `ERR` code and its text. */
export interface Refusal {
  code: "file-exists" | "too-large" | "area-full";
  text: string;
}

/** A name and size held for an upload in progress; see {@linkcode FileArea.reserve}. */
export interface Reservation {
  readonly name: string;
  readonly size: number;
  readonly uploader: string;
}

/**
 * The shared area: an in-memory index of the folder, kept in step with the JSON index file.
 * Get one with {@linkcode FileArea.open}; all methods assume names already passed
 * {@linkcode fileNameProblem}.
 */
export class FileArea {
  /** The folder. */
  readonly dir: string;
  readonly #log: Logger;
  readonly #files = new Map<string, FileInfo>();
  readonly #reserved = new Map<string, Reservation>();
  #storedBytes = 0;
  #reservedBytes = 0;
  #saving: Promise<void> = Promise.resolve();

  private constructor(dir: string, log: Logger) {
    this.dir = dir;
    this.#log = log;
  }

  /**
   * Opens (creating it if needed) the area in `dir`: reads the index, drops entries whose file
   * is gone, adds files an operator copied in (uploader `-`, hash computed once), and removes
   * temporary files left by a crash.
   */
  static async open(dir: string, log: Logger): Promise<FileArea> {
    await Deno.mkdir(dir, { recursive: true });
    const area = new FileArea(dir, log);
    const known = await area.#readIndex();
    let changed = false;
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith(TEMP_PREFIX)) {
        await removeQuietly(join(dir, entry.name));
        continue;
      }
      if (!entry.isFile || fileNameProblem(entry.name) !== undefined) continue;
      const key = fileKey(entry.name);
      if (area.#files.has(key)) {
        log.warning("shared area: {file} differs from another file only in case; ignored", {
          file: entry.name,
        });
        continue;
      }
      const path = join(dir, entry.name);
      const stat = await Deno.stat(path);
      let info = known.get(entry.name);
      if (info === undefined || info.size !== stat.size) {
        info = {
          name: entry.name,
          size: stat.size,
          sha256: await hashFile(path),
          uploader: "-",
          time: (stat.mtime ?? new Date()).toISOString(),
        };
        changed = true;
      }
      area.#add(info);
    }
    if (changed || known.size !== area.#files.size) await area.#save();
    return area;
  }

  /** Every file, by name. */
  list(): FileInfo[] {
    return [...this.#files.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }

  /** The file with this name (any case). */
  find(name: string): FileInfo | undefined {
    return this.#files.get(fileKey(name));
  }

  /** Bytes stored plus bytes held for uploads in progress. */
  get usedBytes(): number {
    return this.#storedBytes + this.#reservedBytes;
  }

  /** A new temporary upload file in the area (same file system, so the final rename is atomic). */
  createUpload(): Promise<HashingFile> {
    return HashingFile.create(this.dir, TEMP_PREFIX);
  }

  /** Path of a stored file. */
  pathOf(info: FileInfo): string {
    return join(this.dir, info.name);
  }

  /**
   * Holds `name` and `size` bytes for an upload, or says why not: the name exists (or is being
   * uploaded), the file passes `fileQuota`, or the area would pass `areaQuota` (0 = no limit).
   */
  reserve(
    name: string,
    size: number,
    uploader: string,
    quotas: { fileQuota: number; areaQuota: number },
  ): Reservation | Refusal {
    const key = fileKey(name);
    const existing = this.#files.get(key) ?? this.#reserved.get(key);
    if (existing !== undefined) {
      return {
        code: "file-exists",
        text: this.#files.has(key)
          ? `${existing.name} exists; :rm it first`
          : `${existing.name} is being uploaded`,
      };
    }
    if (quotas.fileQuota > 0 && size > quotas.fileQuota) {
      return { code: "too-large", text: `files are limited to ${quotas.fileQuota} bytes` };
    }
    if (quotas.areaQuota > 0 && this.usedBytes + size > quotas.areaQuota) {
      const free = Math.max(0, quotas.areaQuota - this.usedBytes);
      return {
        code: "area-full",
        text: `the shared area has ${free} of ${quotas.areaQuota} bytes free`,
      };
    }
    const reservation: Reservation = { name, size, uploader };
    this.#reserved.set(key, reservation);
    this.#reservedBytes += size;
    return reservation;
  }

  /** Gives up a reservation (the upload failed or was refused). */
  release(reservation: Reservation): void {
    const key = fileKey(reservation.name);
    if (this.#reserved.get(key) !== reservation) return;
    this.#reserved.delete(key);
    this.#reservedBytes -= reservation.size;
  }

  /** Moves a verified upload into place under its reserved name and records it. */
  async commit(reservation: Reservation, tempPath: string, sha256: string): Promise<FileInfo> {
    const info: FileInfo = {
      name: reservation.name,
      size: reservation.size,
      sha256,
      uploader: reservation.uploader,
      time: new Date().toISOString(),
    };
    try {
      await Deno.rename(tempPath, join(this.dir, info.name));
    } finally {
      this.release(reservation);
    }
    this.#add(info);
    await this.#save();
    return info;
  }

  /** Deletes a file and its index entry. */
  async remove(info: FileInfo): Promise<void> {
    const key = fileKey(info.name);
    if (this.#files.get(key) !== info) return;
    this.#files.delete(key);
    this.#storedBytes -= info.size;
    await removeQuietly(this.pathOf(info));
    await this.#save();
  }

  #add(info: FileInfo): void {
    this.#files.set(fileKey(info.name), info);
    this.#storedBytes += info.size;
  }

  async #readIndex(): Promise<Map<string, FileInfo>> {
    const known = new Map<string, FileInfo>();
    let text: string;
    try {
      text = await Deno.readTextFile(join(this.dir, INDEX_FILE));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return known;
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as { files?: unknown };
      for (const entry of Array.isArray(parsed.files) ? parsed.files : []) {
        if (isFileInfo(entry)) known.set(entry.name, entry);
      }
    } catch {
      this.#log.warning("shared area: {file} is not valid JSON; rebuilding it", {
        file: join(this.dir, INDEX_FILE),
      });
    }
    return known;
  }

  /** Writes the index; writes are chained so they never interleave. */
  #save(): Promise<void> {
    const run = async () => {
      const path = join(this.dir, INDEX_FILE);
      const temp = `${path}.${crypto.randomUUID()}.tmp`;
      const text = JSON.stringify({ version: 1, files: this.list() }, null, 2) + "\n";
      try {
        await Deno.writeTextFile(temp, text);
        await Deno.rename(temp, path);
      } catch (error) {
        await removeQuietly(temp).catch(() => {});
        this.#log.error("shared area: cannot write {file}: {error}", {
          file: path,
          error: String(error),
        });
      }
    };
    this.#saving = this.#saving.then(run, run);
    return this.#saving;
  }
}

function isFileInfo(value: unknown): value is FileInfo {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === "string" && fileNameProblem(v.name) === undefined &&
    typeof v.size === "number" && Number.isSafeInteger(v.size) && v.size >= 0 &&
    typeof v.sha256 === "string" && /^[0-9a-f]{64}$/.test(v.sha256) &&
    typeof v.uploader === "string" && typeof v.time === "string";
}
