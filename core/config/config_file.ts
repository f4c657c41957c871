/**
 * The server's configuration from its four sources, in order of precedence: command-line flags,
 * `SWITCHBOARD_*` environment variables, a JSON config file, and the defaults of
 * {@linkcode DEFAULT_OPTIONS}. One table ({@linkcode SERVER_SETTINGS}) names every setting once,
 * and the flag, the variable, the config key, the validation and the `--help` text all come from
 * it. Every invalid value is refused with a {@linkcode ConfigError} naming where it came from.
 *
 * @example
 * ```ts
 * import { loadServerConfig } from "./config_file.ts";
 * const config = await loadServerConfig(["--port", "0"], { SWITCHBOARD_MAX_CLIENTS: "5" });
 * console.assert(config.options.port === 0 && config.options.maxClients === 5);
 * ```
 * @module
 */

import { dirname, isAbsolute, join } from "node:path";
import { parseArgs } from "node:util";
import { flagProblem } from "../util/flag_problem.ts";
import { cidrProblem, isIpAddress } from "../util/cidr.ts";
import { formatAddress, nameProblem } from "../protocol/grammar.ts";
import { parseHostPort } from "./host_port.ts";
import { compileWordPattern } from "./word_pattern.ts";
import { originProblem, splitHostPort } from "./host_port.ts";
import { ConfigError } from "./config_error.ts";
import {
  type CommandArgs,
  DEFAULT_OPTIONS,
  type RemoteCommand,
  type ServerOptions,
} from "./options.ts";
import { fsReason } from "./path_checks.ts";

export { ConfigError } from "./config_error.ts";
export { splitHostPort } from "./host_port.ts";

/**
 * Defaults of the `server` program that differ from the library's: the program keeps a history
 * unless told not to (`--history ""` or `--history off`), the library only when asked (see
 * {@linkcode ServerOptions.history}). Relative to the working folder. Not filled into
 * {@linkcode ServerConfig.options} (which holds what was set): the program applies it.
 */
export const PROGRAM_DEFAULTS: Readonly<{ history: string }> = Object.freeze({
  history: "data/history.db",
});

/** What the command line asked for: help, the version, or a server with these options. */
export interface ServerConfig {
  /** `--help` was given. */
  help: boolean;
  /** `--version` was given. */
  version: boolean;
  /** The config file read, if any. */
  configFile: string | undefined;
  /** Options for {@linkcode startServer}, every source merged. */
  options: ServerOptions;
  /**
   * Where each option in `options` came from, keyed like it, worded for messages: `"--log-dir"`,
   * `"SWITCHBOARD_LOG_DIR"` or `'config file /etc/sb.json: key "logDir"'`. Options left at their
   * default are absent; {@linkcode settingSource} names those too.
   */
  sources: Record<string, string>;
}

type Kind =
  | "host"
  | "hostPort"
  | "port"
  | "count"
  | "seconds"
  | "mode"
  | "logFormat"
  | "logMessages"
  | "path"
  | "switch"
  | "networks"
  | "names"
  | "token"
  | "bytes"
  | "commands"
  | "address"
  | "origins"
  | "urls"
  | "word"
  | "text";

/** One setting: its option key, how it is written in each source, and its rules. */
export interface Setting {
  /** Key in {@linkcode ServerOptions} and in the config file (for access lists, a path inside `access`). */
  key: string;
  /** The long flag, without dashes; undefined for settings with no flag (the admin token). */
  flag: string | undefined;
  /** The environment variable. */
  env: string;
  /** Kind of value, deciding validation. */
  kind: Kind;
  /** Smallest allowed value for numbers. */
  min?: number;
  /** Largest allowed value for numbers. */
  max?: number;
  /** Placeholder shown in `--help`. */
  placeholder?: string;
  /** One line of `--help`. */
  help: string;
}

const MiB = 1024 * 1024;

function setting(
  key: string,
  kind: Kind,
  help: string,
  extra: Partial<Pick<Setting, "min" | "max" | "placeholder" | "flag">> = {},
): Setting {
  const kebab = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/^access\./, "");
  const flag = "flag" in extra ? extra.flag : kebab;
  const env = `SWITCHBOARD_${(flag ?? kebab).replaceAll("-", "_").toUpperCase()}`;
  return { key, flag, env, kind, help, ...extra };
}

