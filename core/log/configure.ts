/**
 * Logging for the application side: the server core logs through LogTape loggers under the
 * `switchboard` category (see {@linkcode LOG_CATEGORIES}); this module decides where those records
 * go. `server.log` receives everything at info and above, `errors.log` warnings and above, both
 * rotated by size and written in batches by {@linkcode rotatingFileSink}, in time order (pending
 * message lines go first, see `_in_order.ts`); the console (stderr) gets a short line per record
 * except high-volume traffic.
 *
 * Records are structured: user data travels in properties, never in the message template, and
 * every formatter here escapes line breaks, ANSI escapes and bidirectional controls inside values,
 * so a crafted name or reason cannot forge a line or repaint the operator's terminal.
 *
 * @example
 * ```ts ignore
 * import { getLogger } from "@logtape/logtape";
 * import { configureLogging, LOG_CATEGORIES } from "./configure.ts";
 *
 * await using _logging = await configureLogging({ logDir: "logs", logFormat: "text", console: "auto" });
 * getLogger(LOG_CATEGORIES.conn).info("connected {peer}", { peer: "[::1]:40000" });
 * ```
 * @module
 */

import {
  configure,
  getConfig,
  getTextFormatter,
  jsonLinesFormatter,
  type LogLevel,
  type LogRecord,
  reset,
  type Sink,
  type TextFormatter,
} from "@logtape/logtape";
import { escapeUnsafe } from "./escape.ts";
import { infoTemplateOf, setInfoRoute } from "./fast_info.ts";
import { isoTime } from "./iso_time.ts";
import { rotatingFileSink } from "./file_sink.ts";
import { inOrder } from "./_in_order.ts";
import { MESSAGE_BATCH, MessageBatch } from "./message_log.ts";
import { MessageLineRenderer } from "./message_lines.ts";

/**
 * The categories the server logs under. Library code calls
 * `getLogger(LOG_CATEGORIES.conn)`; {@linkcode configureLogging} routes them.
 *
 * - `server`: lifecycle (listening, shutdown begun and done, configuration loaded).
 * - `conn`: connects, disconnects with their reason, refusals at accept.
 * - `traffic`: one record per message and per command. High volume: files only, never the console.
 * - `admin`: `:auth` successes and failures, kicks, renames, shutdown requests.
 * - `limits`: limits that trigger (line too long, rate limited, slow consumer, stale, idle, a
 *   `:run` past `--max-running`).
 *
 * @example
 * ```ts
 * import { getLogger } from "@logtape/logtape";
 * import { LOG_CATEGORIES } from "./configure.ts";
 * const log = getLogger(LOG_CATEGORIES.traffic);
 * console.assert(log.category.join(".") === "switchboard.traffic");
 * ```
 */
export const LOG_CATEGORIES: Readonly<{
  root: readonly ["switchboard"];
  server: readonly ["switchboard", "server"];
  conn: readonly ["switchboard", "conn"];
  traffic: readonly ["switchboard", "traffic"];
  admin: readonly ["switchboard", "admin"];
  limits: readonly ["switchboard", "limits"];
}> = Object.freeze(
  {
    /** Parent of every Switchboard category. */
    root: ["switchboard"],
    /** Lifecycle: listening, shutdown begun and done, configuration loaded. */
    server: ["switchboard", "server"],
    /** Connects, disconnects (with reason code), refusals at accept. */
    conn: ["switchboard", "conn"],
    /** One record per message and per command; files only. */
    traffic: ["switchboard", "traffic"],
    /** Authentication, kicks, renames, shutdown requests. */
    admin: ["switchboard", "admin"],
    /** Limits that trigger. */
    limits: ["switchboard", "limits"],
  } as const,
);

