/**
 * `server`: runs a Switchboard server until SIGINT, SIGTERM, `:shutdown` or the `shutdown`
 * program stops it. Exit codes: 0 after a graceful shutdown, 1 when the server cannot run
 * (port in use, address not local, permission denied), 2 for a usage or configuration error,
 * including a path setting that cannot be used (checked at start, before `listening on`) and a
 * TLS certificate or key that cannot be read or used. With `--tls-cert` it prints a second
 * line, `listening on <addr>:<port> (tls)`; with `--tls-only` only that one. SIGHUP (not on
 * Windows) reloads the configuration, as `:reload` does: the config file and the environment are
 * read again, the same flags still win, and the result is checked as at start.
 * `server accounts …` manages the accounts file instead (see `_server_accounts.ts`).
 * @module
 */

import process from "node:process";
import { resolve } from "node:path";
import { getLogger } from "@logtape/logtape";
import { createInterface } from "node:readline";
import {
  defaultTokenFile,
  generateToken,
  type TokenFile,
  writeTokenFile,
} from "../core/config/admin_token.ts";
import {
  ConfigError,
  loadServerConfig,
  PROGRAM_DEFAULTS,
  SERVER_USAGE,
  type ServerConfig,
  serverEnvironment,
  settingSource,
} from "../core/config/config_file.ts";
import { readAccountsFile } from "../core/config/accounts_file.ts";
import { SwitchboardError } from "../core/protocol/errors.ts";
import { configureLogging } from "../core/log/configure.ts";
import { DEFAULT_OPTIONS, resolveOptions, type ServerOptions } from "../core/config/options.ts";
import { fsReason } from "../core/config/path_checks.ts";
import { isPermissionError, runMain } from "../core/util/permissions.ts";
import { formatAddress } from "../core/protocol/grammar.ts";
import { type Server, startServer } from "../core/server/server.ts";
import { bindListeners } from "../core/server/listeners.ts";
import type { StreamListener } from "../core/net/stream.ts";
import { versionText } from "../core/protocol/version.ts";
import { EXIT } from "./_exit_codes.ts";
import { accountsMain } from "./_server_accounts.ts";
import { usageProblem } from "./_usage_problem.ts";
import { CONSOLE_PROMPT, humanReplies, startLines } from "./_server_console.ts";
import { pathMessage, serverPathProblem, tokenFileMessage } from "./_server_paths.ts";

/** The setting behind each certificate error of `bindListeners`. */
const TLS_SETTINGS: Record<string, "tlsCert" | "tlsKey" | undefined> = {
  "tls-cert": "tlsCert",
  "tls-key": "tlsKey",
};

async function main(args: string[]): Promise<number> {
  if (args[0] === "accounts") return await accountsMain(args.slice(1));
  let config;
  try {
    config = await loadServerConfig(args, serverEnvironment());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    usageProblem("server", error.message, SERVER_USAGE);
    return EXIT.usage;
  }
  if (config.help) {
    console.log(SERVER_USAGE);
    return EXIT.ok;
  }
  if (config.version) {
    console.log(versionText("server"));
    return EXIT.ok;
  }
  const problem = await serverPathProblem(config);
  if (problem !== undefined) {
    console.error(`server: ${problem}`);
    return EXIT.usage;
  }
  const options = withProgramDefaults(config.options);
  if (options.accounts !== undefined) {
    // Read here to refuse a bad file before listening; the server reads it again as it starts.
    try {
      await readAccountsFile(options.accounts);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      console.error(`server: ${error.message} (from ${settingSource(config, "accounts")})`);
      return EXIT.usage;
    }
  }
  const logDir = options.logDir ?? DEFAULT_OPTIONS.logDir;
  let logging: AsyncDisposable;
  try {
    logging = await configureLogging({
      logDir,
      logFormat: options.logFormat ?? "text",
      console: "auto",
      // Said once, on stdout, where scripts wait for it; the log files keep the record.
      consoleFilter: (record) => !String(record.rawMessage).startsWith("listening on"),
    });
  } catch (error) {
    // The folder passed its check a moment ago; something changed it since.
    console.error(`server: ${pathMessage(config, "logDir", logDir, fsReason(error))}`);
    return EXIT.usage;
  }
  await using _logging = logging;

  let listeners: StreamListener[];
  const host = options.host ?? DEFAULT_OPTIONS.host;
  try {
    listeners = await bindListeners(resolveOptions(options));
  } catch (error) {
    if (isPermissionError(error)) throw error;
    if (error instanceof SwitchboardError && TLS_SETTINGS[error.code] !== undefined) {
      const key = TLS_SETTINGS[error.code]!;
      console.error(`server: ${pathMessage(config, key, options[key] ?? "", error.message)}`);
      return EXIT.usage;
    }
    const why = error instanceof SwitchboardError
      ? error.message
      : `cannot listen on ${host}: ${fsReason(error)}`;
    console.error(`server: ${why}`);
    return EXIT.failure;
  }
  // A generated token goes to a 0600 file for the shutdown program, one per port so that
  // `shutdown --port` finds it on either; a configured one stays where the operator put it.
  // The files are written before anyone can connect, and before `listening on` tells a script
  // that `shutdown` will find them.
  const adminToken = options.adminToken ?? generateToken();
  const tokenFiles: TokenFile[] = [];
  if (options.adminToken === undefined) {
    const paths = options.tokenFile !== undefined
      ? [options.tokenFile]
      : listeners.filter((listener) => !("url" in listener)).map(({ addr }) =>
        defaultTokenFile(addr.port)
      );
    for (const path of paths) {
      try {
        tokenFiles.push(await writeTokenFile(path, adminToken));
      } catch (error) {
        for (const listener of listeners) listener.close();
        for (const written of tokenFiles) await written[Symbol.asyncDispose]();
        console.error(`server: ${tokenFileMessage(config, path, error)}`);
        return EXIT.usage;
      }
    }
  }
  await using _tokenFiles = {
    async [Symbol.asyncDispose]() {
      for (const file of tokenFiles) await file[Symbol.asyncDispose]();
    },
  };
  const reloadOptions = () => reloadConfig(args, config, adminToken);
  let server: Server;
  try {
    server = await startServer({ ...options, adminToken, reloadOptions }, listeners);
  } catch (error) {
    if (error instanceof SwitchboardError && error.code.startsWith("address-")) {
      // The monitoring listener (`--http`) could not bind.
      for (const listener of listeners) listener.close();
      console.error(`server: ${error.message}`);
      return EXIT.failure;
    }
    if (error instanceof SwitchboardError && error.code === "cluster") {
      for (const listener of listeners) listener.close();
      console.error(`server: ${error.message} (${settingSource(config, "cluster")})`);
      return EXIT.failure;
    }
    // The history file passed its check a moment ago; something changed it since.
    if (!(error instanceof SwitchboardError) || error.code !== "history") throw error;
    for (const listener of listeners) listener.close();
    const problem = (error.cause as { problem?: string } | undefined)?.problem ?? error.message;
    console.error(`server: ${pathMessage(config, "history", options.history ?? "", problem)}`);
    return EXIT.usage;
  }
  stopOnSignals(server);
  reloadOnHangup(server);
  const consoleOn = options.console ?? Deno.stdin.isTerminal();
  for (const listener of listeners) {
    const { addr, security } = listener;
    if ("url" in listener) {
      console.log(`web chat on ${listener.url}`);
      continue;
    }
    const suffix = security === undefined ? "" : ` (${security})`;
    console.log(`listening on ${formatAddress(addr.hostname, addr.port)}${suffix}`);
  }
  const http = server.httpAddr;
  if (http !== undefined) {
    console.log(`monitoring on ${http.scheme}://${formatAddress(http.hostname, http.port)}`);
  }
  const where = !consoleOn ? "off" : Deno.stdin.isTerminal() ? "terminal" : "stdin";
  const filesDir = options.filesDir ? resolve(options.filesDir) : "";
  const paths = tokenFiles.map((file) => resolve(file.path));
  for (const line of startLines({ tokenFiles: paths, filesDir, console: where })) console.log(line);
  const stopConsole = consoleOn ? startConsole(server, where === "terminal") : undefined;
  await server.finished;
  stopConsole?.();
  return EXIT.ok;
}

