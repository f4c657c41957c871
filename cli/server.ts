/**
 * `server`: runs a Switchboard server until SIGINT, SIGTERM, `:shutdown` or the `shutdown`
 * program stops it. Exit codes: 0 after a graceful shutdown, 1 when the server cannot run
 * (port in use, address not local, permission denied), 2 for a usage or configuration error.
 * @module
 */

import process from "node:process";
import { createInterface } from "node:readline";
import {
  defaultTokenFile,
  generateToken,
  type TokenFile,
  writeTokenFile,
} from "../core/admin_token.ts";
import { ConfigError, loadServerConfig, SERVER_USAGE, serverEnvironment } from "../core/config.ts";
import { SwitchboardError } from "../core/errors.ts";
import { configureLogging } from "../core/log.ts";
import { formatAddress } from "../core/protocol.ts";
import { type Server, startServer } from "../core/server.ts";
import { versionText } from "../core/version.ts";
import { runMain } from "../core/permissions.ts";

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

async function main(args: string[]): Promise<number> {
  let config;
  try {
    config = await loadServerConfig(args, serverEnvironment());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`server: ${error.message}`);
    console.error("Run `server --help` for usage.");
    return EXIT_USAGE;
  }
  if (config.help) {
    console.log(SERVER_USAGE);
    return EXIT_OK;
  }
  if (config.version) {
    console.log(versionText("server"));
    return EXIT_OK;
  }
  const options = config.options;
  await using _logging = await configureLogging({
    logDir: options.logDir ?? "logs",
    logFormat: options.logFormat ?? "text",
    console: "auto",
  });
  const adminToken = options.adminToken ?? generateToken();
  let server: Server;
  try {
    server = await startServer({ ...options, adminToken });
  } catch (error) {
    if (!(error instanceof SwitchboardError)) throw error;
    console.error(`server: ${error.message}`);
    return EXIT_FAILURE;
  }
  // A generated token goes to a 0600 file for the shutdown program; a configured one stays
  // where the operator put it.
  await using _tokenFile: TokenFile | undefined = options.adminToken === undefined
    ? await writeTokenFile(options.tokenFile ?? defaultTokenFile(server.addr.port), adminToken)
    : undefined;
  stopOnSignals(server);
  const stopConsole = (options.console ?? Deno.stdin.isTerminal())
    ? startConsole(server)
    : undefined;
  console.log(`listening on ${formatAddress(server.addr.hostname, server.addr.port)}`);
  await server.finished;
  stopConsole?.();
  return EXIT_OK;
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

/** Reads operator lines from stdin; returns a function that stops reading. */
function startConsole(server: Server): () => void {
  const lines = createInterface({ input: process.stdin, terminal: false });
  lines.on("line", (line) => {
    for (const reply of server.console(line)) console.log(reply);
  });
  return () => lines.close();
}

runMain("server", () => main(Deno.args));