/** Options of {@linkcode configureLogging}. */
export interface LoggingOptions {
  /** Folder of `server.log` and `errors.log`, created when missing; `""` writes no files. */
  logDir: string;
  /** `"text"`: one readable line per record; `"json"`: JSON Lines (one object per line). */
  logFormat: "text" | "json";
  /**
   * Console output on stderr. `"auto"` colours when stderr is a terminal and `NO_COLOR` is unset;
   * `"color"` and `"plain"` force it either way; `"off"` writes nothing to the console.
   */
  console: "auto" | "color" | "plain" | "off";
  /**
   * Lowest level shown on the console. `"debug"` also lets debug records into `server.log`.
   * @default {"info"}
   */
  consoleLevel?: "debug" | "info" | "warning" | "error";
  /** Size in bytes at which a log file is rotated. @default {10485760} (10 MiB) */
  maxFileBytes?: number;
  /**
   * Rotated files kept per log (`server.log.1` … `server.log.<maxFiles>`); the oldest is
   * overwritten. @default {5}
   */
  maxFiles?: number;
  /**
   * Where console lines are written. For tests and embedders; `isTerminal` decides `"auto"`.
   * @default {Deno.stderr}
   */
  consoleWriter?: { writeSync(data: Uint8Array): number; isTerminal(): boolean };
  /**
   * Which records the console shows (the files keep them all): for a program that says some
   * things on stdout already, such as the `server`'s `listening on` lines.
   * @default {() => true}
   */
  consoleFilter?: (
    record: { readonly category: readonly string[]; readonly rawMessage: unknown },
  ) => boolean;
}

/** Default rotation size of the log files: 10 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024;
/** Default number of rotated files kept per log. */
export const DEFAULT_MAX_FILES = 5;

/**
 * Configures LogTape for the server: rotating `server.log` and `errors.log` in `logDir` and a
 * concise console on stderr. Replaces any earlier configuration.
 *
 * The file sinks buffer in memory and write in the background, so the returned handle must be
 * disposed before the process ends: disposing writes out the buffers, closes the files, stops
 * LogTape's flush timers (which otherwise keep the process alive) and resets LogTape. Disposing a
 * handle that a later call has replaced does nothing.
 *
 * Needs `--allow-write` and `--allow-read` on `logDir` when it is not empty.
 *
 * @example
 * ```ts ignore
 * await using _logging = await configureLogging({
 *   logDir: "logs",
 *   logFormat: "json",
 *   console: "auto",
 * });
 * ```
 */
