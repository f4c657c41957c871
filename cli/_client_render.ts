/**
 * How the `client` program shows things: server events as short readable lines (timestamped,
 * senders in stable colours, private and group messages, notices and errors each in their own
 * style) or as JSON records for other programs. Pure functions; private to `cli/`.
 * @module
 */

import { localDateTime } from "./_local_time.ts";
import { styleText } from "node:util";
import type { ClientLineEvent, ReceivedLine } from "../core/client/events.ts";
import { neutralize, splitWords } from "../core/protocol/grammar.ts";
import { formatBytes } from "./_client_progress.ts";
import { type ColourDepth, inSwatch, palette, SenderColours } from "./_client_colours.ts";
import { actionOf } from "./_client_commands.ts";
import { markMentions, mentions } from "./_client_notify.ts";
import { groupSendParts } from "./_client_presence.ts";

/** A `styleText` format name. */
type Style = Parameters<typeof styleText>[0];

/** Applies styles to text, or leaves it plain. */
export interface Painter {
  /** Styles `text` (unchanged when colours are off). */
  paint(style: Style, text: string): string;
  /** A sender's name in its colour (see cli/_client_colours.ts). */
  sender(name: string): string;
  /** Your own name: bold, in no sender's colour. */
  self(name: string): string;
  /** The session's sender colours (`undefined` when colours are off). */
  colours: SenderColours | undefined;
}

/**
 * A painter. With `color` false every method returns plain text; `depth` picks the sender
 * palette (256 colours, or the basic ones).
 *
 * @example
 * ```ts
 * import { painter } from "./_client_render.ts";
 * console.assert(painter(false).sender("alice") === "alice");
 * ```
 */
export function painter(color: boolean, depth: ColourDepth = 16): Painter {
  const paint = (style: Style, text: string) =>
    color ? styleText(style, text, { validateStream: false }) : text;
  const colours = color ? new SenderColours(palette(depth)) : undefined;
  return {
    paint,
    sender: (name) => colours === undefined ? name : inSwatch(colours.of(name), name),
    self: (name) => paint("bold", name),
    colours,
  };
}