/** Every server setting, in `--help` order. */
export const SERVER_SETTINGS: readonly Setting[] = Object.freeze([
  setting("host", "host", "address to listen on: IPv4, IPv6 or localhost", {
    placeholder: "ADDR",
  }),
  setting("port", "port", "port to listen on; 0 picks a free one", { placeholder: "PORT" }),
  setting("tlsCert", "path", "PEM certificate chain: also listen for TLS on --tls-port", {
    placeholder: "FILE",
  }),
  setting("tlsKey", "path", "PEM private key of --tls-cert", { placeholder: "FILE" }),
  setting("tlsPort", "port", "port for TLS (with --tls-cert); 0 picks a free one", {
    placeholder: "PORT",
  }),
  setting("tlsOnly", "switch", "listen for TLS only: do not open the plain --port"),
  setting(
    "http",
    "hostPort",
    "monitoring HTTP listener (/healthz /varz /connz /metrics, dashboard)",
    {
      placeholder: "HOST:PORT",
    },
  ),
  setting("httpTls", "switch", "serve --http over HTTPS with --tls-cert and --tls-key"),
  setting("web", "address", "web chat (page and WebSocket) on HOST:PORT; off unless set", {
    placeholder: "HOST:PORT",
  }),
  setting("webTls", "switch", "serve the web chat over HTTPS/WSS with --tls-cert"),
  setting("webOrigins", "origins", "origins allowed to open the web chat besides its own", {
    placeholder: "ORIGIN",
  }),
  setting("webProxies", "networks", "reverse proxies whose X-Forwarded-For is believed", {
    placeholder: "CIDR",
  }),
  setting("mode", "mode", "chat relays lines between users; echo returns them", {
    placeholder: "chat|echo",
  }),
  setting("config", "path", "JSON config file (keys are the flag names in camelCase)", {
    placeholder: "FILE",
  }),
  setting("maxClients", "count", "connections at once; one more gets ERR server-full", {
    min: 1,
    max: 1_000_000,
  }),
  setting("maxPerIp", "count", "connections per IP address; 0 = only max-clients", {
    min: 0,
    max: 1_000_000,
  }),
  setting(
    "idleTimeout",
    "seconds",
    "seconds without a message before BYE idle; 0 = off",
  ),
  setting(
    "pingInterval",
    "seconds",
    "quiet seconds before the server sends PING; 0 = off",
  ),
  setting("pingTimeout", "seconds", "seconds to answer PING with :pong before BYE stale", {
    min: 0.01,
  }),
  setting("registerTimeout", "seconds", "seconds to send a name before BYE idle", { min: 0.01 }),
  setting("maxLineBytes", "count", "longest line accepted, in bytes", { min: 128, max: 16 * MiB }),
  setting("maxQueueBytes", "count", "bytes queued for one client before it is cut as slow", {
    min: 1024,
    max: 1024 * MiB,
  }),
  setting("writeDeadline", "seconds", "seconds a client may stay backed up before it is cut", {
    min: 0.01,
  }),
  setting("stallTimeout", "seconds", "seconds a client others wait on may read nothing", {
    min: 0.01,
  }),
  setting("rateLimit", "count", "lines/s per connection after a burst of 2N; 0 = off", {
    min: 0,
    max: 1_000_000,
  }),
  setting(
    "announceLimit",
    "count",
    "users online up to which JOIN/LEAVE/NICK/KICK go to all",
    {
      min: 0,
      max: 1_000_000,
    },
  ),
  setting(
    "reservedNames",
    "names",
    "names no user may take",
    { placeholder: "NAMES" },
  ),
  setting("shutdownGrace", "seconds", "seconds a shutdown waits for queued lines to drain"),
  setting(
    "access.allow",
    "networks",
    "admit only these networks (repeatable, or comma-separated)",
    {
      placeholder: "CIDR",
    },
  ),
  setting("access.deny", "networks", "refuse these networks; deny wins over allow", {
    placeholder: "CIDR",
  }),
  setting("admins", "networks", "networks whose clients are admins without :auth", {
    flag: "admin",
    placeholder: "CIDR",
  }),
  setting("adminToken", "token", "admin token (config file or environment only)", {
    flag: undefined,
  }),
  setting(
    "allowPlainAuth",
    "switch",
    "take :auth and :login secrets over plain TCP from afar",
  ),
  setting("accounts", "path", "accounts file for :login (manage: server accounts --help)", {
    placeholder: "FILE",
  }),
  setting("requireLogin", "switch", "only account holders may take a name (:login first)"),
  setting("tokenFile", "path", "where a generated admin token is written (mode 0600)", {
    placeholder: "FILE",
  }),
  setting("logDir", "path", `folder for server.log and errors.log; "" = none`, {
    placeholder: "DIR",
  }),
  setting("logFormat", "logFormat", "log file format", { placeholder: "text|json" }),
  setting("logMessages", "logMessages", "message lines: full (with text), meta (without) or off", {
    placeholder: "MODE",
  }),
  setting("console", "switch", "read operator commands from stdin (default: when it is a TTY)"),
  setting("filesDir", "path", "shared file area for :put/:get/:files/:rm; off unless set", {
    placeholder: "DIR",
  }),
  setting("fileQuota", "bytes", "largest file a :put or :send may have; 0 = no limit"),
  setting("areaQuota", "bytes", "total bytes the shared area may hold; 0 = no limit"),
  setting("spoolDir", "path", "where :send uploads wait for :accept (default: a temp dir)", {
    placeholder: "DIR",
  }),
  setting("spoolQuota", "bytes", "bytes of :send uploads waiting at once; 0 = no limit"),
  setting("spoolSenderQuota", "bytes", "bytes one sender may have waiting; 0 = no limit"),
  setting("offerTimeout", "seconds", "seconds a :send offer waits for :accept", { min: 0.01 }),
  setting("history", "path", `message history (SQLite); "" or off = none`, {
    placeholder: "FILE",
  }),
  setting("historyMaxMessages", "count", "messages the history keeps; 0 = no limit", {
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
  }),
  setting("historyDays", "count", "days the history keeps a message; 0 = no limit", {
    min: 0,
    max: 100_000,
  }),
  setting("offlineMax", "count", "offline private messages kept per account", {
    min: 0,
    max: 1_000_000,
  }),
  setting("ack", "switch", "acknowledge plain messages with ACK/NACK <seq> (see :ack)"),
  setting("cluster", "urls", "join a cluster on these NATS servers (docs/cluster.md)", {
    placeholder: "URL,…",
  }),
  setting("clusterName", "word", "prefix of the cluster's subjects and buckets", {
    placeholder: "NAME",
  }),
  setting("clusterUser", "text", "NATS user; password from SWITCHBOARD_CLUSTER_PASSWORD", {
    placeholder: "NAME",
  }),
  setting("clusterPassword", "text", "NATS password (config file or environment only)", {
    flag: undefined,
  }),
  setting("clusterToken", "text", "NATS token (config file or environment only)", {
    flag: undefined,
  }),
  setting("clusterCreds", "path", "NATS credentials file (user JWT and nkey seed)", {
    placeholder: "FILE",
  }),
  setting("clusterNkey", "path", "file with a NATS nkey user seed (SU…)", {
    placeholder: "FILE",
  }),
  setting("clusterTlsCa", "path", "PEM CA the NATS servers' certificates must chain to", {
    placeholder: "FILE",
  }),
  setting("clusterTlsCert", "path", "PEM client certificate for NATS mutual TLS", {
    placeholder: "FILE",
  }),
  setting("clusterTlsKey", "path", "PEM private key of --cluster-tls-cert", {
    placeholder: "FILE",
  }),
  setting("resumeGrace", "seconds", "seconds a broken session waits for :resume; 0 = none", {
    min: 0,
  }),
  setting("resumeMaxBytes", "bytes", "bytes addressed to a waiting session before it ends"),
  setting(
    "maxRunning",
    "count",
    "running :run programs, all clients together; 0 = no limit",
    { min: 0, max: 100_000 },
  ),
  setting("commands", "commands", "commands for :run (config file only)", { flag: undefined }),
]);

