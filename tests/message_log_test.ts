/**
 * The request log's message lines: how entries gather into runs and batches, what each
 * `--log-messages` mode keeps, and the exact bytes `server.log` gets for them in both file formats.
 */
import assert from "node:assert/strict";
import type { Logger, LogRecord } from "@logtape/logtape";
import type { LogMessages } from "../core/config/options.ts";
import { rotatingFileSink } from "../core/log/file_sink.ts";
import {
  MESSAGE_BATCH,
  MESSAGE_LOG_MAX_TEXT_BYTES,
  MessageBatch,
  MessageLog,
} from "../core/log/message_log.ts";
import { MessageLineRenderer } from "../core/log/message_lines.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TIME = Date.UTC(2026, 10, 25, 12, 0, 0, 123);
const CATEGORY = "switchboard.traffic";

/**
 * A MessageLog whose batches are caught instead of logged. A batch's texts are lent for the
 * length of the call (the log reuses its buffer), so a sink that keeps batches copies them.
 */
function capturingLog(mode?: LogMessages): { log: MessageLog; batches: MessageBatch[] } {
  const batches: MessageBatch[] = [];
  const logger = {
    isEnabledFor: () => true,
    info: (_message: string, properties: Record<string, unknown>) => {
      const { runs, sizes, text } = properties[MESSAGE_BATCH] as MessageBatch;
      batches.push(new MessageBatch(runs, sizes, text?.slice()));
    },
  } as unknown as Logger;
  return { log: new MessageLog(logger, mode), batches };
}

/** `size` bytes of text. */
const bytes = (size: number) => new Uint8Array(size).fill(0x61);

/** Renders one batch, caught from `log` after a flush. */
function rendered(format: "text" | "json", add: (log: MessageLog) => void, mode?: LogMessages) {
  const { log, batches } = capturingLog(mode);
  add(log);
  log.flush();
  return decoder.decode(new MessageLineRenderer(format).render(batches[0]!, CATEGORY));
}

Deno.test("message log: entries that differ only in their text share a run, in order", () => {
  const { log, batches } = capturingLog();
  log.add(TIME, "", "127.0.0.1:5000", "echo", 1, encoder.encode("one"));
  log.add(TIME, "", "127.0.0.1:5000", "echo", 1, encoder.encode("two two"));
  log.add(TIME, "alice", "127.0.0.1:5001", "*", 3, encoder.encode("hi"));
  log.add(TIME + 1, "alice", "127.0.0.1:5001", "*", 3, encoder.encode("héllo"));
  log.flush();
  assert.equal(batches.length, 1);
  const batch = batches[0]!;
  assert.deepEqual(batch.runs.map((run) => run.count), [2, 1, 1]);
  assert.deepEqual(
    [...batch.entries()].map((entry) => [entry.name, entry.bytes, decoder.decode(entry.text)]),
    [["", 3, "one"], ["", 7, "two two"], ["alice", 2, "hi"], ["alice", 6, "héllo"]],
  );
  log.flush();
  assert.equal(batches.length, 1, "an empty log hands out nothing");
});

Deno.test("message log: the text is copied, so the caller may reuse its read buffer at once", () => {
  const { log, batches } = capturingLog("full");
  const buffer = encoder.encode("first");
  log.add(TIME, "a", "p", "*", 1, buffer);
  buffer.set(encoder.encode("SECND"));
  log.add(TIME, "a", "p", "*", 1, buffer.subarray(0, 3));
  buffer.fill(0);
  log.flush();
  assert.deepEqual([...batches[0]!.entries()].map((e) => decoder.decode(e.text)), ["first", "SEC"]);
});

Deno.test("message log: meta keeps each message's size but not its text", () => {
  const { log, batches } = capturingLog("meta");
  assert.equal(log.enabled, true);
  log.add(TIME, "a", "p", "*", 1, encoder.encode("secret"));
  log.flush();
  assert.equal(batches[0]!.text, undefined);
  assert.deepEqual([...batches[0]!.entries()].map((e) => [e.bytes, e.text]), [[6, undefined]]);
});

