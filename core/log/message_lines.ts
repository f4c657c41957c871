/**
 * Renders a {@linkcode MessageBatch} into the lines `server.log` gets for relayed messages, as
 * bytes, without building a string per line. A run's text is built once (it is cached per sender
 * while its name, target and recipient count stay the same); each entry then costs a few copies,
 * its size in digits and, when the batch carries texts, its text: copied as it is when a
 * word-at-a-time scan finds only printable ASCII, escaped byte by byte otherwise
 * (`escape_bytes.ts`). At a flood of 1 KiB echo lines this took the request log from a third of
 * the server's time to a few percent (docs/perf.md).
 *
 * Text lines read
 * `2025-01-31T12:00:00.000Z [INF] switchboard.traffic: message from alice (127.0.0.1:5000) to *: 2 recipients, 5 bytes: hello`
 * (without `: hello` when the batch has no texts, in `meta` mode); JSON lines are what LogTape's
 * JSON Lines formatter writes for the same record, the text as the property `text`.
 * @module
 */

import { escapeUnsafe } from "./escape.ts";
import {
  type EscapeFormat,
  isPlainAscii,
  MAX_ESCAPED_GROWTH,
  writeEscaped,
} from "./escape_bytes.ts";
import type { MessageBatch, MessageRun } from "./message_log.ts";

const encoder = new TextEncoder();
/** Cached sender templates kept at most; the cache starts over when it is full. */
const MAX_TEMPLATES = 4096;
/** Digits of the largest size an entry can have (a `Uint32Array` element). */
const MAX_DIGITS = 10;
/** Bytes of a line's timestamp part, and then some. */
const HEAD_BYTES = 40;

/**
 * What surrounds the sizes of one sender's lines: `pieces[0]` size `pieces[1]` (size
 * `pieces[2]`)…, the line's timestamp part coming before all of them; with texts, the escaped
 * text and `tail` follow.
 */
interface Template {
  readonly name: string;
  readonly target: string;
  readonly recipients: number;
  readonly category: string;
  readonly withText: boolean;
  readonly pieces: readonly Uint8Array[];
  /** What ends a line after its text; empty without texts. */
  readonly tail: Uint8Array;
  /** Bytes of every piece and the tail together. */
  readonly fixed: number;
}

/** Turns message batches into `server.log` lines in one of the two file formats. */
export class MessageLineRenderer {
  readonly #format: EscapeFormat;
  readonly #templates = new Map<string, Template>();
  #lastTime = NaN;
  #head: Uint8Array = new Uint8Array(0);
  /** Reused between calls: a batch's lines are written out before the next batch is rendered. */
  #out: Uint8Array = new Uint8Array(0);

  /** A renderer for `"text"` or `"json"` (JSON Lines) files. */
  constructor(format: "text" | "json") {
    this.#format = format;
  }

  /**
   * The lines of every entry of `batch`, in order, each ending with `\n`, as logged under
   * `category` (e.g. `switchboard.traffic`). The bytes are valid until the next call.
   */
  render(batch: MessageBatch, category: string): Uint8Array {
    const { sizes, text } = batch;
    const withText = text !== undefined;
    // Room for every line with its text as it is; an entry that needs escaping asks for more.
    let bound = text?.length ?? 0;
    const templates: Template[] = [];
    for (const run of batch.runs) {
      const template = this.#template(run, category, withText);
      templates.push(template);
      bound += run.count * (HEAD_BYTES + template.fixed + template.pieces.length * MAX_DIGITS);
    }
    let out = this.#reserve(0, bound);
    // Four bytes at a time where the texts start on a word boundary (always, from a MessageLog).
    const words = text !== undefined && (text.byteOffset & 3) === 0
      ? new Uint32Array(text.buffer, text.byteOffset, text.length >> 2)
      : undefined;
    const format = this.#format;
    let at = 0;
    let index = 0;
    let offset = 0;
    const runs = batch.runs;
    for (let r = 0; r < runs.length; r++) {
      const run = runs[r] as MessageRun;
      const { pieces, tail } = templates[r] as Template;
      const head = this.#timestamp(run.time);
      for (let i = 0; i < run.count; i++) {
        const size = sizes[index++] as number;
        out.set(head, at);
        at += head.length;
        out.set(pieces[0] as Uint8Array, at);
        at += (pieces[0] as Uint8Array).length;
        for (let p = 1; p < pieces.length; p++) {
          at = writeDecimal(out, at, size);
          const piece = pieces[p] as Uint8Array;
          out.set(piece, at);
          at += piece.length;
        }
        if (text === undefined) continue;
        const end = offset + size;
        if (isPlainAscii(text, words, offset, end, format)) {
          out.set(text.subarray(offset, end), at);
          at += size;
        } else {
          // The bound counted this text once; escaped it may take up to MAX_ESCAPED_GROWTH times.
          bound += (MAX_ESCAPED_GROWTH - 1) * size;
          out = this.#reserve(at, bound);
          const before = at;
          at = writeEscaped(out, at, text, offset, end, format);
          bound -= (MAX_ESCAPED_GROWTH - 1) * size - (at - before - size);
        }
        offset = end;
        out.set(tail, at);
        at += tail.length;
      }
    }
    return out.subarray(0, at);
  }

