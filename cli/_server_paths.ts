/**
 * The `server` program's start-up checks of its path settings (`--log-dir`, `--files-dir`,
 * `--spool-dir`, `--token-file`, the cluster's credential and TLS files): each is checked before the server binds its port, so a bad
 * path stops the program at once with one line naming the setting and where it was set, rather
 * than with a stack trace, after `listening on`, or at the first `:put`.
 * @module
 */

import { dirname } from "node:path";
import { defaultTokenFile } from "../core/config/admin_token.ts";
import { PROGRAM_DEFAULTS, type ServerConfig, settingSource } from "../core/config/config_file.ts";
import { DEFAULT_OPTIONS } from "../core/config/options.ts";
import { fileProblem, folderProblem, fsReason, showPath } from "../core/config/path_checks.ts";
import { clusterFileProblem } from "../core/cluster/nats_auth.ts";
import { HistoryFileError, HistoryStore } from "../core/server/history/store.ts";

/** Mode of the folder of a generated token file: the token is a secret. */
export const TOKEN_FOLDER_MODE = 0o700;

/** One check: the setting, the path shown, and the check, which returns the problem if any. */
type PathCheck = [key: string, path: string, check: () => Promise<string | undefined>];

/** The cluster's credential and TLS files (read, never written), and what each must hold. */
const CLUSTER_FILES = [
  ["clusterCreds", "creds"],
  ["clusterNkey", "nkey"],
  ["clusterTlsCa", "pem"],
  ["clusterTlsCert", "pem"],
  ["clusterTlsKey", "pem"],
] as const;

/** The files the server appends to in its log folder. */
const LOG_FILES = ["server.log", "errors.log"];

/**
 * The line (without the `server: ` prefix) for path setting `key` set to `path` that cannot be
 * used: `--log-dir /proc/x: cannot write server.log there (permission denied)`. A default value
 * is marked as such.
 */
export function pathMessage(
  config: ServerConfig,
  key: string,
  path: string,
  problem: string,
): string {
  const byDefault = config.sources[key] === undefined ? " (the default)" : "";
  return `${settingSource(config, key)} ${showPath(path)}${byDefault}: ${problem}`;
}

/** The line for a token file that could not be written after the port was bound. */
export function tokenFileMessage(config: ServerConfig, path: string, error: unknown): string {
  return pathMessage(config, "tokenFile", path, `cannot write it (${fsReason(error)})`);
}

/**
 * Checks every path setting of `config` the way the server will use it, creating missing
 * folders as the server would; returns the line for the first that cannot be used, or
 * `undefined`. The token file's name may depend on the port, which is not bound yet: its folder
 * is checked here, the file itself is written once the port is known.
 */
export async function serverPathProblem(config: ServerConfig): Promise<string | undefined> {
  const options = config.options;
  const checks: PathCheck[] = [];
  const logDir = options.logDir ?? DEFAULT_OPTIONS.logDir;
  if (logDir !== "") {
    checks.push(["logDir", logDir, () => folderProblem(logDir, { files: LOG_FILES })]);
  }
  for (const key of ["filesDir", "spoolDir"] as const) {
    const dir = options[key] ?? DEFAULT_OPTIONS[key];
    if (dir !== "") checks.push([key, dir, () => folderProblem(dir)]);
  }
  const history = options.history ?? PROGRAM_DEFAULTS.history;
  if (history !== "") checks.push(["history", history, () => historyProblem(history)]);
  for (const [key, kind] of CLUSTER_FILES) {
    const path = options[key];
    if (path) checks.push([key, path, () => clusterFileProblem(kind, path)]);
  }
  if (options.adminToken === undefined) {
    checks.push(tokenFileCheck(options.tokenFile, options.port ?? DEFAULT_OPTIONS.port));
  }
  for (const [key, path, check] of checks) {
    const problem = await check();
    if (problem !== undefined) return pathMessage(config, key, path, problem);
  }
  return undefined;
}

/**
 * The check of the token file: the file when its name is known, else (the default name with
 * port 0, picked when binding) its folder.
 */
function tokenFileCheck(
  configured: string | undefined,
  port: number,
): PathCheck {
  const path = configured ?? defaultTokenFile(port);
  if (configured !== undefined || port !== 0) {
    return ["tokenFile", path, () => fileProblem(path, TOKEN_FOLDER_MODE)];
  }
  const dir = dirname(path);
  const shown = path.replace(/-0\.token$/, "-<port>.token");
  return ["tokenFile", shown, async () => {
    const problem = await folderProblem(dir, { mode: TOKEN_FOLDER_MODE });
    return problem && `cannot use its folder ${showPath(dir)}: ${problem}`;
  }];
}

/** Why `path` cannot hold the history (opened, created when missing, and closed), if it cannot. */
function historyProblem(path: string): Promise<string | undefined> {
  try {
    HistoryStore.open(path).close();
    return Promise.resolve(undefined);
  } catch (error) {
    if (!(error instanceof HistoryFileError)) throw error;
    return Promise.resolve(error.problem);
  }
}