/** The values of the settings that are one of a few words. */
const CHOICES: Readonly<Record<"mode" | "logFormat" | "logMessages", readonly string[]>> = {
  mode: ["chat", "echo"],
  logFormat: ["text", "json"],
  logMessages: ["full", "meta", "off"],
};

/** What each kind of value must be, for messages. */
function expectation(s: Setting): string {
  switch (s.kind) {
    case "host":
      return "an IP address or localhost";
    case "hostPort":
      return 'host:port, e.g. "127.0.0.1:8222" or "[::1]:8222" (port 0 picks a free one)';
    case "port":
      return "a port number from 0 to 65535";
    case "count":
      return `a whole number from ${s.min ?? 0} to ${s.max ?? Number.MAX_SAFE_INTEGER}`;
    case "seconds":
      return s.min ? `a number of seconds greater than 0` : "a number of seconds (0 or more)";
    case "mode":
    case "logFormat":
    case "logMessages": {
      const quoted = CHOICES[s.kind].map((choice) => `"${choice}"`);
      return `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}`;
    }
    case "path":
      return "a path";
    case "switch":
      return "true or false";
    case "networks":
      return "a list of IP addresses or CIDR networks";
    case "names":
      return "a list of names (1-32 of A-Z a-z 0-9 _ - .)";
    case "token":
      return "8 to 256 characters without spaces";
    case "bytes":
      return "a number of bytes (0 or more; K, M, G, T suffixes count in 1024s)";
    case "address":
      return 'HOST:PORT (an IP address or localhost, IPv6 in brackets; port 0 picks one), or ""';
    case "origins":
      return "a list of origins such as https://chat.example.org, or *";
    case "commands":
      return 'an object {"<name>": {"argv": [...], "timeout": s, "admin": bool, "maxArgs": n, "args": …}}';
    case "urls":
      return "a list of nats://host:port URLs";
    case "word":
      return "1-32 of A-Z a-z 0-9 _ -";
    case "text":
      return "1 to 1024 characters without line breaks";
  }
}

class Invalid extends Error {}

