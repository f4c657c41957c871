/**
 * `shutdown`: asks a running server to shut down gracefully and waits until its port is closed.
 * Usage and exit codes are in {@linkcode USAGE}.
 * @module
 */

import { CONNECT_OPTIONS, defaultPort } from "./_connect_options.ts";
import { type ByteStream, writeAll } from "../core/net/stream.ts";
import { dialTcp } from "../core/net/tcp.ts";
import { classifyTlsError, dialTls } from "../core/net/tls.ts";
import { sleep } from "../core/util/time.ts";
import { parseArgs } from "node:util";
import { defaultTokenFile, readTokenFile } from "../core/config/admin_token.ts";
import { LineReader } from "../core/protocol/line_reader.ts";
import { formatAddress } from "../core/protocol/grammar.ts";
import { versionText } from "../core/protocol/version.ts";
import { runMain } from "../core/util/permissions.ts";
import { EXIT } from "./_exit_codes.ts";
import { flagsIn, usageProblem } from "./_usage_problem.ts";
import { flagProblem } from "../core/util/flag_problem.ts";
import { readTlsCa } from "./_tls_ca.ts";

const USAGE = `Usage: shutdown [host] [port] [options]

Asks the Switchboard server at host:port (default 127.0.0.1 12345) to shut down gracefully:
it stops accepting, delivers what it has read, tells every client, and closes. Exits once the
server has confirmed and its port is closed.

Options:
  --host HOST         server address (default 127.0.0.1)
  --port PORT         server port (default 12345, or 12346 with --tls)
  --tls               connect with TLS (to the server's --tls-port); the certificate and its
                      name are always checked
  --tls-ca FILE       also trust this PEM CA certificate, besides the system's store
  --token TOKEN       admin token (visible to other users in the process list; prefer a file)
  --token-file FILE   file holding the token (default .switchboard/admin-<port>.token, which a
                      server started in this directory writes)
  --grace SECONDS     how long the server may take to deliver queued messages (default: its own)
  --reason TEXT       told to every client in BYE shutdown
  --timeout SECONDS   how long to wait for the server at each step (default 10)
  -h, --help          this text
  -V, --version       version, commit and Deno version

The token is taken from --token, then --token-file, then SWITCHBOARD_ADMIN_TOKEN, then the
default token file.

Exit codes:
  0  the server confirmed and its port is closed
  2  usage error, or no token found
  3  no server is listening there (connection refused)
  4  the host is unreachable
  5  the server did not answer in time
  9  the server refused: wrong token
  12 TLS failed (unknown authority, name mismatch, expired, or the server does not speak TLS)
  1  anything else`;

interface Plan {
  hostname: string;
  port: number;
  tls: boolean;
  tlsCa: string | undefined;
  token: string | undefined;
  tokenFile: string | undefined;
  grace: number | undefined;
  reason: string | undefined;
  timeoutMs: number;
}

class UsageError extends Error {
  override name = "UsageError";
}

function plan(args: string[]): Plan | "help" | "version" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        ...CONNECT_OPTIONS,
        token: { type: "string" },
        "token-file": { type: "string" },
        grace: { type: "string" },
        reason: { type: "string" },
        timeout: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
    });
  } catch (error) {
    throw new UsageError(flagProblem((error as Error).message, flagsIn(USAGE)));
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  if (values.version) return "version";
  if (positionals.length > 2) throw new UsageError(`unexpected argument "${positionals[2]}"`);
  const hostname = values.host ?? positionals[0] ?? "127.0.0.1";
  const tls = values.tls ?? false;
  if (values["tls-ca"] !== undefined && !tls) throw new UsageError("--tls-ca needs --tls");
  const port = number("port", values.port ?? positionals[1] ?? defaultPort(tls), {
    integer: true,
    max: 65535,
  });
  if (port === 0) throw new UsageError("port must be between 1 and 65535");
  return {
    hostname,
    port,
    tls,
    tlsCa: values["tls-ca"],
    token: values.token,
    tokenFile: values["token-file"],
    grace: values.grace === undefined ? undefined : number("grace", values.grace, {}),
    reason: values.reason,
    timeoutMs: number("timeout", values.timeout ?? "10", {}) * 1000,
  };
}

function number(name: string, text: string, rules: { integer?: boolean; max?: number }): number {
  const value = Number(text);
  if (
    text.trim() === "" || !Number.isFinite(value) || value < 0 ||
    (rules.integer && !Number.isInteger(value)) || (rules.max !== undefined && value > rules.max)
  ) {
    throw new UsageError(
      `--${name} must be a ${rules.integer ? "whole " : ""}number${
        rules.max ? ` up to ${rules.max}` : ""
      }, got "${text}"`,
    );
  }
  return value;
}

async function findToken(p: Plan): Promise<string> {
  if (p.token !== undefined) return p.token;
  const envToken = Deno.env.get("SWITCHBOARD_ADMIN_TOKEN");
  const file = p.tokenFile ?? (envToken ? undefined : defaultTokenFile(p.port));
  if (file === undefined) return envToken as string;
  try {
    return await readTokenFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(
        `no admin token: ${file} does not exist (start the server from this directory, or pass --token-file or --token)`,
      );
    }
    throw error;
  }
}

