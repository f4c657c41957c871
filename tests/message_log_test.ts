/**
 * The request log's message lines: how entries gather into runs and batches, and the exact bytes
 * `server.log` gets for them in both file formats.
 */
import assert from "node:assert/strict";
import type { Logger, LogRecord } from "@logtape/logtape";
import { rotatingFileSink } from "../core/log/file_sink.ts";
import { MESSAGE_BATCH, MessageBatch, MessageLog } from "../core/log/message_log.ts";
import { MessageLineRenderer } from "../core/log/message_lines.ts";

const decoder = new TextDecoder();
const TIME = Date.UTC(2026, 10, 25, 12, 0, 0, 123);
const CATEGORY = "switchboard.traffic";

/** A MessageLog whose batches are caught instead of logged. */
function capturingLog(): { log: MessageLog; batches: MessageBatch[] } {
  const batches: MessageBatch[] = [];
  const logger = {
    isEnabledFor: () => true,
    info: (_message: string, properties: Record<string, unknown>) => {
      batches.push(properties[MESSAGE_BATCH] as MessageBatch);
    },
  } as unknown as Logger;
  return { log: new MessageLog(logger), batches };
}

Deno.test("message log: entries that differ only in size share a run, in order", () => {
  const { log, batches } = capturingLog();
  log.add(TIME, "", "127.0.0.1:5000", "echo", 1, 10);
  log.add(TIME, "", "127.0.0.1:5000", "echo", 1, 20);
  log.add(TIME, "alice", "127.0.0.1:5001", "*", 3, 30);
  log.add(TIME + 1, "alice", "127.0.0.1:5001", "*", 3, 40);
  log.flush();
  assert.equal(batches.length, 1);
  const batch = batches[0]!;
  assert.deepEqual(batch.runs.map((run) => run.count), [2, 1, 1]);
  assert.deepEqual([...batch.entries()].map((entry) => [entry.name, entry.bytes]), [
    ["", 10],
    ["", 20],
    ["alice", 30],
    ["alice", 40],
  ]);
  log.flush();
  assert.equal(batches.length, 1, "an empty log hands out nothing");
});

Deno.test("message log: a full batch goes out at once, the rest after the delay", async () => {
  const { log, batches } = capturingLog();
  for (let i = 0; i < 5000; i++) log.add(TIME, "a", "p", "*", 1, i);
  assert.deepEqual(batches.map((batch) => batch.length), [4096]);
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.deepEqual(batches.map((batch) => batch.length), [4096, 904]);
  assert.equal([...batches[1]!.entries()].at(-1)?.bytes, 4999);
});

Deno.test("message lines: text lines, one per entry, sizes written in full", () => {
  const { log, batches } = capturingLog();
  log.add(TIME, "", "[::1]:5000", "echo", 1, 0);
  log.add(TIME, "", "[::1]:5000", "echo", 1, 4294967295);
  log.add(TIME + 1000, "alice", "127.0.0.1:5001", "#ops", 12, 64);
  log.flush();
  const text = decoder.decode(new MessageLineRenderer("text").render(batches[0]!, CATEGORY));
  assert.equal(
    text,
    "2026-11-25T12:00:00.123Z [INF] switchboard.traffic: message from - ([::1]:5000) to echo: 1 recipients, 0 bytes\n" +
      "2026-11-25T12:00:00.123Z [INF] switchboard.traffic: message from - ([::1]:5000) to echo: 1 recipients, 4294967295 bytes\n" +
      "2026-11-25T12:00:01.123Z [INF] switchboard.traffic: message from alice (127.0.0.1:5001) to #ops: 12 recipients, 64 bytes\n",
  );
});

Deno.test("message lines: JSON lines are what LogTape's JSON Lines formatter would write", () => {
  const { log, batches } = capturingLog();
  const renderer = new MessageLineRenderer("json");
  for (const bytes of [5, 1234]) {
    log.add(TIME, "bob", "127.0.0.1:5002", "alice", 1, bytes);
    log.flush();
    const line = decoder.decode(renderer.render(batches.at(-1)!, CATEGORY));
    assert.ok(line.endsWith("}\n") && line.indexOf("\n") === line.length - 1, "one line");
    assert.equal(
      line,
      JSON.stringify({
        "@timestamp": "2026-11-25T12:00:00.123Z",
        level: "INFO",
        message: `message from "bob" ("127.0.0.1:5002") to "alice": 1 recipients, ${bytes} bytes`,
        logger: CATEGORY,
        properties: { name: "bob", peer: "127.0.0.1:5002", target: "alice", recipients: 1, bytes },
      }) + "\n",
    );
  }
});

Deno.test("message lines: a name or target cannot break a line, and a changed name is seen", () => {
  const { log, batches } = capturingLog();
  const renderer = new MessageLineRenderer("text");
  log.add(TIME, "eve\n2026 [INF] forged", "127.0.0.1:5003", "\x1b[31m", 1, 1);
  log.flush();
  log.add(TIME, "eve2", "127.0.0.1:5003", "*", 1, 1);
  log.flush();
  const first = decoder.decode(renderer.render(batches[0]!, CATEGORY));
  assert.equal(first.split("\n").length, 2, "still one line");
  assert.match(
    first,
    /message from eve\\n2026 \[INF\] forged \(127\.0\.0\.1:5003\) to \\x1b\[31m:/,
  );
  // Same sender, new name: the cached template must not be reused.
  const second = decoder.decode(renderer.render(batches[1]!, CATEGORY));
  assert.match(second, /message from eve2 \(127\.0\.0\.1:5003\) to \*: 1 recipients, 1 bytes\n$/);
});

Deno.test("message lines: a file sink writes a batch record as its lines", async () => {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-lines-" });
  try {
    const { log, batches } = capturingLog();
    for (let i = 0; i < 3000; i++) log.add(TIME, "a", "127.0.0.1:1", "*", 2, i);
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
    assert.match(lines[3000]!, /to \*: 2 recipients, 2999 bytes$/);
    assert.equal(lines[3001], "after");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