Deno.test("message log: off is disabled and keeps nothing, even when called", () => {
  const { log, batches } = capturingLog("off");
  assert.equal(log.enabled, false);
  log.add(TIME, "a", "p", "*", 1, encoder.encode("secret"));
  log.flush();
  assert.equal(batches.length, 0);
});

Deno.test("message log: a full batch goes out at once, the rest after the delay", async () => {
  const { log, batches } = capturingLog();
  for (let i = 0; i < 5000; i++) log.add(TIME, "a", "p", "*", 1, bytes(i % 7));
  assert.deepEqual(batches.map((batch) => batch.length), [4096]);
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.deepEqual(batches.map((batch) => batch.length), [4096, 904]);
  assert.equal([...batches[1]!.entries()].at(-1)?.bytes, 4999 % 7);
});

Deno.test("message log: 1 MiB of text makes a batch go out at once, bounding its memory", () => {
  const { log, batches } = capturingLog("full");
  const line = bytes(64 * 1024);
  const perBatch = MESSAGE_LOG_MAX_TEXT_BYTES / line.length;
  for (let i = 0; i < perBatch * 2 + 1; i++) log.add(TIME, "a", "p", "*", 1, line);
  assert.deepEqual(batches.map((batch) => batch.length), [perBatch, perBatch]);
  assert.equal(batches[0]!.text?.length, MESSAGE_LOG_MAX_TEXT_BYTES);
  log.flush();
  // Sizes alone are no reason to hurry in meta mode.
  const meta = capturingLog("meta");
  for (let i = 0; i < perBatch * 2 + 1; i++) meta.log.add(TIME, "a", "p", "*", 1, line);
  meta.log.flush();
  assert.deepEqual(meta.batches.map((batch) => batch.length), [perBatch * 2 + 1]);
});

Deno.test("message log: an entry is never timed before one added earlier", () => {
  const { log, batches } = capturingLog();
  log.add(TIME + 5, "a", "p1", "*", 1, bytes(1));
  log.add(TIME, "b", "p2", "*", 1, bytes(1));
  log.flush();
  assert.deepEqual([...batches[0]!.entries()].map((e) => e.time), [TIME + 5, TIME + 5]);
});

Deno.test("message lines: a text line ends with the message text after its size", () => {
  const text = rendered("text", (log) => {
    log.add(TIME, "", "[::1]:5000", "echo", 1, encoder.encode(""));
    log.add(TIME, "", "[::1]:5000", "echo", 1, encoder.encode("ping"));
    log.add(TIME + 1000, "alice", "127.0.0.1:5001", "#ops", 12, encoder.encode("héllo wörld"));
  });
  assert.equal(
    text,
    "2026-11-25T12:00:00.123Z [INF] switchboard.traffic: message from - ([::1]:5000) to echo: 1 recipients, 0 bytes: \n" +
      "2026-11-25T12:00:00.123Z [INF] switchboard.traffic: message from - ([::1]:5000) to echo: 1 recipients, 4 bytes: ping\n" +
      "2026-11-25T12:00:01.123Z [INF] switchboard.traffic: message from alice (127.0.0.1:5001) to #ops: 12 recipients, 13 bytes: héllo wörld\n",
  );
});

Deno.test("message lines: in meta mode a text line ends with the size, sizes written in full", () => {
  const text = rendered("text", (log) => {
    log.add(TIME, "", "[::1]:5000", "echo", 1, bytes(0));
    log.add(TIME, "alice", "127.0.0.1:5001", "#ops", 12, bytes(64));
  }, "meta");
  assert.equal(
    text,
    "2026-11-25T12:00:00.123Z [INF] switchboard.traffic: message from - ([::1]:5000) to echo: 1 recipients, 0 bytes\n" +
      "2026-11-25T12:00:00.123Z [INF] switchboard.traffic: message from alice (127.0.0.1:5001) to #ops: 12 recipients, 64 bytes\n",
  );
  const batch = new MessageBatch([{
    time: TIME,
    name: "a",
    peer: "p",
    target: "*",
    recipients: 1,
    count: 1,
  }], new Uint32Array([4294967295]));
  assert.match(
    decoder.decode(new MessageLineRenderer("text").render(batch, CATEGORY)),
    / 4294967295 bytes\n$/,
  );
});

