/**
 * Issue 12, point 4: warnings a client can trigger at will (failed `:auth`, refusals, bad lines)
 * must not flood `errors.log` and rotate earlier warnings out of it. Over real sockets, with the
 * real log files.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { LoggingOptions } from "../core/log/configure.ts";
import { DEFAULT_REPEAT_ALLOWANCE } from "../core/log/throttle.ts";
import { connect, eventually, startTestServer, TestClient } from "./_helpers.ts";
import { withLogFolder } from "./_logs.ts";

const ALLOWANCE = DEFAULT_REPEAT_ALLOWANCE;
const encoder = new TextEncoder();

/**
 * Configures logging into a temp folder, runs `body`, disposes the logging and returns the
 * warnings kept: every `errors.log*` file, oldest first. `body` gets the folder to peek into.
 */
async function withErrorLog(
  logging: Partial<LoggingOptions>,
  body: (dir: string) => Promise<void>,
): Promise<string[]> {
  const files = await withLogFolder(logging, body);
  const decoder = new TextDecoder();
  return [...files.keys()].filter((name) => name.startsWith("errors.log")).sort().reverse()
    .flatMap((name) => decoder.decode(files.get(name)).split("\n").filter((l) => l !== ""));
}

/** The counts of the summary lines among `lines` that match `pattern` (with one `(\d+)` group). */
function summaryCounts(lines: string[], pattern: RegExp): number[] {
  return lines.map((line) => pattern.exec(line)?.[1]).filter((n) => n !== undefined).map(Number);
}

Deno.test("log flood: 3000 failed :auth leave a few lines and one exact summary, not a rotated-out log", async () => {
  const failures = 3000;
  // Two files of 64 KiB: 3000 lines of ~110 bytes each would rotate the earlier warning out.
  const lines = await withErrorLog({ maxFileBytes: 64 * 1024, maxFiles: 1 }, async () => {
    // The lockout would stop the flood after 5 failures (lockout_test.ts); this is about the log.
    await using server = await startTestServer({
      adminToken: "the-right-token",
      authMaxFailures: 0,
    });
    await using alice = await connect(server, "alice");
    await alice.sendRaw(new Uint8Array([0xff, 0x0a]));
    await alice.waitFor("ERR bad-utf8");
    const burst = Array.from({ length: failures }, (_, i) => `:auth wrong-${i}\n`).join("");
    await alice.sendRaw(encoder.encode(burst + ":auth the-right-token\n"));
    let refused = 0;
    for (;;) {
      const line = await alice.nextLine();
      if (line.startsWith("OK auth")) break;
      assert.match(line, /^ERR not-allowed /);
      refused++;
    }
    assert.equal(refused, failures);
  });
  const failed = lines.filter((line) => line.includes("failed :auth from alice"));
  assert.equal(failed.length, ALLOWANCE, failed.join("\n"));
  const summaries = lines.filter((line) => line.includes("more like this"));
  assert.deepEqual(summaries.map((line) => line.replace(/^\S+ /, "")), [
    `[WRN] switchboard.admin: … and ${failures - ALLOWANCE} more like this from 127.0.0.1 ` +
    `in the last minute like="failed :auth from {name} ({peer})"`,
  ]);
  assert.ok(lines.some((line) => line.includes("invalid UTF-8 from alice")), lines.join("\n"));
  assert.ok(lines.length < 20, `${lines.length} lines in errors.log`);
});

Deno.test("log flood: when the window ends its summary is written and the allowance starts again", async () => {
  const perPhase = 50;
  const summary = /… and (\d+) more like this from 127\.0\.0\.1 in the last 0\.2 s/;
  const lines = await withErrorLog({}, async (dir) => {
    await using server = await startTestServer({
      adminToken: "secret",
      logRepeatWindow: 0.2,
      authMaxFailures: 0,
    });
    await using alice = await connect(server, "alice");
    for (const phase of [1, 2]) {
      await alice.sendRaw(encoder.encode(`:auth wrong\n`.repeat(perPhase) + ":whoami\n"));
      await alice.waitFor("OK whoami");
      if (phase === 2) break;
      // The window ends on its own timer, the summary reaches the file with the sink's flush.
      await eventually(
        () => summary.test(Deno.readTextFileSync(join(dir, "errors.log"))),
        5000,
        "a summary before shutdown",
      );
    }
  });
  const failed = lines.filter((line) => line.includes("failed :auth from alice")).length;
  const counts = summaryCounts(lines, summary);
  assert.ok(counts.length >= 2, lines.join("\n"));
  assert.ok(failed >= 2 * ALLOWANCE && failed <= counts.length * ALLOWANCE + ALLOWANCE);
  assert.equal(failed + counts.reduce((a, b) => a + b, 0), 2 * perPhase, "every failure counted");
});

Deno.test("log flood: refused connections from one address are summarised", async () => {
  const attempts = 30;
  const lines = await withErrorLog({}, async () => {
    await using server = await startTestServer({ access: { deny: ["127.0.0.1"] } });
    for (let i = 0; i < attempts; i++) {
      await using client = await TestClient.open(server);
      await client.closed();
    }
  });
  const refused = lines.filter((line) => /refused 127\.0\.0\.1:\d+: refused/.test(line));
  assert.equal(refused.length, ALLOWANCE, refused.join("\n"));
  const counts = summaryCounts(lines, /… and (\d+) more like this from 127\.0\.0\.1 .*"refused: /);
  assert.deepEqual(counts, [attempts - ALLOWANCE]);
});

Deno.test("log flood: bad lines are summarised per kind: invalid UTF-8 and lines too long", async () => {
  const each = 40;
  const lines = await withErrorLog({}, async () => {
    await using server = await startTestServer({ maxLineBytes: 128 });
    await using alice = await connect(server, "alice");
    const bad = new Uint8Array([0xc3, 0x28, 0x0a]);
    const long = encoder.encode("x".repeat(200) + "\n");
    const burst = [];
    for (let i = 0; i < each; i++) burst.push(...bad, ...long);
    await alice.sendRaw(new Uint8Array([...burst, ...encoder.encode(":whoami\n")]));
    await alice.waitFor("OK whoami");
  });
  for (
    const [text, like] of [["invalid UTF-8 from alice", "invalid UTF-8"], [
      "line too long from alice",
      "line too long",
    ]] as const
  ) {
    assert.equal(lines.filter((line) => line.includes(text)).length, ALLOWANCE, text);
    const counts = summaryCounts(lines, new RegExp(`… and (\\d+) more like this .*like="${like}`));
    assert.deepEqual(counts, [each - ALLOWANCE], like);
  }
});