export async function configureLogging(options: LoggingOptions): Promise<AsyncDisposable> {
  const consoleLevel = options.consoleLevel ?? "info";
  const fileLevel: LogLevel = consoleLevel === "debug" ? "debug" : "info";
  const maxSize = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const maxFiles = options.maxFiles ?? DEFAULT_MAX_FILES;
  if (!(maxSize > 0)) throw new RangeError(`maxFileBytes must be positive, got ${maxSize}`);
  if (!(Number.isInteger(maxFiles) && maxFiles >= 1)) {
    throw new RangeError(`maxFiles must be a positive integer, got ${maxFiles}`);
  }

  const sinks: Record<string, Sink> = {};
  const fileSinks: string[] = [];
  const metaSinks: string[] = [];

  if (options.logDir !== "") {
    await Deno.mkdir(options.logDir, { recursive: true });
    const format = options.logFormat === "json" ? jsonLinesFormatter : getFileTextFormatter();
    const lines = new MessageLineRenderer(options.logFormat);
    const render = (record: LogRecord) => {
      const batch = record.properties[MESSAGE_BATCH];
      return batch instanceof MessageBatch
        ? lines.render(batch, record.category.join("."))
        : undefined;
    };
    const isBatch = (record: LogRecord) => record.properties[MESSAGE_BATCH] instanceof MessageBatch;
    const fileOptions = { format, render, maxFileBytes: maxSize, maxFiles };
    const dir = options.logDir.replace(/[/\\]+$/, "") || "/";
    const server = rotatingFileSink(`${dir}/server.log`, fileOptions);
    let errors;
    try {
      errors = rotatingFileSink(`${dir}/errors.log`, fileOptions);
    } catch (error) {
      await server[Symbol.asyncDispose]();
      throw error;
    }
    // Pending message lines are written before any other record, so the files stay in time
    // order (_in_order.ts). Only server.log gets message lines; errors.log is wrapped alike so
    // that the order holds whichever file a record reaches first.
    sinks.serverFile = inOrder(server, isBatch);
    sinks.errorsFile = atLeast("warning", inOrder(errors, isBatch));
    fileSinks.push("serverFile", "errorsFile");
    metaSinks.push("errorsFile");
  }

  const consoleSinks: string[] = [];
  if (options.console !== "off") {
    const writer = options.consoleWriter ?? Deno.stderr;
    const color = options.console === "color" ||
      (options.console === "auto" && writer.isTerminal() && !Deno.noColor);
    const sink = getWriterSink(writer, getConsoleTextFormatter(color));
    sinks.console = atLeast(consoleLevel, sink, options.consoleFilter);
    consoleSinks.push("console");
    metaSinks.push("console");
  }

  const hasFiles = fileSinks.length > 0;
  const rootLevel = hasFiles ? fileLevel : consoleSinks.length > 0 ? consoleLevel : null;
  const config = {
    reset: true,
    sinks,
    loggers: [
      {
        // Every category but traffic. Files take info (debug when asked), the console gates
        // itself at consoleLevel, which is never below the files' level.
        category: [...LOG_CATEGORIES.root],
        sinks: [...fileSinks, ...consoleSinks],
        lowestLevel: rootLevel,
      },
      {
        // Tens of thousands of records per second under load: files only. Without files the
        // level is null, so the server's calls return before a record is even built.
        category: [...LOG_CATEGORIES.traffic],
        sinks: fileSinks,
        parentSinks: "override" as const,
        lowestLevel: hasFiles ? fileLevel : null,
      },
      {
        // LogTape's own diagnostics (a sink failing). Configuring it also silences the
        // "loggers are configured" banner LogTape prints otherwise.
        category: ["logtape", "meta"],
        sinks: metaSinks,
        lowestLevel: "warning" as const,
      },
    ],
  };
  await configure(config);
  const installed = getConfig();
  // The same sinks, in the same order, for the routine records logInfo() sends past LogTape.
  const infoEnabled = rootLevel !== null && levelOrder[rootLevel] <= levelOrder.info;
  setInfoRoute(
    installed,
    infoEnabled ? [...fileSinks, ...consoleSinks].map((name) => sinks[name]!) : [],
  );

  let disposed = false;
  return {
    async [Symbol.asyncDispose]() {
      if (disposed) return;
      disposed = true;
      // A later configureLogging() already disposed our sinks; leave its configuration alone.
      if (getConfig() === installed) {
        setInfoRoute(undefined, undefined);
        await reset();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Sinks

const levelOrder: Record<LogLevel, number> = {
  trace: 0,
  debug: 1,
  info: 2,
  warning: 3,
  error: 4,
  fatal: 5,
};

/**
 * Passes on records at `level` and above that `keep` accepts. Unlike LogTape's `withFilter`, it forwards disposal,
 * so LogTape still flushes and closes the wrapped file sink on reset.
 */
function atLeast(
  level: LogLevel,
  sink: Sink & Partial<AsyncDisposable & Disposable>,
  keep: (record: LogRecord) => boolean = () => true,
): Sink {
  const min = levelOrder[level];
  const gated: Sink & Partial<AsyncDisposable & Disposable> = (record) => {
    if (levelOrder[record.level] >= min && keep(record)) sink(record);
  };
  const asyncDispose = sink[Symbol.asyncDispose];
  if (asyncDispose) gated[Symbol.asyncDispose] = () => asyncDispose.call(sink);
  const dispose = sink[Symbol.dispose];
  if (dispose) gated[Symbol.dispose] = () => dispose.call(sink);
  return gated;
}

/** Console lines wait at most this long to be written with the ones that follow (ms). */
const CONSOLE_BATCH_MS = 5;
/** A batch of console lines this large is written at once. */
const CONSOLE_BATCH_BYTES = 64 * 1024;

/**
 * Writes formatted records in batches: the lines of one moment go out in one synchronous write
 * within {@linkcode CONSOLE_BATCH_MS}, or at once when they reach {@linkcode CONSOLE_BATCH_BYTES}.
 * Under connection churn the console took three `write(2)`s per session (connected, registered,
 * disconnected): 17 % of the server's time, more than accepting the connections. Warnings and
 * errors are written at once (with what waits before them, in order), and disposal — LogTape's
 * reset at shutdown — writes what is left, so nothing is lost at a clean exit.
 */
function getWriterSink(
  writer: { writeSync(data: Uint8Array): number },
  format: TextFormatter,
): Sink & Disposable {
  const encoder = new TextEncoder();
  // Lines are encoded into the batch as they come: joined and encoded at the flush, the batch
  // cost a fresh array and a copy of every line (2 % of the server's time under churn).
  const batch = new Uint8Array(CONSOLE_BATCH_BYTES);
  let used = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const write = (data: Uint8Array) => {
    try {
      while (data.length > 0) data = data.subarray(writer.writeSync(data));
    } catch {
      // stderr closed (EPIPE) or the like: there is nowhere left to report it.
    }
  };
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (used === 0) return;
    const data = batch.subarray(0, used);
    used = 0;
    write(data);
  };
  const sink = (record: LogRecord): void => {
    const line = format(record);
    // Worst case three bytes per UTF-16 unit; encodeInto needs the room up front.
    if (used + line.length * 3 > CONSOLE_BATCH_BYTES) {
      flush();
      if (line.length * 3 > CONSOLE_BATCH_BYTES) return write(encoder.encode(line));
    }
    used += encoder.encodeInto(line, batch.subarray(used)).written;
    if (levelOrder[record.level] >= levelOrder.warning) flush();
    else if (timer === undefined) timer = setTimeout(flush, CONSOLE_BATCH_MS);
  };
  return Object.assign(sink, { [Symbol.dispose]: flush });
}

// ---------------------------------------------------------------------------------------------
// Formatters

/**
 * Shows a value in a text line: strings bare (an empty one, such as the name of a client that has
 * not sent one yet, as `-`), numbers and booleans plain, the rest inspected.
 */
function show(value: unknown, inspect: (value: unknown) => string): string {
  switch (typeof value) {
    case "string":
      return value === "" ? "-" : value;
    case "number":
    case "boolean":
    case "bigint":
      return String(value);
    default:
      return inspect(value);
  }
}

/** Renders an interpolated value, escaped so it stays on its line and inert on a terminal. */
function renderValue(value: unknown, inspect: (value: unknown) => string): string {
  return escapeUnsafe(show(value, inspect));
}

const inspectCompact = (value: unknown) => Deno.inspect(value, { compact: true });

/** Placeholder names of a message template, cached: templates are constants in the code. */
const templateKeys = new Map<string, ReadonlySet<string> | "all">();

function keysOf(template: string): ReadonlySet<string> | "all" {
  let keys = templateKeys.get(template);
  if (keys === undefined) {
    const found = new Set<string>();
    for (const match of template.matchAll(/\{([^{}]*)\}/g)) {
      const key = (match[1] ?? "").trim();
      found.add(key);
      found.add(key.split(/[.[]/, 1)[0] ?? key);
    }
    keys = found.has("*") ? "all" : found;
    if (templateKeys.size >= 1000) templateKeys.clear();
    templateKeys.set(template, keys);
  }
  return keys;
}

/** `key=value` pairs for the properties a record's message does not already show. */
function extraProperties(record: LogRecord): string {
  const props = record.properties;
  const keys = typeof record.rawMessage === "string" ? keysOf(record.rawMessage) : new Set();
  if (keys === "all") return "";
  let out = "";
  for (const key in props) {
    if (keys.has(key)) continue;
    const value = props[key];
    let text = show(value, inspectCompact);
    if (text === "" || /[\s"=]/.test(text)) text = JSON.stringify(text);
    out += ` ${escapeUnsafe(key)}=${escapeUnsafe(text)}`;
  }
  return out;
}

/**
 * The message of a {@linkcode logInfo} record whose template is plain text and whose values are
 * strings and numbers, rendered as LogTape's text formatter would (values through
 * {@linkcode renderValue}); undefined for any other record. Under connection churn LogTape's
 * generic rendering of the three records per session was 3 % of the server's time.
 */
function plainInfoMessage(record: LogRecord): string | undefined {
  if (record.level !== "info" || infoTemplateOf(record)?.plain !== true) return undefined;
  const message = record.message;
  let text = message[0] as string;
  for (let i = 1; i < message.length; i += 2) {
    const value = message[i];
    if (typeof value !== "string" && typeof value !== "number") return undefined;
    text += escapeUnsafe(show(value, inspectCompact)) + (message[i + 1] as string);
  }
  return text;
}

/**
 * The `server.log`/`errors.log` text line:
 * `2025-01-31T12:00:00.000Z [INF] switchboard.conn: connected 127.0.0.1:5000 ip=127.0.0.1 port=5000`.
 * UTC so lines sort and compare across machines; properties not in the message follow it.
 */
function getFileTextFormatter(): TextFormatter {
  const generic = getGenericFileTextFormatter();
  return (record) => {
    const message = plainInfoMessage(record);
    if (message === undefined) return generic(record);
    const time = Number.isInteger(record.timestamp)
      ? isoTime(record.timestamp)
      : new Date(record.timestamp).toISOString();
    return `${time} [INF] ${record.category.join(".")}: ${message}${extraProperties(record)}\n`;
  };
}

/** {@linkcode getFileTextFormatter} for any record, by LogTape's text formatter. */
function getGenericFileTextFormatter(): TextFormatter {
  return getTextFormatter({
    timestamp: "rfc3339",
    category: ".",
    value: renderValue,
    sanitize: { sgr: "escape", newlines: "escape" },
    format: ({ timestamp, level, category, message, record }) =>
      `${timestamp} [${level}] ${category}: ${message}${extraProperties(record)}`,
  });
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/** Local wall-clock time, `HH:MM:SS`: the operator reads it next to their own clock. */
function localTime(ts: number): string {
  const d = new Date(ts);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

const levelColors: Record<LogLevel, string> = {
  trace: "\x1b[2m",
  debug: "\x1b[34m",
  info: "\x1b[32m",
  warning: "\x1b[33m",
  error: "\x1b[31m",
  fatal: "\x1b[35m",
};

const levelNames: Record<LogLevel, string> = {
  trace: "trace",
  debug: "debug",
  info: "info ",
  warning: "warn ",
  error: "error",
  fatal: "fatal",
};

/** The console line: `12:00:00 info  connected 127.0.0.1:5000`, no category, no extras. */
function getConsoleTextFormatter(color: boolean): TextFormatter {
  const generic = getGenericConsoleTextFormatter(color);
  const info = color ? `\x1b[1m${levelColors.info}${levelNames.info}\x1b[0m` : levelNames.info;
  return (record) => {
    const message = plainInfoMessage(record);
    if (message === undefined) return generic(record);
    const time = localTime(record.timestamp);
    return color ? `\x1b[2m${time}\x1b[0m ${info} ${message}\n` : `${time} ${info} ${message}\n`;
  };
}

/** {@linkcode getConsoleTextFormatter} for any record, by LogTape's text formatter. */
function getGenericConsoleTextFormatter(color: boolean): TextFormatter {
  return getTextFormatter({
    timestamp: localTime,
    level: color
      ? (level) => `\x1b[1m${levelColors[level]}${levelNames[level]}\x1b[0m`
      : (level) => levelNames[level],
    value: renderValue,
    sanitize: { sgr: "escape", newlines: "escape" },
    format: color
      ? ({ timestamp, level, message }) => `\x1b[2m${timestamp}\x1b[0m ${level} ${message}`
      : ({ timestamp, level, message }) => `${timestamp} ${level} ${message}`,
  });
}