async function main(args: string[]): Promise<number> {
  let p: Plan | "help" | "version";
  try {
    p = plan(args);
  } catch (error) {
    usageProblem("shutdown", (error as Error).message, USAGE);
    return EXIT.usage;
  }
  if (p === "help") return console.log(USAGE), EXIT.ok;
  if (p === "version") return console.log(versionText("shutdown")), EXIT.ok;
  const where = formatAddress(p.hostname, p.port);
  const ca = p.tlsCa === undefined ? undefined : await readTlsCa(p.tlsCa);
  if (ca !== undefined && "problem" in ca) {
    console.error(`shutdown: ${ca.problem}`);
    return EXIT.usage;
  }
  let conn: ByteStream;
  try {
    const signal = AbortSignal.timeout(p.timeoutMs);
    conn = p.tls
      ? await dialTls(p.hostname, p.port, signal, ca === undefined ? {} : { caCerts: [ca.pem] })
      : await dialTcp(p.hostname, p.port, signal);
  } catch (error) {
    return reportConnectError(error, where);
  }
  try {
    const token = await findToken(p);
    const reader = new LineReader(conn);
    const send = (line: string) => writeAll(conn, new TextEncoder().encode(line + "\n"));
    const hello = await reader.next(p.timeoutMs);
    if (hello === null || !hello.startsWith("HELLO ")) {
      console.error(
        `shutdown: ${where} did not greet like a Switchboard server: ${hello ?? "(closed)"}`,
      );
      return EXIT.failure;
    }
    await send(`:auth ${token}`);
    const auth = await replyOf(reader, p.timeoutMs);
    if (!auth.startsWith("OK auth")) {
      console.error(`shutdown: the server refused the token (${auth.replace(/^ERR \S+ :/, "")})`);
      return EXIT.notAllowed;
    }
    const grace = p.grace === undefined ? "" : ` ${p.grace}`;
    const reason = p.reason === undefined ? "" : ` ${p.reason}`;
    await send(`:shutdown${grace}${reason}`);
    const confirmed = await replyOf(reader, p.timeoutMs);
    if (!confirmed.startsWith("OK shutdown")) {
      console.error(`shutdown: the server did not accept the request: ${confirmed}`);
      return EXIT.failure;
    }
    // The server says BYE and closes our connection once it has drained; then the port closes
    // (checked over TCP for a TLS port too: only whether something listens matters).
    while ((await reader.next(p.timeoutMs + (p.grace ?? 30) * 1000)) !== null) { /* drain */ }
    await waitUntilClosed(p.hostname, p.port, p.timeoutMs + (p.grace ?? 30) * 1000);
    console.log(`shutdown: the server at ${where} has shut down`);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`shutdown: ${error.message}`);
      return EXIT.usage;
    }
    if ((error as { code?: string }).code === "timeout") {
      console.error(`shutdown: the server at ${where} did not answer in time`);
      return EXIT.timeout;
    }
    throw error;
  } finally {
    try {
      conn.close();
    } catch {
      // Closed by the server.
    }
  }
}

async function replyOf(reader: LineReader, timeoutMs: number): Promise<string> {
  for (;;) {
    const line = await reader.next(timeoutMs);
    if (line === null) return "ERR closed :the server closed the connection";
    if (line.startsWith("OK ") || line.startsWith("ERR ")) return line;
  }
}

async function waitUntilClosed(hostname: string, port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      (await dialTcp(hostname, port, AbortSignal.timeout(ms))).close();
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionRefused) return;
      // A connection the kernel queued as the listener was closing is reset: the port is going
      // away, not gone yet; the next try tells.
      if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
    }
    await sleep(50);
  }
  throw Object.assign(new Error("port still open"), { code: "timeout" });
}

function reportConnectError(error: unknown, where: string): number {
  const tls = classifyTlsError(error);
  if (tls !== undefined) {
    console.error(`shutdown: cannot connect to ${where}: ${tls.why}`);
    return EXIT.tls;
  }
  if (error instanceof Deno.errors.ConnectionRefused) {
    console.error(`shutdown: no server is listening on ${where} (connection refused)`);
    return EXIT.refused;
  }
  if (
    error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError")
  ) {
    console.error(`shutdown: ${where} did not answer in time (connection timed out)`);
    return EXIT.timeout;
  }
  if (
    error instanceof Deno.errors.NetworkUnreachable ||
    error instanceof Deno.errors.AddrNotAvailable || error instanceof Deno.errors.NotFound
  ) {
    console.error(`shutdown: cannot reach ${where} (${(error as Error).message})`);
    return EXIT.unreachable;
  }
  console.error(`shutdown: cannot connect to ${where} (${(error as Error).message})`);
  return EXIT.failure;
}

runMain("shutdown", () => main(Deno.args));
