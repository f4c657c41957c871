/**
 * Tools for the property-based suite (`fuzz_test.ts`): a raw peer that checks every byte the
 * server sends as it arrives, the generators of hostile client scripts, and the run settings
 * (`SWITCHBOARD_FUZZ_RUNS`, `SWITCHBOARD_FUZZ_SEED`, `SWITCHBOARD_FUZZ_PATH`).
 * @module
 */

import { concat, readByteLines } from "./_byte_lines.ts";
import fc from "fast-check";
import { Wakeup } from "./_helpers.ts";

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** The longest line the fuzzed servers take, small so that generated lines cross it often. */
export const FUZZ_MAX_LINE_BYTES = 64;

// ---------------------------------------------------------------------------------------------
// Run settings.

/** Cases in total across the properties: `SWITCHBOARD_FUZZ_RUNS`, default 500. */
export function totalRuns(): number {
  const raw = Deno.env.get("SWITCHBOARD_FUZZ_RUNS");
  const runs = raw === undefined ? 500 : Number(raw);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`bad SWITCHBOARD_FUZZ_RUNS: ${raw}`);
  return runs;
}

/**
 * fast-check parameters for one property getting `share` of the total runs. A seed (and a path,
 * to go straight to a shrunk case) from the environment replays a failure; otherwise the seed is
 * fresh and printed with any failure, together with the command that replays it.
 */
