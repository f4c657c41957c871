/**
 * Renders a {@linkcode MessageBatch} into the lines `server.log` gets for relayed messages, as
 * bytes, without building a string per line. A run's text is built once (it is cached per sender
 * while its name, target and recipient count stay the same); each entry then costs two or three
 * copies and its size in digits. At a flood of 1 KiB echo lines this took the request log from a
 * third of the server's time to a few percent (docs/perf.md).
 *
 * Text lines read
 * `2025-01-31T12:00:00.000Z [INF] switchboard.traffic: message from alice (127.0.0.1:5000) to *: 2 recipients, 5 bytes`;
 * JSON lines are what LogTape's JSON Lines formatter writes for the same record.
 * @module
 */

import { escapeUnsafe } from "./escape.ts";
import type { MessageBatch, MessageRun } from "./message_log.ts";

const encoder = new TextEncoder();
/** Cached sender templates kept at most; the cache starts over when it is full. */
const MAX_TEMPLATES = 4096;
/** Digits of the largest size an entry can have (a `Uint32Array` element). */
const MAX_DIGITS = 10;

/**
 * What surrounds the sizes of one sender's lines: `pieces[0]` size `pieces[1]` (size
 * `pieces[2]`)…, the line's timestamp part coming before all of them.
 */
interface Template {
  readonly name: string;
  readonly target: string;
  readonly recipients: number;
  readonly category: string;
  readonly pieces: readonly Uint8Array[];
  /** Bytes of every piece together. */
  readonly fixed: number;
}

/** Turns message batches into `server.log` lines in one of the two file formats. */
export class MessageLineRenderer {
  readonly #format: "text" | "json";
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
    const sizes = batch.sizes;
    let bound = 0;
    const templates: Template[] = [];
    for (const run of batch.runs) {
      const template = this.#template(run, category);
      templates.push(template);
      bound += run.count * (40 + template.fixed + template.pieces.length * MAX_DIGITS);
    }
    if (this.#out.length < bound) this.#out = new Uint8Array(Math.max(bound, this.#out.length * 2));
    const out = this.#out;
    let at = 0;
    let index = 0;
    const runs = batch.runs;
    for (let r = 0; r < runs.length; r++) {
      const run = runs[r] as MessageRun;
      const { pieces } = templates[r] as Template;
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
      }
    }
    return out.subarray(0, at);
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

  #template(run: MessageRun, category: string): Template {
    const cached = this.#templates.get(run.peer);
    if (
      cached !== undefined && cached.name === run.name && cached.target === run.target &&
      cached.recipients === run.recipients && cached.category === category
    ) {
      return cached;
    }
    const texts = this.#format === "json" ? jsonPieces(run, category) : textPieces(run, category);
    const pieces = texts.map((text) => encoder.encode(text));
    const template: Template = {
      name: run.name,
      target: run.target,
      recipients: run.recipients,
      category,
      pieces,
      fixed: pieces.reduce((sum, piece) => sum + piece.length, 0),
    };
    if (this.#templates.size >= MAX_TEMPLATES) this.#templates.clear();
    this.#templates.set(run.peer, template);
    return template;
  }
}

/** `<time> [INF] <category>: message from <name> (<peer>) to <target>: <n> recipients, <size> bytes`. */
function textPieces(run: MessageRun, category: string): string[] {
  const name = run.name === "" ? "-" : run.name;
  return [
    ` [INF] ${category}: message from ${escapeUnsafe(name)} (${run.peer}) to ${
      escapeUnsafe(run.target)
    }: ${run.recipients} recipients, `,
    " bytes\n",
  ];
}

/** The JSON object LogTape's `jsonLinesFormatter` would write, split around the two sizes. */
function jsonPieces(run: MessageRun, category: string): string[] {
  const name = run.name === "" ? "-" : run.name;
  const { peer, target, recipients } = run;
  const message = `message from ${JSON.stringify(name)} (${JSON.stringify(peer)}) to ${
    JSON.stringify(target)
  }: ${recipients} recipients, `;
  const properties = JSON.stringify({ name, peer, target, recipients });
  return [
    // The message string stays open: its size and " bytes" follow.
    `","level":"INFO","message":${JSON.stringify(message).slice(0, -1)}`,
    ` bytes","logger":${JSON.stringify(category)},"properties":${properties.slice(0, -1)},"bytes":`,
    "}}\n",
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
