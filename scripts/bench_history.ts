/**
 * `deno task bench:history`: what the message history (issue 16) costs where the fan-out run of
 * `deno task bench` does not look.
 *
 * 1. Fills a history with 1 000 000 lobby messages through the store's own batch path (the
 *    batches the recorder hands over), then starts the `server` program on it and times
 *    `:history 1000` over TCP, from the line sent to its `OK history`, for the newest page, a
 *    page in the middle (`before <id>`), and a group's.
 * 2. Floods a server with acknowledged lobby lines (`:ack on`: each ACK waits for the batch to be
 *    committed) with the history on and off, and reports messages per second for both.
 *
 * ```sh
 * deno task bench:history                 # 1 M rows, 20 queries, 200 000 acknowledged lines
 * deno task bench:history --rows 100000 --queries 5 --acked 20000
 * ```
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { HistoryStore } from "../core/server/history/store.ts";
import type { RecordedBatch } from "../core/server/record.ts";
import { LOBBY } from "../core/server/record.ts";
import type { ServerProcess } from "./bench/server_process.ts";
import { startSwitchboard } from "./bench/switchboard.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const opts = parseArgs({
  args: Deno.args,
  options: {
    rows: { type: "string", default: "1000000" },
    queries: { type: "string", default: "20" },
    acked: { type: "string", default: "200000" },
  },
}).values;
const ROWS = Number(opts.rows);
const QUERIES = Number(opts.queries);
const ACKED = Number(opts.acked);

/** A line reader over one TCP connection (splits each read at once: no quadratic copying). */
class Lines {
  readonly conn: Deno.TcpConn;
  #partial = "";
  #ready: string[] = [];
  #at = 0;
  #bytes = new Uint8Array(256 * 1024);
  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }
  async next(): Promise<string> {
    while (this.#at >= this.#ready.length) {
      const n = await this.conn.read(this.#bytes);
      if (n === null) throw new Error("connection closed");
      const parts = (this.#partial + decoder.decode(this.#bytes.subarray(0, n), { stream: true }))
        .split("\n");
      this.#partial = parts.pop() ?? "";
      this.#ready = parts;
      this.#at = 0;
    }
    return this.#ready[this.#at++] as string;
  }
  async until(prefix: string): Promise<number> {
    let skipped = 0;
    while (!(await this.next()).startsWith(prefix)) skipped++;
    return skipped;
  }
  async send(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    for (let at = 0; at < bytes.length;) at += await this.conn.write(bytes.subarray(at));
  }
}

/**
 * The `server` program on `history`, on port 0 (the benchmark's one way to start it: its output
 * goes to files in `dir`); resolves once it listens.
 */
function startServer(dir: string, history: string): Promise<ServerProcess> {
  return startSwitchboard({
    outDir: dir,
    args: [
      "--log-dir",
      "",
      "--no-console",
      "--token-file",
      join(dir, "admin.token"),
      "--history",
      history,
      "--history-max-messages",
      "0",
    ],
  });
}

async function client(port: number, name: string): Promise<Lines> {
  const lines = new Lines(await Deno.connect({ hostname: "127.0.0.1", port }));
  await lines.until("HELLO ");
  await lines.send(`${name}\n`);
  await lines.until("WELCOME ");
  return lines;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** Part 1: 1 M rows through the batch path, then `:history 1000` over TCP. */
async function queryTimes(dir: string): Promise<void> {
  const file = join(dir, "history.db");
  const store = HistoryStore.open(file, {
    limits: () => ({ maxMessages: 0, days: 0, offlineMax: 1000 }),
  });
  const started = performance.now();
  const perBatch = 100;
  const text = "x".repeat(56);
  for (let first = 1; first <= ROWS; first += perBatch) {
    const count = Math.min(perBatch, ROWS - first + 1);
    // One group message in every hundred, as a room beside the lobby.
    const group = first % (perBatch * 100) === 1;
    const target = group ? "#ops" : "*";
    const prefix = `MSG alice ${target} :`;
    const wire = encoder.encode(`${prefix}${text}\n`.repeat(count));
    const batch: RecordedBatch = {
      firstId: first,
      count,
      time: Date.now(),
      from: "alice",
      sender: undefined,
      route: group ? { kind: "group", group: { name: "ops", members: new Set() } } : LOBBY,
      target,
      wire,
      prefixLength: prefix.length,
    } as RecordedBatch;
    store.keep(batch);
  }
  store.close();
  const fillS = (performance.now() - started) / 1000;
  const size = (await Deno.stat(file)).size;
  console.log(
    `fill: ${ROWS} rows through HistoryStore.keep in ${fillS.toFixed(2)} s ` +
      `(${Math.round(ROWS / fillS)} rows/s), file ${(size / 1e6).toFixed(0)} MB`,
  );

  const server = await startServer(dir, file);
  try {
    const alice = await client(server.port, "alice");
    await alice.send(":group create ops\n");
    await alice.until("OK group");
    const cases: [string, string][] = [
      ["newest 1000 of the lobby", ":history * 1000\n"],
      ["1000 before the middle id", `:history * 1000 before ${Math.floor(ROWS / 2)}\n`],
      ["newest 1000 of a group", ":history #ops 1000\n"],
      ["newest 50 (the default)", ":history\n"],
    ];
    for (const [what, line] of cases) {
      const times: number[] = [];
      let count = 0;
      for (let i = 0; i < QUERIES; i++) {
        const t0 = performance.now();
        await alice.send(line);
        count = await alice.until("OK history");
        times.push(performance.now() - t0);
      }
      console.log(
        `query: ${what}: ${count} lines, median ${median(times).toFixed(2)} ms, ` +
          `min ${Math.min(...times).toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms ` +
          `(${QUERIES} runs, over TCP, answer read to its OK)`,
      );
    }
    alice.conn.close();
  } finally {
    await server.stop();
  }
}

/**
 * Part 2: lobby lines per second from one sender, with the history on and off, with `:ack on`
 * (each ACK waits for its batch's commit) and without (the end is the `OK ping` after the last
 * line; the history commits on its timer).
 */
async function ackedFlood(dir: string): Promise<void> {
  for (const ack of [true, false]) {
    for (const history of [join(dir, `flood-${ack}.db`), ""]) {
      const server = await startServer(dir, history);
      try {
        const alice = await client(server.port, "alice");
        if (ack) {
          await alice.send(":ack on\n");
          await alice.until("OK ack");
        }
        const burst = 100;
        let chunk = "";
        for (let i = 0; i < burst; i++) chunk += `acknowledged message number ${i} padding..\n`;
        const t0 = performance.now();
        const reading = (async () => {
          if (!ack) {
            await alice.until("OK ping");
            return;
          }
          for (let seen = 0; seen < ACKED;) {
            if ((await alice.next()).startsWith("ACK ")) seen++;
          }
        })();
        for (let sent = 0; sent < ACKED; sent += burst) await alice.send(chunk);
        if (!ack) await alice.send(":ping\n");
        await reading;
        const seconds = (performance.now() - t0) / 1000;
        console.log(
          `flood, ack ${ack ? "on " : "off"}, history ${history === "" ? "off" : "on "}: ` +
            `${ACKED} lines in ${seconds.toFixed(2)} s = ${Math.round(ACKED / seconds)} msgs/s`,
        );
        alice.conn.close();
      } finally {
        await server.stop();
      }
    }
  }
}

const dir = await Deno.makeTempDir({ prefix: "switchboard-bench-history-" });
try {
  console.log(`bench:history in ${dir}; load ${Deno.loadavg().join(" ")}`);
  await queryTimes(dir);
  await ackedFlood(dir);
} finally {
  await Deno.remove(dir, { recursive: true });
}