/** Converts one value (a JSON value, or text from a flag or variable) to its option value. */
function convert(s: Setting, raw: unknown, fromText: boolean): unknown {
  const fail = (why?: string): never => {
    const shown = typeof raw === "string" ? `"${raw}"` : JSON.stringify(raw);
    throw new Invalid(why ?? `expected ${expectation(s)}, got ${shown}`);
  };
  switch (s.kind) {
    case "host": {
      if (typeof raw !== "string") return fail();
      if (raw !== "localhost" && !isIpAddress(raw)) fail();
      return raw.startsWith("[") ? raw.slice(1, -1) : raw;
    }
    case "hostPort": {
      if (typeof raw !== "string") return fail();
      if (raw === "" || raw === "off") return "";
      const parsed = parseHostPort(raw);
      if (parsed === undefined) return fail();
      return formatAddress(parsed.hostname, parsed.port);
    }
    case "port":
    case "count":
    case "seconds": {
      const value = fromText && typeof raw === "string" && /^[0-9]+(\.[0-9]+)?$/.test(raw.trim())
        ? Number(raw)
        : raw;
      if (typeof value !== "number" || !Number.isFinite(value)) return fail();
      const integer = s.kind !== "seconds";
      const min = s.kind === "port" ? 0 : s.min ?? 0;
      const max = s.kind === "port" ? 65535 : s.max ?? 7 * 24 * 3600;
      if ((integer && !Number.isInteger(value)) || value < min || value > max) fail();
      return value;
    }
    case "mode":
    case "logFormat":
    case "logMessages":
      if (typeof raw !== "string" || !CHOICES[s.kind].includes(raw)) fail();
      return raw;
    case "path":
      if (typeof raw !== "string") fail();
      return raw;
    case "switch":
      if (typeof raw === "boolean") return raw;
      if (fromText && typeof raw === "string" && /^(true|false|1|0|yes|no)$/i.test(raw)) {
        return /^(true|1|yes)$/i.test(raw);
      }
      return fail();
    case "networks":
      return listOf(raw, fromText, fail, "network", cidrProblem);
    case "names":
      return listOf(raw, fromText, fail, "name", nameProblem);
    case "token":
      if (typeof raw !== "string" || !/^\S{8,256}$/.test(raw)) fail();
      return raw;
    case "bytes": {
      const value = typeof raw === "string" ? parseBytes(raw) : raw;
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) return fail();
      return value;
    }
    case "address":
      if (typeof raw !== "string" || (raw !== "" && splitHostPort(raw) === undefined)) fail();
      return raw;
    case "origins":
      return listOf(raw, fromText, fail, "origin", originProblem);
    case "commands":
      if (fromText) return fail("commands are read from the config file only");
      return convertCommands(raw);
    case "urls": {
      if (typeof raw === "string" && raw.trim() === "") return [];
      const list = typeof raw === "string" ? raw.split(",").map((u) => u.trim()) : raw;
      if (!Array.isArray(list)) return fail();
      for (const url of list) if (!/^(nats|tls):\/\/[^\s,/]+:\d+$/.test(String(url))) fail();
      return list;
    }
    case "word":
      if (typeof raw !== "string" || !/^[A-Za-z0-9_-]{1,32}$/.test(raw)) fail();
      return raw;
    case "text":
      // A secret is never shown back in the message.
      if (typeof raw !== "string" || !/^[^\r\n]{1,1024}$/.test(raw)) {
        fail(`expected ${expectation(s)}`);
      }
      return raw;
  }
}

const BYTE_SUFFIXES: Record<string, number> = {
  "": 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/** `"64M"` → 67108864; `undefined` when the text is not a size. */
function parseBytes(text: string): number | undefined {
  const match = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (match === null) return undefined;
  const value = Number(match[1]) * (BYTE_SUFFIXES[(match[2] ?? "").toLowerCase()] ?? 1);
  return Number.isInteger(value) ? value : Math.floor(value);
}

const COMMAND_NAME = /^[A-Za-z0-9_.-]{1,32}$/;
const COMMAND_KEYS = new Set(["argv", "timeout", "admin", "maxArgs", "args"]);

/** Validates the `commands` object of the config file; every problem names the command. */
function convertCommands(raw: unknown): Record<string, RemoteCommand> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new Invalid(
      'expected an object {"<name>": {"argv": ["program", "arg", ...], "timeout": seconds}}',
    );
  }
  const commands: Record<string, RemoteCommand> = {};
  for (const [name, spec] of Object.entries(raw)) {
    const bad = (why: string): never => {
      throw new Invalid(`command "${name}": ${why}`);
    };
    if (!COMMAND_NAME.test(name)) {
      bad("names are 1-32 of the letters A-Z a-z, digits, '_', '-' and '.'");
    }
    if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
      return bad('expected an object {"argv": [...], "timeout": seconds, "admin": true|false}');
    }
    const fields = spec as Record<string, unknown>;
    for (const key of Object.keys(fields)) {
      if (!COMMAND_KEYS.has(key)) {
        bad(`unknown key "${key}" (known: argv, timeout, admin, maxArgs, args)`);
      }
    }
    const argv = fields.argv;
    if (
      !Array.isArray(argv) || argv.length === 0 ||
      !argv.every((part) => typeof part === "string" && !part.includes("\0")) || argv[0] === ""
    ) {
      bad('"argv" must be a non-empty list of strings, the program first');
    }
    const command: RemoteCommand = { argv: [...(argv as string[])] };
    if (fields.timeout !== undefined) {
      const timeout = fields.timeout;
      if (typeof timeout !== "number" || !(timeout > 0) || timeout > 24 * 3600) {
        bad('"timeout" must be a number of seconds greater than 0 (at most 86400)');
      }
      command.timeout = timeout as number;
    }
    if (fields.admin !== undefined) {
      if (typeof fields.admin !== "boolean") bad('"admin" must be true or false');
      command.admin = fields.admin as boolean;
    }
    if (fields.maxArgs !== undefined) {
      const maxArgs = fields.maxArgs;
      if (
        typeof maxArgs !== "number" || !Number.isInteger(maxArgs) || maxArgs < 0 || maxArgs > 256
      ) {
        bad('"maxArgs" must be a whole number from 0 to 256');
      }
      command.maxArgs = maxArgs as number;
    }
    if (fields.args !== undefined) command.args = convertCommandArgs(fields.args, bad);
    commands[name] = command;
  }
  return commands;
}