export function fuzzParameters(share: number, testName: string): fc.Parameters<unknown> & {
  seed: number;
} {
  const seedText = Deno.env.get("SWITCHBOARD_FUZZ_SEED");
  const path = Deno.env.get("SWITCHBOARD_FUZZ_PATH");
  const seed = seedText === undefined ? (Math.random() * 2 ** 31) | 0 : Number(seedText);
  const numRuns = Math.max(1, Math.round(totalRuns() * share));
  const replay = `SWITCHBOARD_FUZZ_SEED=${seed}` +
    ` deno test -P=test tests/fuzz_test.ts --filter ${JSON.stringify(testName)}`;
  return {
    seed,
    numRuns,
    ...(path === undefined ? {} : { path }),
    reporter(details) {
      if (!details.failed) return;
      // The default report (seed, path, counterexample, error), then how to replay it here.
      const report = fc.defaultReportMessage(details) ?? "property failed";
      const error = details.errorInstance instanceof Error
        ? details.errorInstance.stack ?? details.errorInstance.message
        : String(details.errorInstance);
      throw new Error(
        `${report}\n\nError: ${error}\n\nReplay: ${replay}` +
          (details.counterexamplePath === null
            ? ""
            : ` (shrunk case: SWITCHBOARD_FUZZ_PATH=${
              JSON.stringify(details.counterexamplePath)
            })`),
      );
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Checking what the server sends.

/**
 * Why a line the server sent is not a valid `sb/1` line, or `undefined` when it is: it must be
 * UTF-8 and free of control characters (C0, DEL, C1). Tab is the one exception, as the protocol
 * lets it through in text ("Liveness and limits": C0 except tab is replaced).
 */
export function lineProblem(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = strictDecoder.decode(bytes);
  } catch {
    return "invalid UTF-8";
  }
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if ((code < 0x20 && code !== 0x09) || (code >= 0x7f && code <= 0x9f)) {
      return `control character U+${code.toString(16).padStart(4, "0")}`;
    }
  }
  return undefined;
}

function hex(bytes: Uint8Array): string {
  return [...bytes.subarray(0, 200)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

/**
 * A raw TCP peer that reads in the background and checks every line as it arrives. It never
 * requests a download, so every byte it gets belongs to a line: a problem found is kept in
 * `problems` (with the bytes in hex), and the lines are kept decoded.
 */
export class RawPeer implements AsyncDisposable {
  readonly conn: Deno.TcpConn;
  /** Every line received, decoded (invalid ones as replacement characters). */
  readonly lines: string[] = [];
  /** Lines that broke the rules, described. */
  readonly problems: string[] = [];
  /** Resolves when the server closed the connection (or it failed). */
  readonly ended: Promise<void>;
  #done = false;
  readonly #wakeup = new Wakeup();

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.ended = this.#read();
  }

  /** Connects to `port` on 127.0.0.1. */
  static async open(port: number): Promise<RawPeer> {
    return new RawPeer(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** True once the connection has ended. */
  get done(): boolean {
    return this.#done;
  }

  /** Writes all of `bytes`; false if the connection would not take them (closed by the server). */
  async write(bytes: Uint8Array): Promise<boolean> {
    try {
      for (let offset = 0; offset < bytes.length;) {
        offset += await this.conn.write(bytes.subarray(offset));
      }
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the sending side: the server sees the end of the stream. */
  async closeWrite(): Promise<void> {
    try {
      await this.conn.closeWrite();
    } catch {
      // Already closed by the server.
    }
  }

  /** Waits until a line satisfies `predicate` (scanning from `from`); returns its index. */
  async waitForLine(predicate: (line: string) => boolean, timeoutMs: number, from = 0) {
    const deadline = Date.now() + timeoutMs;
    for (let index = from;;) {
      for (; index < this.lines.length; index++) if (predicate(this.lines[index]!)) return index;
      if (this.#done) throw new Error(`connection ended; last lines ${this.#tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`no such line within ${timeoutMs} ms; last lines ${this.#tail()}`);
      }
      await this.#wakeup.wait(left);
    }
  }

  #tail(): string {
    return JSON.stringify(this.lines.slice(-5));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
    await this.ended;
  }

  async #read(): Promise<void> {
    const tail = await readByteLines(
      this.conn,
      (bytes, start, end) => this.#line(bytes.subarray(start, end)),
      { onChunk: () => this.#wakeup.notify() },
    );
    if (tail.length > 0) this.problems.push(`unterminated last line: ${hex(tail)}`);
    this.#done = true;
    this.#wakeup.notify();
  }

  #line(bytes: Uint8Array): void {
    const problem = lineProblem(bytes);
    if (problem !== undefined) this.problems.push(`${problem}: ${hex(bytes)}`);
    this.lines.push(new TextDecoder().decode(bytes));
  }
}

// ---------------------------------------------------------------------------------------------
// Client scripts.

/** One step of a hostile client; rendered to bytes by {@linkcode render}. */
export type Op =
  | { kind: "line"; text: string }
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "pm"; target: string }
  | { kind: "long"; extra: number }
  | {
    kind: "payload";
    verb: "put" | "send";
    target: string;
    name: string;
    size: string;
    body: Uint8Array;
    honestHash: boolean;
  };

/** Names the chaos clients register as and address. `nobody` is never online. */
export const CHAOS_NAMES = ["alice", "bob", "carol", "dave"] as const;
const PM_TARGETS = [...CHAOS_NAMES, "ALICE", "observer", "sender", "nobody"];

const COMMANDS = [
  ":help",
  ":groups",
  ":list",
  ":ping",
  ":pong",
  ":ack on",
  ":ack off",
  ":ack maybe",
  ":frobnicate",
  ":",
  "::",
  "::-)",
  ":: :pm bob hi",
  "exit",
  ":quit",
  ":pm",
  ":pm bob",
  ":group",
  ":group create g1",
  ":group create #g2",
  ":group join g1",
  ":group join #g2",
  ":group leave g1",
  ":group members g1",
  ":group send g1 hello group",
  ":group send #g2 \x1b[31mred",
  ":group explode g1",
  ":name",
  ":auth wrong",
  ":login",
  ":login alice",
  ":login nobody guess",
  ":kick bob",
  ":stats",
  ":get nothing",
  ":files",
  ":decline 7",
  ":run nothing",
  "hello lobby",
  "bell\x07 esc\x1b[2J del\x7f c1\u0085 bidi\u202e ls\u2028 tab\tend",
  "\r",
  "",
  " ",
  "日本語 👋 e\u0301",
];

/** Interesting fragments for byte streams: lines that mean something, and broken encodings. */
const FRAGMENTS = [
  "\n",
  "\r\n",
  "alice\n",
  ":put a 5 ",
  ":put a 3 " + "0".repeat(64) + "\n",
  ":send bob x 4 " + "0".repeat(64) + "\n",
  ":pm observer ",
  ":group send g1 ",
  "::",
  "exit\n",
  ":help\n",
].map((text) => encoder.encode(text));
const BROKEN = [
  [0xff],
  [0xc0, 0xaf], // overlong "/"
  [0xed, 0xa0, 0x80], // a surrogate
  [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
  [0xe6, 0x97], // a character cut short
  [0xc2, 0x85], // NEL, a C1 control
  [0x00],
  [0x1b, 0x5b],
].map((bytes) => new Uint8Array(bytes));

/** Random bytes with meaningful fragments and broken encodings mixed in. */
export const byteStream: fc.Arbitrary<Uint8Array> = fc
  .array(
    fc.oneof(
      { arbitrary: fc.uint8Array({ maxLength: 80 }), weight: 3 },
      { arbitrary: fc.constantFrom(...FRAGMENTS), weight: 2 },
      { arbitrary: fc.constantFrom(...BROKEN), weight: 2 },
      {
        arbitrary: fc.string({ unit: "binary", maxLength: 40 }).map((s) => encoder.encode(s)),
        weight: 1,
      },
    ),
    { maxLength: 40, size: "medium" },
  )
  .map(concat);

const sizeWord = (body: Uint8Array) =>
  fc.oneof(
    { arbitrary: fc.constant(String(body.length)), weight: 2 },
    { arbitrary: fc.nat({ max: 200 }).map(String), weight: 3 }, // a lie, mostly
    {
      arbitrary: fc.constantFrom("lots", "-1", "1e3", "0x10", "", "9".repeat(16), "٣", "+5"),
      weight: 1,
    },
  );

const payloadOp: fc.Arbitrary<Op> = fc
  .record({
    verb: fc.constantFrom("put" as const, "send" as const),
    target: fc.constantFrom("bob", "observer", "#g1", "nobody"),
    name: fc.constantFrom("a.txt", "../x", "con", "b", "x".repeat(200)),
    body: fc.oneof(
      fc.uint8Array({ maxLength: 120 }),
      fc.constantFrom(...FRAGMENTS).map((f) => concat([f, encoder.encode(":pm bob sneaky\n")])),
    ),
    honestHash: fc.boolean(),
  })
  .chain((fields) =>
    sizeWord(fields.body).map((size) => ({ kind: "payload" as const, size, ...fields }))
  );

/** One step: commands, lobby lines, PMs, over-long lines, broken bytes, lying payloads. */
export const op: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.constantFrom(...COMMANDS).map((text) => ({ kind: "line" as const, text })),
    weight: 6,
  },
  {
    arbitrary: fc.string({ unit: "binary", maxLength: 70 }).map((text) => ({
      kind: "line" as const,
      text,
    })),
    weight: 2,
  },
  {
    arbitrary: fc.constantFrom(...CHAOS_NAMES).map((text) => ({ kind: "line" as const, text })),
    weight: 1,
  },
  {
    arbitrary: fc.constantFrom(...PM_TARGETS).map((target) => ({ kind: "pm" as const, target })),
    weight: 3,
  },
  { arbitrary: fc.nat({ max: 300 }).map((extra) => ({ kind: "long" as const, extra })), weight: 1 },
  { arbitrary: byteStream.map((bytes) => ({ kind: "bytes" as const, bytes })), weight: 1 },
  { arbitrary: payloadOp, weight: 2 },
);

/** Only lying and honest payloads, after a name. */
export const payloadOps: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof({ arbitrary: payloadOp, weight: 3 }, { arbitrary: op, weight: 1 }),
  { minLength: 1, maxLength: 8 },
);

/** How a stream is cut into writes: sizes cycled through, 1 byte per write included. */
export const chunking: fc.Arbitrary<readonly number[]> = fc.oneof<
  fc.Arbitrary<readonly number[]>[]
>(
  fc.constant([1]),
  fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 12 }),
  fc.constant([1 << 20]),
);