  /** The output buffer with room for `bound` bytes, keeping the first `used`. */
  #reserve(used: number, bound: number): Uint8Array {
    if (this.#out.length < bound) {
      const grown = new Uint8Array(Math.max(bound, this.#out.length * 2));
      grown.set(this.#out.subarray(0, used));
      this.#out = grown;
    }
    return this.#out;
  }

  /** The part of a line before its sender: the timestamp (and, in JSON, the object's start). */
  #timestamp(time: number): Uint8Array {
    if (time !== this.#lastTime) {
      this.#lastTime = time;
      const iso = new Date(time).toISOString();
      this.#head = encoder.encode(this.#format === "json" ? `{"@timestamp":"${iso}` : iso);
    }
    return this.#head;
  }

  #template(run: MessageRun, category: string, withText: boolean): Template {
    const cached = this.#templates.get(run.peer);
    if (
      cached !== undefined && cached.name === run.name && cached.target === run.target &&
      cached.recipients === run.recipients && cached.category === category &&
      cached.withText === withText
    ) {
      return cached;
    }
    const [texts, tailText] = this.#format === "json"
      ? jsonPieces(run, category, withText)
      : textPieces(run, category, withText);
    const pieces = texts.map((text) => encoder.encode(text));
    const tail = encoder.encode(tailText);
    const template: Template = {
      name: run.name,
      target: run.target,
      recipients: run.recipients,
      category,
      withText,
      pieces,
      tail,
      fixed: pieces.reduce((sum, piece) => sum + piece.length, tail.length),
    };
    if (this.#templates.size >= MAX_TEMPLATES) this.#templates.clear();
    this.#templates.set(run.peer, template);
    return template;
  }
}

/**
 * `<time> [INF] <category>: message from <name> (<peer>) to <target>: <n> recipients, <size> bytes`,
 * then `: <text>` when the line has one.
 */
function textPieces(run: MessageRun, category: string, withText: boolean): [string[], string] {
  const name = run.name === "" ? "-" : run.name;
  return [
    [
      ` [INF] ${category}: message from ${escapeUnsafe(name)} (${run.peer}) to ${
        escapeUnsafe(run.target)
      }: ${run.recipients} recipients, `,
      withText ? " bytes: " : " bytes\n",
    ],
    withText ? "\n" : "",
  ];
}

/**
 * The JSON object LogTape's `jsonLinesFormatter` would write, split around the two sizes and,
 * when the line has one, the text (the last property, `text`).
 */
function jsonPieces(run: MessageRun, category: string, withText: boolean): [string[], string] {
  const name = run.name === "" ? "-" : run.name;
  const { peer, target, recipients } = run;
  const message = `message from ${JSON.stringify(name)} (${JSON.stringify(peer)}) to ${
    JSON.stringify(target)
  }: ${recipients} recipients, `;
  const properties = JSON.stringify({ name, peer, target, recipients });
  return [
    [
      // The message string stays open: its size and " bytes" follow.
      `","level":"INFO","message":${JSON.stringify(message).slice(0, -1)}`,
      ` bytes","logger":${JSON.stringify(category)},"properties":${
        properties.slice(0, -1)
      },"bytes":`,
      withText ? `,"text":"` : "}}\n",
    ],
    withText ? `"}}\n` : "",
  ];
}

/** Writes `value` (a non-negative integer below 2³²) in decimal at `at`; returns the end. */
function writeDecimal(out: Uint8Array, at: number, value: number): number {
  let length = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) length++;
  let rest = value;
  for (let i = at + length - 1; i >= at; i--) {
    out[i] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return at + length;
}