/** Validates a command's `args`: `"after-dashes"`, or `{"pattern": "<regular expression>"}`. */
function convertCommandArgs(raw: unknown, bad: (why: string) => never): CommandArgs {
  if (raw === "after-dashes") return raw;
  const fields = typeof raw === "object" && raw !== null && !Array.isArray(raw)
    ? raw as Record<string, unknown>
    : undefined;
  const pattern = fields?.pattern;
  if (fields === undefined || Object.keys(fields).length !== 1 || typeof pattern !== "string") {
    return bad('"args" must be "after-dashes" or {"pattern": "<regular expression>"}');
  }
  if (pattern === "") bad('"args.pattern" must not be empty');
  try {
    compileWordPattern(pattern);
  } catch (error) {
    bad(`"args.pattern" is not a valid regular expression: ${(error as Error).message}`);
  }
  return { pattern };
}

/** Options collected from one source, keyed like {@linkcode SERVER_SETTINGS}. */
type Layer = Map<string, unknown>;

function readLayer(
  entries: Iterable<[Setting, unknown]>,
  fromText: boolean,
  where: (s: Setting) => string,
): Layer {
  const layer: Layer = new Map();
  for (const [s, raw] of entries) {
    try {
      layer.set(s.key, convert(s, raw, fromText));
    } catch (error) {
      if (!(error instanceof Invalid)) throw error;
      throw new ConfigError(`${where(s)}: ${error.message}`);
    }
  }
  return layer;
}

/**
 * Node's parseArgs reads `--port -1` as two options and calls `--port` ambiguous. A negative
 * number after a flag that takes a value is that flag's value, so `--port -1` becomes
 * `--port=-1` and gets the same range error as `--port 70000`. Nothing after `--` is touched.
 */
function bindNegativeNumbers(args: string[], takesValue: ReadonlySet<string>): string[] {
  const bound: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") {
      bound.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    if (
      next !== undefined && /^-\.?[0-9]/.test(next) && arg.startsWith("--") && !arg.includes("=") &&
      takesValue.has(arg.slice(2))
    ) {
      bound.push(`${arg}=${next}`);
      i++;
    } else {
      bound.push(arg);
    }
  }
  return bound;
}

function parseFlags(args: string[]) {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {
    help: { type: "boolean" },
    version: { type: "boolean" },
  };
  for (const s of SERVER_SETTINGS) {
    if (s.flag === undefined) continue;
    options[s.flag] = s.kind === "switch"
      ? { type: "boolean" }
      : s.kind === "networks" || s.kind === "names" || s.kind === "origins"
      ? { type: "string", multiple: true }
      : { type: "string" };
  }
  const takesValue = new Set(
    Object.keys(options).filter((flag) => options[flag]?.type === "string"),
  );
  try {
    return parseArgs({
      args: bindNegativeNumbers(args, takesValue),
      options,
      strict: true,
      allowPositionals: true,
      allowNegative: true,
    });
  } catch (error) {
    const known = Object.keys(options).flatMap((flag) =>
      options[flag]?.type === "boolean" ? [flag, `no-${flag}`] : [flag]
    );
    throw new ConfigError(flagProblem((error as Error).message, known));
  }
}

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new ConfigError(`config file ${path}: ${fsReason(error)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path}: expected a JSON object of settings`);
  }
  return parsed as Record<string, unknown>;
}

/** Flattens `{"access": {"allow": …}}` to `access.allow` and checks every key is known. */
function fileEntries(path: string, json: Record<string, unknown>): [Setting, unknown][] {
  const byKey = new Map(SERVER_SETTINGS.map((s) => [s.key, s]));
  const entries: [Setting, unknown][] = [];
  const unknown = (key: string) => new ConfigError(`config file ${path}: unknown key "${key}"`);
  for (const [key, value] of Object.entries(json)) {
    if (key === "access") {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new ConfigError(
          `config file ${path}: key "access": expected an object {"allow": [...], "deny": [...]}`,
        );
      }
      for (const [inner, list] of Object.entries(value)) {
        const s = byKey.get(`access.${inner}`);
        if (!s) throw unknown(`access.${inner}`);
        entries.push([s, list]);
      }
      continue;
    }
    const s = byKey.get(key);
    if (!s || key === "config" || key.startsWith("access.")) throw unknown(key);
    entries.push([s, value]);
  }
  return entries;
}

