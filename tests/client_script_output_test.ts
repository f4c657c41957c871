/**
 * What scripts read from the `client` program: `--listen` prints what arrives until it is told to
 * stop (exit 0, stdin never read), `--no-time` drops the time in front of each line, `:files`
 * shows local times like the chat lines, and a tiny transfer reports no meaningless rate.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { connect, startTestServer } from "./_helpers.ts";
import { programCommand } from "./_programs.ts";
import { runClient } from "./client_harness.ts";
import { EXIT } from "../cli/_exit_codes.ts";
import { summaryLine } from "../cli/_client_progress.ts";

const decoder = new TextDecoder();

/** A `client --listen` process and its output so far. */
function listener(args: string[]) {
  const child = programCommand("client", ["--listen", ...args], { stdin: "null" }).spawn();
  let stdout = "";
  let stderr = "";
  const reading = Promise.all([
    (async () => {
      for await (const chunk of child.stdout) stdout += decoder.decode(chunk, { stream: true });
    })(),
    (async () => {
      for await (const chunk of child.stderr) stderr += decoder.decode(chunk, { stream: true });
    })(),
  ]);
  const until = async (pattern: RegExp) => {
    const deadline = Date.now() + 8000;
    while (!pattern.test(stdout)) {
      if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${stdout}\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const finished = async () => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 8000);
    const status = await child.status;
    clearTimeout(timer);
    await reading;
    return { code: status.code, stdout, stderr };
  };
  return { child, until, finished };
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`--listen prints what arrives without reading stdin, and ${signal} ends it with exit 0`, async () => {
    await using server = await startTestServer();
    const port = String(server.addr.port);
    await using bob = await connect(server, "bob");
    const watch = listener(["--port", port, "--name", "watcher", "--no-time"]);
    // Once it has joined, bob's lines reach it.
    await bob.waitFor("JOIN watcher");
    await bob.send("hello lobby");
    await bob.send(":pm watcher just for you");
    await watch.until(/\[pm from bob\] just for you/);
    watch.child.kill(signal);
    const result = await watch.finished();
    assert.equal(result.code, EXIT.ok, result.stderr);
    assert.match(result.stdout, /^<bob> hello lobby$/m, "no time in front with --no-time");
    assert.match(result.stdout, /^\[pm from bob\] just for you$/m);
    assert.equal(await bob.waitFor("LEAVE watcher"), "LEAVE watcher quit", "it left politely");
  });
}

Deno.test("--listen --json prints one JSON object per event until interrupted", async () => {
  await using server = await startTestServer();
  await using bob = await connect(server, "bob");
  const watch = listener(["--port", String(server.addr.port), "--name", "w", "--json"]);
  await bob.waitFor("JOIN w");
  await bob.send("in json");
  await watch.until(/"text":"in json"/);
  watch.child.kill("SIGINT");
  const result = await watch.finished();
  assert.equal(result.code, EXIT.ok, result.stderr);
  const records = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
  const message = records.find((r) => r.type === "message");
  assert.equal(message?.from, "bob");
  assert.equal(message?.text, "in json");
});

Deno.test("--listen needs --name and excludes --send", async () => {
  const alone = await runClient(["--listen"]);
  assert.equal(alone.code, EXIT.usage);
  assert.match(alone.stderr, /^client: --listen needs --name$/m);
  const both = await runClient(["--listen", "--name", "a", "--send", "x"]);
  assert.equal(both.code, EXIT.usage);
  assert.match(both.stderr, /^client: --listen and --send exclude each other$/m);
});

Deno.test(":files shows local date and time, and a tiny :put reports its time without a rate", async () => {
  const area = await Deno.makeTempDir({ prefix: "client-files-area-" });
  const file = join(area, "..", `tiny-${crypto.randomUUID()}.txt`);
  await Deno.writeTextFile(file, "tiny\n");
  try {
    await using server = await startTestServer({ filesDir: area });
    const before = Date.now();
    const result = await runClient(
      [
        "--port",
        String(server.addr.port),
        "--name",
        "alice",
        "--no-time",
        "--send",
        `:put ${file}`,
        "--send",
        ":files",
      ],
      "",
      // Half an hour off UTC: a UTC time printed as it came would not match.
      { TZ: "Asia/Kolkata", NO_COLOR: "1" },
    );
    assert.equal(result.code, EXIT.ok, result.stderr);
    const put = /^✓ put tiny-.*\.txt \(5 B\) in (.*), sha256 ok$/m.exec(result.stdout);
    assert.ok(put !== null, result.stdout);
    assert.match(put[1] ?? "", /^(<0\.1 s|[\d.]+ s)$/, "a short transfer gives no rate");
    const listed =
      /^ {2}tiny-\S+ {2}5 B {2}by alice {2}(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) {2}sha256 /m
        .exec(result.stdout);
    assert.ok(listed !== null, result.stdout);
    const shown = Date.parse(`${(listed[1] ?? "").replace(" ", "T")}+05:30`);
    assert.ok(Math.abs(shown - before) < 60_000, `${listed[1]} is local time in Asia/Kolkata`);
    assert.doesNotMatch(
      result.stdout,
      /^\d\d:\d\d:\d\d /m,
      "--no-time: no line starts with a time",
    );
  } finally {
    await Deno.remove(area, { recursive: true });
    await Deno.remove(file).catch(() => {});
  }
});

Deno.test("summary line: a quick or small transfer says <0.1 s and gives no rate; a real one does", () => {
  const result = (size: number, ms: number) => ({
    ok: true,
    kind: "put" as const,
    name: "a.bin",
    path: undefined,
    size,
    sha256: "ab",
    bytes: size,
    ms,
    final: undefined,
    offer: undefined,
    error: undefined,
  });
  assert.equal(summaryLine(result(588, 1), "/"), "✓ put a.bin (588 B) in <0.1 s, sha256 ok");
  assert.equal(summaryLine(result(588, 300), "/"), "✓ put a.bin (588 B) in 0.3 s, sha256 ok");
  assert.equal(
    summaryLine(result(2 ** 26, 50), "/"),
    "✓ put a.bin (64.0 MiB) in <0.1 s, sha256 ok",
  );
  assert.equal(
    summaryLine(result(2 ** 26, 500), "/"),
    "✓ put a.bin (64.0 MiB) in 0.5 s, 128 MiB/s, sha256 ok",
  );
});
