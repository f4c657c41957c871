import assert from "node:assert/strict";
import type { LogRecord } from "@logtape/logtape";
import { rotatingFileSink } from "../core/log/file_sink.ts";

const record = (text: string): LogRecord => ({
  category: ["test"],
  level: "info",
  message: [text],
  rawMessage: text,
  timestamp: Date.now(),
  properties: {},
});
const format = (r: LogRecord) => `${r.message.join("")}\n`;

async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-sink-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("log file sink: rotates between lines, keeps maxFiles, no generation above the cap", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/server.log`;
    {
      await using sink = rotatingFileSink(path, { format, maxFileBytes: 1000, maxFiles: 3 });
      // One record holding many lines, as a batch of relayed messages is.
      const line = (i: number) => `line ${String(i).padStart(3, "0")} ${".".repeat(40)}`;
      sink(record(Array.from({ length: 100 }, (_, i) => line(i)).join("\n")));
      for (let i = 100; i < 200; i++) sink(record(line(i)));
    }
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["server.log", "server.log.1", "server.log.2", "server.log.3"]);
    const kept: string[] = [];
    for (const name of ["server.log.3", "server.log.2", "server.log.1", "server.log"]) {
      const text = Deno.readTextFileSync(`${dir}/${name}`);
      assert.ok(new TextEncoder().encode(text).length <= 1000, `${name} within the cap`);
      assert.ok(text.endsWith("\n"), `${name} ends with a whole line`);
      kept.push(...text.trimEnd().split("\n"));
    }
    // The newest lines are all there, in order, none split.
    assert.match(kept.at(-1) ?? "", /^line 199 /);
    for (const line of kept) assert.match(line, /^line \d{3} \.{40}$/);
    const numbers = kept.map((line) => Number(line.slice(5, 8)));
    assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b));
  });
});

Deno.test("log file sink: disposing writes what is buffered; a new sink appends", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/errors.log`;
    for (const text of ["first", "second"]) {
      await using sink = rotatingFileSink(path, { format, maxFileBytes: 1 << 20, maxFiles: 2 });
      sink(record(text));
    }
    assert.equal(Deno.readTextFileSync(path), "first\nsecond\n");
  });
});

Deno.test("log file sink: a line longer than the cap gets a file of its own", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/server.log`;
    {
      await using sink = rotatingFileSink(path, { format, maxFileBytes: 100, maxFiles: 5 });
      sink(record("short"));
      sink(record("x".repeat(250)));
      sink(record("after"));
    }
    assert.equal(Deno.readTextFileSync(`${path}.2`), "short\n");
    assert.equal(Deno.readTextFileSync(`${path}.1`), "x".repeat(250) + "\n");
    assert.equal(Deno.readTextFileSync(path), "after\n");
  });
});

Deno.test("log file sink: a rotated-out file a stopped process left on its way out is removed at start", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/server.log`;
    Deno.writeTextFileSync(`${path}.5.1765100000000-1.discarded`, "old lines\n");
    Deno.writeTextFileSync(`${dir}/other.log.5.1-1.discarded`, "not ours\n");
    {
      await using sink = rotatingFileSink(path, { format, maxFileBytes: 1000, maxFiles: 5 });
      sink(record("hello"));
    }
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["other.log.5.1-1.discarded", "server.log"]);
  });
});
