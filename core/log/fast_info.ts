/**
 * Routine info records without LogTape's logger machinery. Every session logs three of them
 * (`connected`, `registered`, `disconnected`), and LogTape's `Logger.info` — template parsing,
 * lazy properties, context and scoped-configuration lookups, the sink plan — cost more than the
 * sinks themselves: 12 % of the server's time under connection churn. {@linkcode logInfo} builds
 * the record LogTape would build and hands it to the same sinks, in the same order, so
 * `server.log`, `errors.log` and the console read exactly as before.
 *
 * The shortcut is taken only while the configuration {@linkcode configureLogging} installed is in
 * force (it registers its sinks here with {@linkcode setInfoRoute}); under any other LogTape
 * configuration (a test's, an embedder's) records go through LogTape as usual.
 * @module
 */

import { getConfig, getLogger, type Logger, type LogRecord, type Sink } from "@logtape/logtape";

/**
 * A message template parsed once (`"connected {peer}"`), for {@linkcode logInfo}. Only plain
 * `{key}` placeholders: no `{{` escapes, no paths, no `{*}`.
 *
 * @example
 * ```ts
 * import { InfoTemplate } from "./fast_info.ts";
 * const template = new InfoTemplate("connected {peer}");
 * console.assert(template.keys[0] === "peer");
 * ```
 */
export class InfoTemplate {
  /** The template as written: the record's `rawMessage`. */
  readonly raw: string;
  /** The text between placeholders (one more than the keys). */
  readonly parts: readonly string[];
  /** The placeholders' property names, in order. */
  readonly keys: readonly string[];
  /**
   * The text around the placeholders is printable ASCII, which LogTape's formatters leave as it
   * is: a formatter may then render the record without sanitizing it (see `configure.ts`).
   */
  readonly plain: boolean;

  /**
   * Parses `raw`.
   * @throws {RangeError} for a template this parser does not read as LogTape would.
   */
  constructor(raw: string) {
    if (/\{\{|\}\}|\{[^{}]*[^\w{}][^{}]*\}/.test(raw)) {
      throw new RangeError(`only plain {key} placeholders: ${raw}`);
    }
    this.raw = raw;
    const parts: string[] = [];
    const keys: string[] = [];
    let start = 0;
    for (const match of raw.matchAll(/\{(\w+)\}/g)) {
      parts.push(raw.slice(start, match.index));
      keys.push(match[1]!);
      start = match.index + match[0].length;
    }
    parts.push(raw.slice(start));
    this.parts = parts;
    this.keys = keys;
    this.plain = /^[\x20-\x7e]*$/.test(raw);
  }
}

/** Where info records of the `switchboard` categories (but `traffic`) go: see the module doc. */
interface InfoRoute {
  /** The LogTape configuration this route belongs to. */
  readonly config: unknown;
  /** The sinks, in LogTape's order; empty when info records are dropped. */
  readonly sinks: readonly Sink[];
}

let route: InfoRoute | undefined;

/** The property of a {@linkcode logInfo} record that holds its template. */
const TEMPLATE = Symbol("infoTemplate");

/**
 * The template a record was logged with by {@linkcode logInfo}, or undefined for any other
 * record: a formatter that knows the template's text is plain can skip LogTape's generic work.
 */
export function infoTemplateOf(record: LogRecord): InfoTemplate | undefined {
  return (record as { [TEMPLATE]?: InfoTemplate })[TEMPLATE];
}

/**
 * Registers the sinks that receive info records of the `switchboard` categories (`traffic`
 * excepted) while the LogTape configuration `config` is in force; `undefined` removes the route.
 * For `configure.ts`, which knows both.
 */
export function setInfoRoute(config: unknown, sinks: readonly Sink[] | undefined): void {
  route = sinks === undefined ? undefined : { config, sinks };
}

const meta = getLogger(["logtape", "meta"]);

/**
 * Logs an info record as `logger.info(template.raw, properties)` would, more cheaply when
 * {@linkcode configureLogging}'s configuration is in force. `properties` becomes the record's:
 * pass a fresh object.
 *
 * @example
 * ```ts
 * import { getLogger } from "@logtape/logtape";
 * import { InfoTemplate, logInfo } from "./fast_info.ts";
 * const connected = new InfoTemplate("connected {peer}");
 * logInfo(getLogger(["switchboard", "conn"]), connected, { peer: "127.0.0.1:4000" });
 * ```
 */
export function logInfo(
  logger: Logger,
  template: InfoTemplate,
  properties: Record<string, unknown>,
): void {
  const current = route;
  const category = logger.category;
  if (
    current === undefined || getConfig() !== current.config || category[0] !== "switchboard" ||
    category[1] === "traffic"
  ) {
    logger.info(template.raw, properties);
    return;
  }
  const sinks = current.sinks;
  if (sinks.length === 0) return;
  const { parts, keys } = template;
  const message: unknown[] = [parts[0]];
  for (let i = 0; i < keys.length; i++) message.push(properties[keys[i]!], parts[i + 1]);
  const record: LogRecord & { [TEMPLATE]: InfoTemplate } = {
    category,
    level: "info",
    message,
    rawMessage: template.raw,
    timestamp: Date.now(),
    properties,
    [TEMPLATE]: template,
  };
  for (const sink of sinks) {
    try {
      sink(record);
    } catch (error) {
      // As LogTape does for a sink that throws.
      meta.fatal("Failed to emit a log record to sink {sink}: {error}", { sink, error, record });
    }
  }
}
