/**
 * The `client` program's command line: usage text, flags (via `node:util` `parseArgs`) and their
 * validation into a {@linkcode ClientPlan}. Private to `cli/`.
 * @module
 */

import { CONNECT_OPTIONS, defaultPort } from "./_connect_options.ts";
import { parseArgs } from "node:util";
import { flagProblem } from "../core/util/flag_problem.ts";
import { flagsIn } from "./_usage_problem.ts";

/** The `--help` text. */
export const CLIENT_USAGE = `Usage: client [host] [port] [options]

Chat on a Switchboard server (default 127.0.0.1 12345) from a terminal, or from a script.

Options:
  --host HOST                  server address (default 127.0.0.1)
  --port PORT                  server port (default 12345)
  --tls                        connect with TLS (the server's --tls-port, default 12346);
                               its certificate and name are always checked
  --tls-ca FILE                also trust this PEM CA certificate (a private CA), besides
                               the system's store; needs --tls
  --fallback HOST:PORT,…       other nodes of the same cluster, tried in turn when the server
                               cannot be reached; the session resumes there with nothing lost
  -n, --name NAME              your name; asked for on a terminal when missing, and when piping
                               input the first line is the name
  --login                      log in to the account --name (a server with accounts): the
                               password comes from SWITCHBOARD_PASSWORD, or is asked without
                               echo on a terminal; never from a flag. Reconnects log in again
  -s, --send TEXT              send TEXT (a message or a :command) and exit once the server has
                               handled it; repeat to send several lines in order
  --json                       print every event from the server as one JSON object per line
                               (type, from, target, text, time, …); notices go to stderr
  --listen                     only listen: print what arrives until interrupted (Ctrl+C or
                               SIGTERM, exit 0); stdin is not read; needs --name
  --no-time                    lines do not start with the time (HH:MM:SS)
  --no-color                   plain text (the NO_COLOR environment variable works too)
  --no-bell                    no terminal bell when someone says your name or writes to you
  --log-file FILE              also append everything shown, with full timestamps, to FILE
  --downloads DIR              where :get and accepted files are saved (default ./downloads,
                               created when first needed); existing files are never overwritten
  --accept-files               accept every file offered (:send) to you, without asking
  --decline-files              decline every file offered to you. Without either flag the
                               client asks on a terminal and declines otherwise
  --connect-timeout SECONDS    per connection attempt (default 5)
  --reconnect-interval SECONDS between reconnect attempts after a drop (default 5)
  --reconnect-timeout SECONDS  give up reconnecting after this long; 0 never reconnects
                               (default 120)
  --queue-limit LINES          lines kept while disconnected, sent after reconnecting
                               (default 100)
  --stale-timeout SECONDS      reconnect when the server sent nothing for this long; 0 is off
                               (default 90)
  -h, --help                   this text
  -V, --version                version, commit, protocol and Deno version

Typed lines are sent as they are: plain text goes to everyone, :pm, :group, :list, :name and the
other server commands work as in the protocol (see :help). The client adds :status, :wait,
:sleep SECONDS and :help for itself, and handles files: :put PATH [NAME], :get NAME [DEST],
:send USER|#GROUP PATH, :accept ID (with a progress bar on a terminal and a summary line).
:files, :rm, :decline, :run and :commands go to the server as typed. exit, :quit, Ctrl+D or
Ctrl+C twice leave (once, it clears the line). Every command also works with / (/quit, /msg,
/join, /part, /nick, /me, …); a line starting with one / is never sent as a message, and //text
sends /text.

Without a terminal, input lines are handled in order; at the end of input the client waits for
every transfer and every answer, then quits. Messages are acknowledged (:ack on): a message the
server refused (NACK) or never confirmed makes the exit code 1. A dropped connection is retried
(lines typed meanwhile are queued); being kicked is not.

Exit codes:
  0  done            1  failure (a command, transfer or message failed; connection lost)
  2  usage
  3  connection refused   4  host unreachable   5  timed out   6  access denied
  7  server full     8  name refused (no terminal to ask again)   9  not allowed
  10 kicked          11 disconnected by the server (idle, shutdown, …)
  12 TLS failed (unknown authority, name mismatch, expired, or the server does not speak TLS)
  13 login refused (wrong name or password, too many attempts, TLS required, server busy)`;

/** What the user asked for. Durations in seconds. */
export interface ClientPlan {
  /** Server host. */
  hostname: string;
  /** Server port. */
  port: number;
  /** `--tls`. */
  tls: boolean;
  /** `--tls-ca`, if given. */
  tlsCa: string | undefined;
  /** `--fallback`: servers to try in turn when the server cannot be reached. */
  fallbacks: { hostname: string; port: number }[];
  /** `--name`, if given. */
  name: string | undefined;
  /** `--login`: log in to the account `name` with a password (`SWITCHBOARD_PASSWORD` or asked). */
  login: boolean;
  /** `--send` lines, in order (empty: read stdin or the terminal). */
  send: string[];
  /** `--json`. */
  json: boolean;
  /** `--listen`: print what arrives until SIGINT or SIGTERM; no input. */
  listen: boolean;
  /** False with `--no-time`: shown lines do not start with the time. */
  time: boolean;
  /** False with `--no-color`. */
  color: boolean;
  /** False with `--no-bell`: a mention or a private message rings no bell. */
  bell: boolean;
  /** `--log-file`, if given. */
  logFile: string | undefined;
  /** `--connect-timeout`. */
  connectTimeout: number;
  /** `--reconnect-interval`. */
  reconnectInterval: number;
  /** `--reconnect-timeout`. */
  reconnectTimeout: number;
  /** `--queue-limit`. */
  queueLimit: number;
  /** `--stale-timeout`. */
  staleTimeout: number;
  /** `--downloads`. */
  downloads: string;
  /**
   * What to do with a file offered to this client: `accept` (`--accept-files`), `decline`
   * (`--decline-files`), or `ask` — ask on a terminal, decline without one.
   */
  offers: "ask" | "accept" | "decline";
}

