/**
 * The floor of a message history in SQLite (issue 20): the least a Deno program pays to keep
 * every message in a `node:sqlite` table as Switchboard's history does — the same table and
 * pragmas (`core/server/history/store.ts`: WAL, `synchronous = NORMAL`), the same 32-row
 * `INSERT` statement, transactions of `--batch` rows — and nothing else: no decoding, no
 * retention, no ids to track. Prints the process's CPU time per stored row, the figure to set
 * beside Switchboard's history cost in the fan-out scenarios (`Switchboard, no history`).
 *
 * ```sh
 * deno run --allow-read --allow-write scripts/bench/floor_sqlite.ts [--rows 600000] [--batch 1000] [--size 64]
 * ```
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "600000" },
    batch: { type: "string", default: "1000" },
    size: { type: "string", default: "64" },
  },
});
const rows = Number(values.rows);
const batch = Number(values.batch);
const ROWS_PER_INSERT = 32;

const dir = Deno.makeTempDirSync();
const db = new DatabaseSync(`${dir}/floor.db`);
db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
db.exec(`CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  sender TEXT NOT NULL,
  target TEXT NOT NULL COLLATE NOCASE,
  text TEXT NOT NULL
);
CREATE INDEX group_messages ON messages (target, id) WHERE target <> '*';`);
const insertMany = db.prepare(
  "INSERT INTO messages (id, time, sender, target, text) VALUES " +
    Array(ROWS_PER_INSERT).fill("(?,?,?,?,?)").join(","),
);
const text = "x".repeat(Number(values.size));

const cpuBefore = cpuSeconds();
const started = performance.now();
const args: (number | string)[] = [];
for (let id = 1; id <= rows;) {
  db.exec("BEGIN");
  const end = Math.min(rows + 1, id + batch);
  for (; id < end; id++) {
    args.push(id, Date.now(), "pub", "*", text);
    if (args.length === ROWS_PER_INSERT * 5) {
      insertMany.run(...args);
      args.length = 0;
    }
  }
  db.exec("COMMIT");
}
const cpu = cpuSeconds() - cpuBefore;
const wall = (performance.now() - started) / 1000;
db.close();
Deno.removeSync(dir, { recursive: true });
console.log(JSON.stringify({
  rows: rows - (rows % ROWS_PER_INSERT),
  batch,
  wall_s: Number(wall.toFixed(3)),
  cpu_s: Number(cpu.toFixed(3)),
  cpu_us_per_row: Number((cpu * 1e6 / rows).toFixed(3)),
}));

/** This process's user + system CPU seconds. */
function cpuSeconds(): number {
  const { user, system } = cpuUsage();
  return (user + system) / 1e6;
}
