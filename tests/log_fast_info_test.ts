import assert from "node:assert/strict";
import { configure, getLogger, type LogRecord, reset } from "@logtape/logtape";
import { configureLogging } from "../core/log/configure.ts";
import { InfoTemplate, logInfo } from "../core/log/fast_info.ts";
import { isoTime } from "../core/log/iso_time.ts";
import { withLogFolder } from "./_logs.ts";

const TEMPLATE = "disconnected {peer} {name}: {reason} ({detail})";
/** Values a crafted name or reason could hold: line breaks, escapes, nothing at all. */
const PROPERTIES = {
  peer: "127.0.0.1:4000",
  ip: "127.0.0.1",
  port: 4000,
  name: "",
  reason: "quit",
  detail: "evil\r\n2026-01-01T00:00:00.000Z [INF] forged \x1b[31mred\u202e",
};

/** A console writer that keeps what it is given. */
function consoleCapture(): {
  writeSync(data: Uint8Array): number;
  isTerminal(): boolean;
  text(): string;
} {
  const chunks: Uint8Array[] = [];
  return {
    writeSync: (data) => (chunks.push(data.slice()), data.length),
    isTerminal: () => false,
    text: () => chunks.map((chunk) => new TextDecoder().decode(chunk)).join(""),
  };
}

/** Lines without their timestamp (the two records are logged a moment apart). */
function untimed(text: string): string[] {
  return text.trimEnd().split("\n").map((line) =>
    // deno-lint-ignore no-control-regex -- the coloured console starts its time with ESC [2m
    line.replace(/^\S+Z /, "").replace(/^(\x1b\[2m)?\d\d:\d\d:\d\d/, "")
      .replace(/"@timestamp":"[^"]*"/, "")
  );
}

const FORMATS = [["text", "plain"], ["json", "plain"], ["text", "color"]] as const;
for (const [logFormat, consoleMode] of FORMATS) {
  Deno.test(`log: logInfo writes what logger.info writes, to the files and the console (${logFormat}, ${consoleMode})`, async () => {
    const console = consoleCapture();
    const files = await withLogFolder(
      { logFormat, console: consoleMode, consoleWriter: console },
      () => {
        const logger = getLogger(["switchboard", "conn"]);
        logger.info(TEMPLATE, { ...PROPERTIES });
        logInfo(logger, new InfoTemplate(TEMPLATE), { ...PROPERTIES });
        return Promise.resolve();
      },
    );
    const server = untimed(new TextDecoder().decode(files.get("server.log")));
    assert.equal(server.length, 2, server.join("\n"));
    assert.equal(server[1], server[0]);
    if (logFormat === "text") assert.match(server[0] ?? "", /^\[INF\] switchboard\.conn: disc/);
    const shown = untimed(console.text());
    assert.equal(shown.length, 2, shown.join("\n"));
    assert.equal(shown[1], shown[0]);
  });
}

Deno.test("log: logInfo writes nothing where info records are off, and goes through LogTape under another configuration", async () => {
  const console = consoleCapture();
  {
    await using _logging = await configureLogging({
      logDir: "",
      logFormat: "text",
      console: "plain",
      consoleLevel: "warning",
      consoleWriter: console,
    });
    logInfo(getLogger(["switchboard", "conn"]), new InfoTemplate("connected {peer}"), {
      peer: "127.0.0.1:4000",
    });
  }
  assert.equal(console.text(), "");

  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { keep: (record) => void records.push(record) },
    loggers: [
      { category: ["switchboard"], sinks: ["keep"], lowestLevel: "info" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    ],
  });
  try {
    logInfo(getLogger(["switchboard", "conn"]), new InfoTemplate("connected {peer}"), {
      peer: "127.0.0.1:4000",
    });
  } finally {
    await reset();
  }
  assert.equal(records.length, 1);
  assert.deepEqual(records[0]?.message, ["connected ", "127.0.0.1:4000", ""]);
});

Deno.test("log: InfoTemplate takes plain placeholders only", () => {
  assert.deepEqual(new InfoTemplate("a {b} c {d}").parts, ["a ", " c ", ""]);
  assert.throws(() => new InfoTemplate("a {{b}}"), RangeError);
  assert.throws(() => new InfoTemplate("a {b.c}"), RangeError);
  assert.throws(() => new InfoTemplate("a {*}"), RangeError);
});

Deno.test("log: isoTime reads as toISOString", () => {
  const now = Date.now();
  const times = [0, 1, 999, 1000, -1, -999, -1001, now, now + 1, now + 999, 253402300799999];
  for (let i = 0; i < 10_000; i++) times.push(Math.floor(Math.random() * 4e12) - 1e12);
  for (const ms of times) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
});