/** Resolves relative paths in a config file against the file's folder, so it works from any cwd. */
function anchorPaths(layer: Layer, configFile: string): void {
  for (
    const key of [
      "tokenFile",
      "logDir",
      "filesDir",
      "spoolDir",
      "tlsCert",
      "tlsKey",
      "accounts",
      "history",
      "clusterCreds",
      "clusterNkey",
      "clusterTlsCa",
      "clusterTlsCert",
      "clusterTlsKey",
    ]
  ) {
    const value = layer.get(key);
    if (typeof value === "string" && value !== "" && value !== "off" && !isAbsolute(value)) {
      layer.set(key, join(dirname(configFile), value));
    }
  }
}

function toOptions(merged: Layer): ServerOptions {
  const options: Record<string, unknown> = {};
  const access: Record<string, unknown> = {};
  for (const [key, value] of merged) {
    if (key === "config") continue;
    if (key.startsWith("access.")) access[key.slice("access.".length)] = value;
    else options[key] = value;
  }
  if (Object.keys(access).length > 0) options.access = access;
  return options as ServerOptions;
}

/** Rules that involve two settings. */
function checkCombinations(options: ServerOptions): void {
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new ConfigError(
      options.tlsCert === undefined
        ? "--tls-key needs --tls-cert (the certificate of that key)"
        : "--tls-cert needs --tls-key (the private key of that certificate)",
    );
  }
  if (options.requireLogin === true && options.accounts === undefined) {
    throw new ConfigError("--require-login needs --accounts (nobody could take a name)");
  }
  if (options.httpTls === true && options.tlsCert === undefined) {
    throw new ConfigError("--http-tls needs --tls-cert and --tls-key");
  }
  if (options.httpTls === true && !options.http) {
    throw new ConfigError("--http-tls needs --http (the address to serve HTTPS on)");
  }
  if (options.webTls === true && (options.tlsCert === undefined || !options.web)) {
    throw new ConfigError("--web-tls needs --web, --tls-cert and --tls-key");
  }
  if (options.tlsOnly === true && options.tlsCert === undefined) {
    throw new ConfigError("--tls-only needs --tls-cert and --tls-key");
  }
  checkClusterAuth(options);
  const line = options.maxLineBytes ?? DEFAULT_OPTIONS.maxLineBytes;
  const queue = options.maxQueueBytes ?? DEFAULT_OPTIONS.maxQueueBytes;
  // A full-length line can triple in size when control bytes become U+FFFD, plus its prefix.
  if (queue < 4 * line) {
    throw new ConfigError(
      `maxQueueBytes (${queue}) must be at least 4 × maxLineBytes (${line}) so that any accepted line fits a client's queue`,
    );
  }
}

/** The rules of the cluster's credentials and TLS settings (docs/cluster.md). */
function checkClusterAuth(options: ServerOptions): void {
  const set = (key: keyof ServerOptions) => typeof options[key] === "string" && options[key] !== "";
  const named: [keyof ServerOptions, string][] = [
    ["clusterUser", "--cluster-user"],
    ["clusterPassword", "the cluster password (SWITCHBOARD_CLUSTER_PASSWORD)"],
    ["clusterToken", "the cluster token (SWITCHBOARD_CLUSTER_TOKEN)"],
    ["clusterCreds", "--cluster-creds"],
    ["clusterNkey", "--cluster-nkey"],
    ["clusterTlsCa", "--cluster-tls-ca"],
    ["clusterTlsCert", "--cluster-tls-cert"],
    ["clusterTlsKey", "--cluster-tls-key"],
  ];
  const first = named.find(([key]) => set(key));
  if (first === undefined) return;
  if ((options.cluster ?? []).length === 0) {
    throw new ConfigError(`${first[1]} needs --cluster (the NATS servers to join)`);
  }
  if (set("clusterPassword") && !set("clusterUser")) {
    throw new ConfigError(
      "the cluster password (SWITCHBOARD_CLUSTER_PASSWORD) needs --cluster-user (its user)",
    );
  }
  if (set("clusterUser") && !set("clusterPassword")) {
    throw new ConfigError(
      "--cluster-user needs a password: SWITCHBOARD_CLUSTER_PASSWORD or clusterPassword in the config file",
    );
  }
  const methods = named.slice(1, 5).filter(([key]) => set(key)).map(([, name]) => name);
  if (set("clusterUser")) methods[0] = "--cluster-user";
  if (methods.length > 1) {
    throw new ConfigError(
      `use one way to log in to the cluster's bus, not ${methods.join(" and ")}`,
    );
  }
  if (set("clusterTlsCert") !== set("clusterTlsKey")) {
    throw new ConfigError(
      set("clusterTlsCert")
        ? "--cluster-tls-cert needs --cluster-tls-key (the private key of that certificate)"
        : "--cluster-tls-key needs --cluster-tls-cert (the certificate of that key)",
    );
  }
}