/** A flag or argument the program cannot use; reported with exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Parses the command line. Returns `"help"` or `"version"` when asked for those.
 * @throws {UsageError} for an unknown flag, a missing value or a bad number.
 */
export function parseClientArgs(args: string[]): ClientPlan | "help" | "version" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      allowNegative: true,
      strict: true,
      options: {
        ...CONNECT_OPTIONS,
        name: { type: "string", short: "n" },
        fallback: { type: "string", multiple: true },
        login: { type: "boolean" },
        send: { type: "string", short: "s", multiple: true },
        json: { type: "boolean" },
        listen: { type: "boolean" },
        time: { type: "boolean" },
        color: { type: "boolean" },
        bell: { type: "boolean" },
        "log-file": { type: "string" },
        "connect-timeout": { type: "string" },
        "reconnect-interval": { type: "string" },
        "reconnect-timeout": { type: "string" },
        "queue-limit": { type: "string" },
        "stale-timeout": { type: "string" },
        downloads: { type: "string" },
        "accept-files": { type: "boolean" },
        "decline-files": { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
    });
  } catch (error) {
    throw new UsageError(flagProblem((error as Error).message, flagsIn(CLIENT_USAGE)));
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  if (values.version) return "version";
  if (positionals.length > 2) throw new UsageError(`unexpected argument "${positionals[2]}"`);
  if (values.host !== undefined && positionals.length > 0) {
    throw new UsageError("give the host either as an argument or with --host, not both");
  }
  if (values.port !== undefined && positionals.length > 1) {
    throw new UsageError("give the port either as an argument or with --port, not both");
  }
  const hostname = values.host ?? positionals[0] ?? "127.0.0.1";
  if (hostname === "") throw new UsageError("the host cannot be empty");
  const tls = values.tls ?? false;
  const tlsCa = values["tls-ca"];
  if (tlsCa !== undefined && !tls) throw new UsageError("--tls-ca needs --tls");
  if (tlsCa !== undefined && tlsCa.trim() === "") throw new UsageError("--tls-ca cannot be empty");
  const port = number("port", values.port ?? positionals[1] ?? defaultPort(tls), {
    integer: true,
    min: 1,
    max: 65535,
  });
  const name = values.name;
  if (name !== undefined && name.trim() === "") throw new UsageError("--name cannot be empty");
  const login = values.login ?? false;
  if (login && name === undefined) {
    throw new UsageError("--login needs --name (the account to log in to)");
  }
  const send = values.send ?? [];
  const listen = values.listen ?? false;
  if (listen && send.length > 0) throw new UsageError("--listen and --send exclude each other");
  if (listen && name === undefined) throw new UsageError("--listen needs --name");
  for (const line of send) {
    if (/[\r\n]/.test(line)) {
      throw new UsageError("a --send line cannot contain a line break; repeat --send");
    }
  }
  if (values["accept-files"] && values["decline-files"]) {
    throw new UsageError("--accept-files and --decline-files exclude each other");
  }
  const downloads = values.downloads ?? "downloads";
  if (downloads.trim() === "") throw new UsageError("--downloads cannot be empty");
  return {
    hostname: hostname.replace(/^\[(.*)\]$/, "$1"),
    port,
    tls,
    tlsCa,
    fallbacks: (values.fallback ?? []).flatMap((list) => list.split(",")).map(fallbackAddress),
    name: name?.trim(),
    login,
    send,
    json: values.json ?? false,
    listen,
    time: values.time ?? true,
    color: values.color ?? true,
    bell: values.bell ?? true,
    logFile: values["log-file"],
    connectTimeout: number("connect-timeout", values["connect-timeout"] ?? "5", { min: 0.001 }),
    reconnectInterval: number("reconnect-interval", values["reconnect-interval"] ?? "5", {
      min: 0,
    }),
    reconnectTimeout: number("reconnect-timeout", values["reconnect-timeout"] ?? "120", { min: 0 }),
    queueLimit: number("queue-limit", values["queue-limit"] ?? "100", { integer: true, min: 0 }),
    staleTimeout: number("stale-timeout", values["stale-timeout"] ?? "90", { min: 0 }),
    downloads,
    offers: values["accept-files"] ? "accept" : values["decline-files"] ? "decline" : "ask",
  };
}

/** One `--fallback` address: `host:port`, an IPv6 address in brackets. */
function fallbackAddress(text: string): { hostname: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:\[\]\s]+):([0-9]{1,5})$/.exec(text.trim());
  const port = Number(match?.[2]);
  if (match === null || port < 1 || port > 65535) {
    throw new UsageError(`--fallback takes host:port addresses, not "${text}"`);
  }
  return { hostname: match[1]!.replace(/^\[(.*)\]$/, "$1"), port };
}

function number(
  flag: string,
  text: string,
  rules: { integer?: boolean; min: number; max?: number },
): number {
  const value = Number(text);
  const valid = text.trim() !== "" && Number.isFinite(value) && value >= rules.min &&
    (rules.max === undefined || value <= rules.max) && (!rules.integer || Number.isInteger(value));
  if (!valid) {
    const kind = rules.integer ? "a whole number" : "a number";
    const range = rules.max === undefined
      ? `at least ${rules.min}`
      : `from ${rules.min} to ${rules.max}`;
    throw new UsageError(`--${flag} must be ${kind} ${range}, got "${text}"`);
  }
  return value;
}
