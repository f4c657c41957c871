/**
 * The keeping floor (`scripts/bench/floor_server.ts --raw --history --log`) is a yardstick, so it
 * must do the work it claims: relay every line to the other clients, log each one, and store each
 * one in its SQLite table — with nothing lost at the SIGTERM the benchmark stops it with. Driven
 * over real TCP; no assertion looks at a speed.
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  floorCommand,
  KEEPING_FLOOR_PERMISSIONS,
  keepingFloorArgs,
} from "../scripts/bench/peer_floor.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads from `conn` until `bytes` bytes came (or fails after the test's time bound). */
async function readBytes(conn: Deno.Conn, bytes: number): Promise<string> {
  const buffer = new Uint8Array(bytes);
  let got = 0;
  while (got < bytes) {
    const n = await conn.read(buffer.subarray(got));
    if (n === null) throw new Error(`closed after ${got} of ${bytes} bytes`);
    got += n;
  }
  return decoder.decode(buffer);
}

Deno.test("keeping floor: every relayed line is delivered, logged and stored, also across reads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "floor-keeping-" });
  const [command, ...args] = floorCommand(
    KEEPING_FLOOR_PERMISSIONS,
    keepingFloorArgs("broker", "fanout-100", dir),
  );
  const server = new Deno.Command(command!, {
    args,
    stdout: "piped",
    stderr: "inherit",
    signal: AbortSignal.timeout(30_000),
  }).spawn();
  const stdout = server.stdout.getReader();
  try {
    const first = decoder.decode((await stdout.read()).value);
    const port = Number(/listening on (\d+)/.exec(first)?.[1]);
    assert.ok(port > 0, first);
    const receiver = await Deno.connect({ hostname: "127.0.0.1", port });
    const sender = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      // The receiver is registered once the sender's first line reaches it; then a line cut in
      // two writes, and two lines in one.
      await sender.write(encoder.encode("one\n"));
      assert.equal(await readBytes(receiver, 4), "one\n");
      await sender.write(encoder.encode("tw"));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await sender.write(encoder.encode("o\nthree\nfour\n"));
      assert.equal(await readBytes(receiver, 15), "two\nthree\nfour\n");
    } finally {
      sender.close();
      receiver.close();
    }
    server.kill("SIGTERM");
    await server.status;

    const log = (await Deno.readTextFile(`${dir}/floor.log`)).trimEnd().split("\n");
    assert.deepEqual(log.map((line) => line.replace(/^\S+ \S+ /, "")), [
      "3 bytes: one",
      "3 bytes: two",
      "5 bytes: three",
      "4 bytes: four",
    ]);
    const db = new DatabaseSync(`${dir}/floor-history.db`);
    try {
      const rows = db.prepare("SELECT first_id, count, lines FROM reads ORDER BY first_id").all();
      const lines = rows.flatMap((row) =>
        decoder.decode(row.lines as Uint8Array).split("\n").slice(0, -1)
      );
      assert.deepEqual(lines, ["one", "two", "three", "four"]);
      assert.deepEqual(rows.map((row) => [row.first_id, row.count]), [[1, 1], [2, 3]]);
    } finally {
      db.close();
    }
  } finally {
    stdout.releaseLock();
    await server.stdout.cancel().catch(() => {});
    try {
      server.kill("SIGKILL");
    } catch { /* already gone */ }
    await server.status;
    await Deno.remove(dir, { recursive: true });
  }
});