/**
 * Reads the server's configuration. `args` are the command-line arguments, `env` the environment
 * (only `SWITCHBOARD_*` variables are read). Throws {@linkcode ConfigError} for anything invalid.
 */
export async function loadServerConfig(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<ServerConfig> {
  const { values, positionals } = parseFlags(args);
  const help = values.help === true;
  const version = values.version === true;
  if (help || version) return { help, version, configFile: undefined, options: {}, sources: {} };
  if (positionals.length > 0) {
    throw new ConfigError(
      `unexpected argument "${positionals[0]}" (use --host and --port to choose the address)`,
    );
  }

  const settings = SERVER_SETTINGS;
  const flagLayer = readLayer(
    settings.flatMap((s): [Setting, unknown][] => {
      const value = s.flag === undefined ? undefined : values[s.flag];
      if (value === undefined) return [];
      return [[s, Array.isArray(value) ? value.join(",") : value]];
    }),
    true,
    (s) => `--${s.flag}`,
  );
  const envLayer = readLayer(
    settings.flatMap((s): [Setting, unknown][] => {
      const value = env[s.env];
      return value === undefined || value === "" ? [] : [[s, value]];
    }),
    true,
    (s) => s.env,
  );

  const configFile = (flagLayer.get("config") ?? envLayer.get("config")) as string | undefined;
  let fileLayer: Layer = new Map();
  if (configFile !== undefined) {
    fileLayer = readLayer(
      fileEntries(configFile, await readConfigFile(configFile)),
      false,
      (s) => `config file ${configFile}: key "${s.key}"`,
    );
    anchorPaths(fileLayer, configFile);
  }

  const merged: Layer = new Map([...fileLayer, ...envLayer, ...flagLayer]);
  const options = toOptions(merged);
  if (options.history === "off") options.history = "";
  checkCombinations(options);
  const sources: Record<string, string> = {};
  for (const s of settings) {
    if (flagLayer.has(s.key)) sources[s.key] = `--${s.flag}`;
    else if (envLayer.has(s.key)) sources[s.key] = s.env;
    else if (fileLayer.has(s.key)) sources[s.key] = `config file ${configFile}: key "${s.key}"`;
  }
  return { help, version, configFile, options, sources };
}

/**
 * Names the source of setting `key` for a message: where `config` took it from, or, for a
 * default, its flag (its variable for settings without one).
 *
 * @example
 * ```ts
 * import { loadServerConfig, settingSource } from "./config_file.ts";
 * const config = await loadServerConfig([], { SWITCHBOARD_LOG_DIR: "/var/log/sb" });
 * console.assert(settingSource(config, "logDir") === "SWITCHBOARD_LOG_DIR");
 * console.assert(settingSource(config, "filesDir") === "--files-dir");
 * ```
 */
export function settingSource(config: ServerConfig, key: string): string {
  const known = config.sources[key];
  if (known !== undefined) return known;
  const s = SERVER_SETTINGS.find((s) => s.key === key);
  if (s === undefined) throw new RangeError(`no setting "${key}"`);
  return s.flag === undefined ? s.env : `--${s.flag}`;
}

/**
 * The `SWITCHBOARD_*` variables the server reads, each asked for by name, so the program needs
 * environment access to those variables only (`--allow-env=SWITCHBOARD_*`), not to all of them.
 */
export function serverEnvironment(
  get: (name: string) => string | undefined = (name) => Deno.env.get(name),
): Record<string, string | undefined> {
  return Object.fromEntries(SERVER_SETTINGS.map((s) => [s.env, get(s.env)]));
}

function usageLine(s: Setting): string | undefined {
  if (s.flag === undefined) return undefined;
  const defaults = { ...DEFAULT_OPTIONS, ...PROGRAM_DEFAULTS } as Record<string, unknown>;
  const shown = s.kind === "switch"
    ? `--${s.flag} / --no-${s.flag}`
    : `--${s.flag} ${
      s.placeholder ?? (s.kind === "seconds" ? "SECONDS" : s.kind === "bytes" ? "BYTES" : "N")
    }`;
  const fallback = defaults[s.key];
  const suffix = fallback === undefined || fallback === "" || s.kind === "switch" ||
      (Array.isArray(fallback) && fallback.length === 0) ||
      (s.kind === "bytes" && fallback === 0)
    ? ""
    : ` (default ${s.kind === "bytes" ? byteSize(fallback as number) : fallback})`;
  return `  ${(shown + " ").padEnd(28)}${s.help}${suffix}`;
}

/** A byte count as a flag would take it: `1G` for 1073741824, `1536K`, `100`. */
function byteSize(bytes: number): string {
  for (const suffix of ["T", "G", "M", "K"]) {
    const unit = BYTE_SUFFIXES[suffix.toLowerCase()]!;
    if (bytes >= unit && bytes % unit === 0) return `${bytes / unit}${suffix}`;
  }
  return String(bytes);
}

/** The `server --help` text. */
export const SERVER_USAGE: string = `Usage: server [options]
       server accounts add <name> [--role admin|user] | remove <name> | list  [--accounts FILE]

Runs a Switchboard server (protocol sb/1, see docs/protocol.md). Stop it with Ctrl+C, SIGTERM,
the shutdown program, or :shutdown from an admin.

Options:
${SERVER_SETTINGS.map(usageLine).filter((line) => line !== undefined).join("\n")}
  --help                      show this text
  --version                   show the version

Every option is also read from SWITCHBOARD_<FLAG_NAME> (e.g. SWITCHBOARD_MAX_CLIENTS=50; lists
comma-separated) and from the --config file (e.g. {"maxClients": 50, "access": {"deny":
["10.0.0.0/8"]}, "admins": ["127.0.0.1"]}). Flags win over the environment, which wins over the
file. The admin token comes only from the file ("adminToken") or SWITCHBOARD_ADMIN_TOKEN;
without one a token is generated and written to --token-file (default
.switchboard/admin-<port>.token, removed at exit). Commands for :run come only from the file:
{"commands": {"uptime": {"argv": ["/usr/bin/uptime"], "timeout": 5, "admin": false}}}; they run
without a shell (needs --allow-run for the programs). The client's words are separate arguments
after a "--", so none is taken as an option; with "args": {"pattern": "[a-z0-9.]+"} they come
right after argv instead, each one matching the pattern in full or refused. --max-running
defaults to 2 per CPU core; past it :run is answered ERR busy.

With --tls-cert and --tls-key (PEM files) the server also listens for TLS on --tls-port, the
same protocol inside TLS (ncat --ssl is a client); --tls-only closes the plain port. A handshake
must finish within --register-timeout. A certificate or key that cannot be read or used (not
PEM, key not matching) is a configuration error.

Cluster (docs/cluster.md): --cluster joins other servers over a NATS bus (nats:// URLs, or
tls:// to require TLS). Its credentials carry NATS' names: --cluster-user with its password from
SWITCHBOARD_CLUSTER_PASSWORD or "clusterPassword" in the file (never a flag: it would show in
ps), a token from SWITCHBOARD_CLUSTER_TOKEN or "clusterToken", a .creds file (--cluster-creds)
or an nkey seed file (--cluster-nkey): one of them. --cluster-tls-ca trusts a private CA;
--cluster-tls-cert and --cluster-tls-key present a client certificate (mutual TLS). A file that
cannot be read or holds the wrong thing is a configuration error; a bus that refuses the
credentials stops the start (exit 1).

Accounts: with --accounts FILE a client may log in with :login <name> <password>; the file is
managed with \`server accounts\` (see server accounts --help), and --require-login makes a
login the only way to take a name.

A name that differs from an online name only by case or look-alike characters (I l 1 i, O 0,
rn m, vv w, _ - .) is taken like that name. --reserved-names (comma-separated) replaces the
default list; a reserved name and its look-alikes get ERR name-reserved; --reserved-names ""
(in the environment: ",") or "reservedNames": [] in the file frees them all but "server".

SIGHUP (or :reload from an admin) re-reads the config file and the environment, with these flags
still winning, and applies access lists, admins, limits, timeouts, :run commands, the admin token
and the TLS certificate without dropping anyone but the connections the new access lists deny
(BYE denied). --host, --port, --tls-port, --tls-only, --mode, --log-dir, --log-format,
--token-file, --files-dir, --spool-dir, --history and the --cluster settings need a
restart. An invalid configuration is logged and
not applied.

History: lobby and group messages are kept in --history (an SQLite file, created with its
folder, mode 0600/0700; relative to the working folder, or to the config file's folder when set
there) for :history; at most --history-max-messages of them, none older than --history-days.
--history "" (in the environment: off) keeps nothing, and :history answers ERR disabled.

Byte counts take K, M, G, T suffixes (in 1024s). The file quotas are checked when a :put or :send
line is read, before any of its bytes is stored; a sender's :send uploads count against
--spool-sender-quota until every recipient has accepted, declined, left or let the offer expire.

Exit codes: 0 after a graceful shutdown, 1 when the server cannot run (port in use, permission
denied), 2 for a usage or configuration error. Paths are checked before the server listens: the
--log-dir, --files-dir and --spool-dir folders are created when missing and must be writable, and
so must the --token-file and the --history file (an SQLite database or a new file); one that
cannot be used is a configuration error.`;

/**
 * A list setting: a JSON array of strings, or (from a flag or the environment) words separated by
 * commas; every entry must pass `problemOf`, or the setting fails naming the first that does not.
 */
function listOf(
  raw: unknown,
  fromText: boolean,
  fail: (why?: string) => never,
  what: string,
  problemOf: (entry: string) => string | undefined,
): string[] {
  const list = fromText && typeof raw === "string"
    ? raw.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "")
    : raw;
  if (!Array.isArray(list) || !list.every((entry) => typeof entry === "string")) return fail();
  for (const entry of list) {
    const problem = problemOf(entry);
    if (problem) fail(`invalid ${what} "${entry}": ${problem}`);
  }
  return list;
}