Deno.test("message lines: JSON lines are what LogTape's JSON Lines formatter would write, text in properties", () => {
  for (const mode of ["full", "meta"] as const) {
    const { log, batches } = capturingLog(mode);
    const renderer = new MessageLineRenderer("json");
    for (const message of ["hello", 'say "hi" \\o/\t\x1b[2J\u202e', "x".repeat(1234)]) {
      const text = encoder.encode(message);
      log.add(TIME, "bob", "127.0.0.1:5002", "alice", 1, text);
      log.flush();
      const line = decoder.decode(renderer.render(batches.at(-1)!, CATEGORY));
      assert.ok(line.endsWith("}\n") && line.indexOf("\n") === line.length - 1, "one line");
      const size = text.length;
      assert.deepEqual(JSON.parse(line), {
        "@timestamp": "2026-11-25T12:00:00.123Z",
        level: "INFO",
        message: `message from "bob" ("127.0.0.1:5002") to "alice": 1 recipients, ${size} bytes`,
        logger: CATEGORY,
        properties: {
          name: "bob",
          peer: "127.0.0.1:5002",
          target: "alice",
          recipients: 1,
          bytes: size,
          ...(mode === "full" ? { text: message } : {}),
        },
      });
      if (mode === "full" && message === "hello") {
        // Byte for byte what JSON.stringify writes, key order included.
        assert.equal(line, JSON.stringify(JSON.parse(line)) + "\n");
      }
    }
  }
});

Deno.test("message lines: a name, target or text cannot break a line, and a changed name is seen", () => {
  const { log, batches } = capturingLog();
  const renderer = new MessageLineRenderer("text");
  log.add(TIME, "eve\n2026 [INF] forged", "127.0.0.1:5003", "\x1b[31m", 1, bytes(1));
  log.add(TIME, "eve2", "127.0.0.1:5003", "*", 1, encoder.encode("a\rb\nc\x1b[2J\u202ed\u2028"));
  log.flush();
  const lines = decoder.decode(renderer.render(batches[0]!, CATEGORY)).split("\n");
  assert.equal(lines.length, 3, "two lines and the end");
  assert.match(
    lines[0]!,
    /message from eve\\n2026 \[INF\] forged \(127\.0\.0\.1:5003\) to \\x1b\[31m:/,
  );
  // Same sender, new name: the cached template must not be reused.
  assert.match(
    lines[1]!,
    /message from eve2 \(127\.0\.0\.1:5003\) to \*: 1 recipients, 16 bytes: a\\rb\\nc\\x1b\[2J\\u202ed\\u2028$/,
  );
});

Deno.test("message lines: a file sink writes a batch record as its lines", async () => {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-lines-" });
  try {
    const { log, batches } = capturingLog();
    for (let i = 0; i < 3000; i++) {
      log.add(TIME, "a", "127.0.0.1:1", "*", 2, encoder.encode(`m${i}`));
    }
    log.flush();
    const renderer = new MessageLineRenderer("text");
    {
      await using sink = rotatingFileSink(`${dir}/server.log`, {
        format: (record) => `${record.message.join("")}\n`,
        render: (record) => {
          const batch = record.properties[MESSAGE_BATCH];
          return batch instanceof MessageBatch ? renderer.render(batch, CATEGORY) : undefined;
        },
        maxFileBytes: 1 << 24,
        maxFiles: 1,
      });
      const record = (message: string, properties = {}): LogRecord => ({
        category: ["switchboard", "traffic"],
        level: "info",
        message: [message],
        rawMessage: message,
        timestamp: TIME,
        properties,
      });
      sink(record("before"));
      sink(record("3000 messages", { [MESSAGE_BATCH]: batches[0] }));
      sink(record("after"));
    }
    const lines = Deno.readTextFileSync(`${dir}/server.log`).trimEnd().split("\n");
    assert.equal(lines.length, 3002);
    assert.equal(lines[0], "before");
    assert.match(lines[3000]!, /to \*: 2 recipients, 5 bytes: m2999$/);
    assert.equal(lines[3001], "after");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