/**
 * The bytes of a script. A PM carries a token naming its addressee (`tok<n>for<name>`), so a
 * recipient can tell a PM meant for someone else; `pmCounter` makes tokens unique.
 */
export async function render(ops: readonly Op[], pmCounter: { next: number }): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const step of ops) {
    switch (step.kind) {
      case "line":
        parts.push(encoder.encode(step.text + "\n"));
        break;
      case "bytes":
        parts.push(step.bytes, encoder.encode("\n"));
        break;
      case "pm":
        parts.push(
          encoder.encode(
            `:pm ${step.target} tok${pmCounter.next++}for${step.target.toLowerCase()}\n`,
          ),
        );
        break;
      case "long":
        parts.push(encoder.encode("L".repeat(FUZZ_MAX_LINE_BYTES + 1 + step.extra) + "\n"));
        break;
      case "payload": {
        const hash = step.honestHash ? await sha256Hex(step.body) : "0".repeat(64);
        const to = step.verb === "send" ? `${step.target} ` : "";
        parts.push(
          encoder.encode(`:${step.verb} ${to}${step.name} ${step.size} ${hash}\n`),
          step.body,
        );
        break;
      }
    }
  }
  return concat(parts);
}

/** Cuts `bytes` into writes whose sizes cycle through `sizes`. */
export function cut(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let offset = 0, i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    pieces.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return pieces;
}

/** SHA-256 of `bytes` in lower-case hex. */
async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice()));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}