/**
 * SIGINT and SIGTERM start a graceful shutdown; repeats (deno task forwards Ctrl+C too) wait for
 * it. The listeners stay until the process exits: removed when the server finishes, a repeat
 * arriving in the last moments before exit would get the default action and exit code 130.
 */
function stopOnSignals(server: Server): void {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const stop = () => void server.shutdown({ reason: "server shutting down" });
  for (const signal of signals) Deno.addSignalListener(signal, stop);
}

/**
 * The options a reload applies: the config file and the environment read again with the same
 * command-line flags (which still win), checked as at start (values, combinations, paths; the
 * server checks the certificate and key by loading them). The admin token stays what it was
 * unless both the old and the new configuration set one: a generated token is in the token
 * files the `shutdown` program reads, so switching between generated and configured needs a
 * restart.
 * @throws {ConfigError} with the problem, as the start-up would print it.
 */
async function reloadConfig(
  args: string[],
  started: ServerConfig,
  adminToken: string,
): Promise<ServerOptions> {
  const config = await loadServerConfig(args, serverEnvironment());
  const problem = await serverPathProblem(config);
  if (problem !== undefined) throw new ConfigError(problem);
  const configured = config.options.adminToken;
  const startedConfigured = started.options.adminToken !== undefined;
  if ((configured !== undefined) !== startedConfigured) {
    getLogger(["switchboard", "server"]).warning(
      "reload: adminToken {change} needs a restart; the token in force stays",
      { change: startedConfigured ? "removed" : "set", setting: "adminToken" },
    );
  }
  const token = configured !== undefined && startedConfigured ? configured : adminToken;
  return { ...withProgramDefaults(config.options), adminToken: token };
}

/** `options` with the program's own defaults (the history file) where nothing was set. */
function withProgramDefaults(options: ServerOptions): ServerOptions {
  return { ...options, history: options.history ?? PROGRAM_DEFAULTS.history };
}

/** SIGHUP reloads the configuration (not on Windows, which has no SIGHUP). */
function reloadOnHangup(server: Server): void {
  if (Deno.build.os === "windows") return;
  // The server logs the outcome, a refused configuration included.
  Deno.addSignalListener("SIGHUP", () => void server.reload().catch(() => {}));
}

/**
 * Reads operator lines from stdin and shows the replies for a person (`_server_console.ts`), with
 * a prompt on a terminal; returns a function that stops reading.
 */
function startConsole(server: Server, prompt: boolean): () => void {
  const lines = createInterface({ input: process.stdin, terminal: false });
  const ask = () => {
    if (prompt) Deno.stdout.writeSync(new TextEncoder().encode(CONSOLE_PROMPT));
  };
  const show = (replies: string[]) => {
    for (const line of humanReplies(replies)) console.log(line);
  };
  lines.on("line", (line) => {
    show(server.console(line, (late) => show([late])));
    ask();
  });
  ask();
  return () => lines.close();
}

runMain("server", () => main(Deno.args));