/** `HH:MM:SS` in local time. */
export function clock(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/** Context for rendering: who "you" are and how to paint. */
export interface RenderContext {
  /** This client's current name. */
  me: string | undefined;
  /** Styles. */
  paint: Painter;
  /** The file name of an offer this client made, for its receipts. */
  offerName?: ((id: number) => string | undefined) | undefined;
}

/**
 * One server event as a line for a person, without timestamp; `undefined` for events not worth
 * a line (the `OK` of `:help`, a `BYE` the disconnect notice explains, …).
 */
export function renderLine(received: ReceivedLine, ctx: RenderContext): string | undefined {
  const { event, command } = received;
  const p = ctx.paint;
  const note = (text: string) => p.paint("gray", text);
  switch (event.type) {
    case "message": {
      const text = clean(event.text);
      if (event.from === "server") return `${p.paint(["bold", "yellow"], "[server]")} ${text}`;
      const from = clean(event.from);
      const mine = ctx.me !== undefined && from.toLowerCase() === ctx.me.toLowerCase();
      const name = mine ? p.self(from) : p.sender(from);
      const where = event.target === "*" ? "" : `${p.paint("cyan", `[${clean(event.target)}]`)} `;
      // A mention of you is bold, your name in reverse video (see cli/_client_notify.ts).
      const said = (words: string) =>
        mine || !mentions(words, ctx.me)
          ? words
          : p.paint("bold", markMentions(words, ctx.me ?? "", (w) => p.paint("inverse", w)));
      const action = actionOf(from, text);
      if (action !== undefined) return `${where}${p.paint("italic", "*")} ${name} ${said(action)}`;
      return `${where}<${name}> ${said(text)}`;
    }
    case "private":
      return `${p.paint(["bold", "magenta"], "[pm from")} ${p.sender(clean(event.from))}${
        p.paint(["bold", "magenta"], "]")
      } ${clean(event.text)}`;
    case "join":
      return note(
        `→ ${clean(event.name)} joined${event.target === "*" ? "" : ` ${clean(event.target)}`}`,
      );
    case "leave": {
      const where = event.target === "*" ? "" : ` ${clean(event.target)}`;
      return note(`← ${clean(event.name)} left${where} (${clean(event.reason)})`);
    }
    case "nick":
      if (ctx.me !== undefined && event.to.toLowerCase() === ctx.me.toLowerCase()) {
        return note(`you are now known as ${clean(event.to)}`);
      }
      return note(`${clean(event.from)} is now known as ${clean(event.to)}`);
    case "kick":
      return note(`${clean(event.name)} was kicked (${clean(event.text)})`);
    case "ok":
      return renderOk(event.verb, event.params, command, ctx);
    case "error": {
      const what = command === undefined ? "" : `${clean(command)}: `;
      return p.paint("red", `✗ ${what}${clean(event.text)} (${clean(event.code)})`);
    }
    case "bye":
    case "hello":
    case "welcome":
    case "ping":
      return undefined;
    case "user":
      return `  ${p.sender(clean(event.name))}${
        event.address === undefined ? "" : note(` ${clean(event.address)}`)
      }`;
    case "group":
      return `  ${p.paint("cyan", clean(event.target))} ${note(plural(event.members, "member"))}`;
    case "member":
      return `  ${p.sender(clean(event.name))}`;
    case "stat":
      return `  ${clean(event.key)} ${clean(event.value)}`;
    case "help":
      return `  ${clean(event.text)}`;
    case "whoami": {
      const groups = event.groups.length === 0 ? "no groups" : event.groups.map(clean).join(" ");
      return note(
        `you are ${clean(event.name)} from ${clean(event.address)} (${
          clean(event.role)
        }), in ${groups}`,
      );
    }
    case "echo":
      return `${p.paint("cyan", "echo:")} ${clean(event.text)}`;
    case "file":
    case "ack":
      // A download's summary line says it all; a confirmed message needs no line.
      return undefined;
    case "fileinfo":
      return `  ${clean(event.name)}  ${
        note(
          `${formatBytes(event.size)}  by ${clean(event.uploader)}  ` +
            `${clean(localDateTime(event.time))}  sha256 ${clean(event.sha256.slice(0, 16))}…`,
        )
      }`;
    case "offer": {
      const to = event.to.startsWith("#") ? ` to ${clean(event.to)}` : "";
      return `${p.paint(["bold", "cyan"], `⇣ offer ${event.id}:`)} ${
        p.sender(clean(event.from))
      }${to} offers ${clean(event.name)} (${formatBytes(event.size)})`;
    }
    case "receipt": {
      const name = ctx.offerName?.(event.id);
      const text = `offer ${event.id}${name === undefined ? "" : ` (${clean(name)})`} → ${
        clean(event.user)
      }: ${clean(event.outcome)}`;
      return event.outcome === "delivered" ? note(`✓ ${text}`) : p.paint("yellow", `• ${text}`);
    }
    case "stdout":
      return `${p.paint("cyan", `[${clean(event.name)}]`)} ${clean(event.text)}`;
    case "stderr":
      return `${p.paint("yellow", `[${clean(event.name)} stderr]`)} ${clean(event.text)}`;
    case "command":
      return `  ${clean(event.name)} ${
        note(`${event.role === "admin" ? "admin only, " : ""}timeout ${event.timeout} s`)
      }`;
    case "nack": {
      const what = command === undefined
        ? `message ${event.seq}`
        : JSON.stringify(shorten(clean(command), 40));
      return p.paint(
        "red",
        `✗ not delivered: ${what}: ${clean(event.text)} (${clean(event.code)})`,
      );
    }
    case "history": {
      // A stored message: dimmed, with the time it was said (the line's own time is now).
      const where = event.target === "*" ? "" : `[${clean(event.target)}] `;
      return note(
        `${localDateTime(event.time)} ${where}<${clean(event.from)}> ${clean(event.text)}`,
      );
    }
    case "session":
      // The library keeps it for a resume; nothing for a person.
      return undefined;
    case "unknown":
      return note(clean(event.line));
  }
}

/** Confirmations of commands, phrased for a person. */
function renderOk(
  verb: string,
  params: string[],
  command: string | undefined,
  ctx: RenderContext,
): string | undefined {
  const p = ctx.paint;
  const ok = (text: string) => p.paint("gray", `✓ ${text}`);
  const [a = "", b = "", c = ""] = params.map(clean);
  switch (verb) {
    case "pm": {
      const [, , text = ""] = command === undefined ? [] : splitWords(command, 2);
      return `${p.paint(["bold", "magenta"], "[pm to")} ${p.sender(a)}${
        p.paint(["bold", "magenta"], "]")
      } ${clean(text)}`;
    }
    case "group":
      switch (a) {
        case "create":
          return ok(`created and joined #${b}`);
        case "join":
          return ok(`joined #${b}`);
        case "leave":
          return ok(`left #${b}`);
        case "members":
          return ok(`#${b}: ${plural(Number(c), "member")}`);
        case "send": {
          // Your own group message, shown like everyone else's: the server does not echo it.
          const sent = command === undefined ? undefined : groupSendParts(command);
          if (sent === undefined || ctx.me === undefined) return undefined;
          return `${p.paint("cyan", `[#${clean(sent.group)}]`)} <${p.sender(clean(ctx.me))}> ${
            clean(sent.text)
          }`;
        }
      }
      return ok(params.join(" "));
    case "groups":
      return ok(plural(Number(a), "group"));
    case "list":
      return ok(`${a} online`);
    case "ping":
      return ok("the server answered");
    case "auth":
      return ok("you are an admin now");
    case "kick":
      return ok(`kicked ${a}`);
    case "rename":
      return ok(`renamed ${a} to ${b}`);
    case "shutdown":
      return ok(`the server is shutting down (grace ${a} s)`);
    case "files":
      return ok(`${plural(Number(a), "file")} in the shared area`);
    case "rm":
      return ok(`removed ${a}`);
    case "decline":
      return ok(`declined offer ${a}`);
    case "commands":
      return ok(plural(Number(a), "command"));
    case "run":
      return b === "0" ? ok(`${a} exited with 0`) : p.paint("red", `✗ ${a} exited with ${b}`);
    case "ack":
      return ok(`acknowledgements ${a}`);
    case "name":
    case "help":
    case "whoami":
    case "stats":
    // Transfers end with a summary line of their own.
    case "put":
    case "get":
    case "send":
    case "accept":
      return undefined;
    default:
      return ok([verb, ...params].map(clean).join(" "));
  }
}

/**
 * One server event as a JSON record: `type` and `time` (ISO 8601), then the event's own
 * fields (`from`, `target`, `text`, `name`, `code`, …), and `command` for the answer to a
 * command this client sent.
 *
 * @example
 * ```ts
 * import { jsonRecord } from "./_client_render.ts";
 * const record = jsonRecord({
 *   event: { type: "private", from: "bob", text: "hi", line: "PM bob :hi" },
 *   command: undefined,
 *   registration: false,
 * }, new Date(0));
 * console.assert(JSON.stringify(record) === '{"type":"private","time":"1970-01-01T00:00:00.000Z","from":"bob","text":"hi"}');
 * ```
 */
export function jsonRecord(received: ReceivedLine, time: Date): Record<string, unknown> {
  return eventRecord(received.event, time, received.command);
}

/** The JSON record of an event (see {@linkcode jsonRecord}). */
export function eventRecord(
  event: ClientLineEvent,
  time: Date,
  command?: string,
): Record<string, unknown> {
  const { type, line: _line, ...fields } = event;
  const record: Record<string, unknown> = { type, time: time.toISOString(), ...fields };
  if (event.type === "unknown") record.text = event.line;
  if (command !== undefined) record.command = command;
  return record;
}

function shorten(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** Server text is neutralised by the server already; a client trusts no one with its terminal. */
function clean(text: string): string {
  return neutralize(text);
}
