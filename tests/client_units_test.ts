import assert from "node:assert/strict";
import { localDateTime } from "../cli/_local_time.ts";
import { exponentialBackoff, fixedBackoff } from "../core/client/backoff.ts";
import { parseClientArgs, UsageError } from "../cli/_client_args.ts";
import { jsonRecord, painter, renderLine } from "../cli/_client_render.ts";
import { parseServerLine } from "../core/protocol/server_line.ts";
import { AckTracker, isPlainMessage } from "../core/client/acks.ts";
import {
  displayWidth,
  formatBytes,
  formatDuration,
  formatRate,
  progressLine,
  summaryLine,
  transferRecord,
} from "../cli/_client_progress.ts";
import { splitArgs } from "../cli/_client_transfers.ts";

Deno.test("backoff: a fixed delay with bounded jitter, and an exponential one with a cap", () => {
  const low = fixedBackoff(5000, { jitter: 0.1, random: () => 0 });
  const high = fixedBackoff(5000, { jitter: 0.1, random: () => 0.999999 });
  assert.equal(low(1), 4500);
  assert.equal(high(9), 5500);
  assert.equal(fixedBackoff(5000, { jitter: 0 })(3), 5000);
  const growing = exponentialBackoff({ initialMs: 100, maxMs: 1000, factor: 3, jitter: 0 });
  assert.deepEqual([1, 2, 3, 4, 5].map(growing), [100, 300, 900, 1000, 1000]);
  for (let i = 0; i < 100; i++) {
    const delay = fixedBackoff(1000)(1);
    assert.ok(delay >= 900 && delay <= 1100, String(delay));
  }
});

Deno.test("arguments: defaults, positional host and port, flags, and usage errors", () => {
  const defaults = parseClientArgs([]);
  assert.ok(typeof defaults === "object");
  assert.deepEqual(defaults, {
    hostname: "127.0.0.1",
    port: 12345,
    tls: false,
    tlsCa: undefined,
    fallbacks: [],
    name: undefined,
    login: false,
    send: [],
    json: false,
    listen: false,
    time: true,
    color: true,
    bell: true,
    logFile: undefined,
    connectTimeout: 5,
    reconnectInterval: 5,
    reconnectTimeout: 120,
    queueLimit: 100,
    staleTimeout: 90,
    downloads: "downloads",
    offers: "ask",
  });
  const plan = parseClientArgs([
    "[::1]",
    "4000",
    "-n",
    "bob",
    "-s",
    "a",
    "--send",
    "b",
    "--no-color",
    "--json",
  ]);
  assert.ok(typeof plan === "object");
  assert.equal(plan.hostname, "::1");
  assert.equal(plan.port, 4000);
  assert.equal(plan.name, "bob");
  assert.deepEqual(plan.send, ["a", "b"]);
  assert.equal(plan.color, false);
  assert.equal(plan.json, true);
  const files = parseClientArgs(["--downloads", "/tmp/in", "--accept-files"]);
  assert.ok(typeof files === "object");
  assert.equal(files.downloads, "/tmp/in");
  assert.equal(files.offers, "accept");
  const tls = parseClientArgs(["--tls", "--tls-ca", "ca.pem"]);
  assert.ok(typeof tls === "object");
  assert.deepEqual([tls.tls, tls.tlsCa, tls.port], [true, "ca.pem", 12346]);
  assert.throws(() => parseClientArgs(["--tls-ca", "ca.pem"]), /--tls-ca needs --tls/);
  const login = parseClientArgs(["--name", "alice", "--login"]);
  assert.ok(typeof login === "object" && login.login && login.name === "alice");
  const fallbacks = parseClientArgs([
    "--fallback",
    "10.0.0.2:7000,[::1]:7001",
    "--fallback",
    "n3:7002",
  ]);
  assert.ok(typeof fallbacks === "object");
  assert.deepEqual(fallbacks.fallbacks, [
    { hostname: "10.0.0.2", port: 7000 },
    { hostname: "::1", port: 7001 },
    { hostname: "n3", port: 7002 },
  ]);
  const declining = parseClientArgs(["--decline-files"]);
  assert.ok(typeof declining === "object" && declining.offers === "decline");
  assert.equal(parseClientArgs(["--help"]), "help");
  assert.equal(parseClientArgs(["-V"]), "version");
  for (
    const args of [
      ["--port", "0"],
      ["--port", "x"],
      ["h", "1", "2"],
      ["--host", "a", "b"],
      ["--name", " "],
      ["--queue-limit", "1.5"],
      ["--what"],
      ["--accept-files", "--decline-files"],
      ["--downloads", ""],
      ["--login"],
      ["--name", "alice", "--password", "x"],
      ["--fallback", "10.0.0.2"],
      ["--fallback", "a:0"],
      ["--fallback", ""],
    ]
  ) {
    assert.throws(() => parseClientArgs(args), UsageError, args.join(" "));
  }
});

Deno.test("render: senders keep one colour whatever the case; colours can be off entirely", () => {
  const paint = painter(true);
  assert.equal(paint.sender("Alice"), paint.sender("alice").replace("alice", "Alice"));
  const plain = painter(false);
  const received = {
    event: parseServerLine("MSG bob #dev :hi"),
    command: undefined,
    registration: false,
  };
  assert.equal(renderLine(received, { me: "alice", paint: plain }), "[#dev] <bob> hi");
  // deno-lint-ignore no-control-regex
  assert.match(renderLine(received, { me: "alice", paint: painter(true) }) ?? "", /\x1b\[/);
});

Deno.test("render: private, group, notices and errors look different; control characters are neutralised", () => {
  const ctx = { me: "alice", paint: painter(false) };
  const show = (line: string, command?: string) =>
    renderLine({ event: parseServerLine(line), command, registration: false }, ctx);
  assert.equal(show("MSG bob * :hi"), "<bob> hi");
  assert.equal(show("PM bob :psst"), "[pm from bob] psst");
  assert.equal(show("OK pm bob", ":pm Bob see you"), "[pm to bob] see you");
  assert.equal(show("MSG server * :restart at 5"), "[server] restart at 5");
  assert.equal(show("JOIN bob #dev"), "→ bob joined #dev");
  assert.equal(show("LEAVE bob stale"), "← bob left (stale)");
  assert.equal(show("NICK alice ally"), "alice is now known as ally");
  assert.equal(show("NICK al alice"), "you are now known as alice");
  assert.equal(
    show("ERR no-such-group :there is no group #x", ":group join x"),
    "✗ :group join x: there is no group #x (no-such-group)",
  );
  assert.equal(show("OK help"), undefined);
  assert.equal(show("BYE quit :Goodbye!"), undefined);
  assert.equal(show("MSG bob * :\x1b[31mred\x07"), "<bob> \uFFFD[31mred\uFFFD");
});

Deno.test("render: JSON records carry type, time and the event's fields", () => {
  const time = new Date("2030-01-02T03:04:05.678Z");
  const record = (line: string, command?: string) =>
    jsonRecord({ event: parseServerLine(line), command, registration: false }, time);
  assert.deepEqual(record("MSG bob #dev :hi"), {
    type: "message",
    time: "2030-01-02T03:04:05.678Z",
    from: "bob",
    target: "#dev",
    text: "hi",
  });
  assert.deepEqual(record("ERR bad-args :usage: :pm <user> <text>", ":pm"), {
    type: "error",
    time: "2030-01-02T03:04:05.678Z",
    code: "bad-args",
    text: "usage: :pm <user> <text>",
    command: ":pm",
  });
  assert.deepEqual(record("FROB 1"), {
    type: "unknown",
    time: "2030-01-02T03:04:05.678Z",
    verb: "FROB",
    text: "FROB 1",
  });
});

Deno.test("render: file, offer, receipt, :run and acknowledgement lines", () => {
  const ctx = {
    me: "alice",
    paint: painter(false),
    offerName: (id: number) => id === 7 ? "photo.jpg" : undefined,
  };
  const show = (line: string, command?: string) =>
    renderLine({ event: parseServerLine(line), command, registration: false }, ctx);
  const hash = "ab".repeat(32);
  assert.equal(show(`FILE a.bin 10 ${hash}`, ":get a.bin"), undefined);
  assert.equal(
    show(`FILEINFO a.bin 1536 ${hash} bob 2030-01-02T03:04:05.678Z`),
    `  a.bin  1.5 KiB  by bob  ${
      localDateTime("2030-01-02T03:04:05.678Z")
    }  sha256 abababababababab…`,
  );
  assert.equal(show("OK files 2"), "✓ 2 files in the shared area");
  assert.equal(
    show(`OFFER 3 bob alice photo.jpg 70000 ${hash}`),
    "⇣ offer 3: bob offers photo.jpg (68.4 KiB)",
  );
  assert.equal(
    show(`OFFER 4 bob #team notes.txt 12 ${hash}`),
    "⇣ offer 4: bob to #team offers notes.txt (12 B)",
  );
  assert.equal(show("RECEIPT 7 bob delivered"), "✓ offer 7 (photo.jpg) → bob: delivered");
  assert.equal(show("RECEIPT 8 carol declined"), "• offer 8 → carol: declined");
  assert.equal(show("STDOUT uptime :up 3 days"), "[uptime] up 3 days");
  assert.equal(show("STDERR fail :to stderr"), "[fail stderr] to stderr");
  assert.equal(show("OK run uptime 0"), "✓ uptime exited with 0");
  assert.equal(show("OK run fail 3"), "✗ fail exited with 3");
  assert.equal(show("COMMAND backup admin 600"), "  backup admin only, timeout 600 s");
  assert.equal(show("OK commands 1"), "✓ 1 command");
  assert.equal(show("ACK 1", "hello"), undefined);
  assert.equal(
    show("NACK 2 line-too-long :lines are limited to 128 bytes", "x".repeat(50)),
    `✗ not delivered: "${"x".repeat(39)}…": lines are limited to 128 bytes (line-too-long)`,
  );
  // A transfer's own OK lines are left to its summary line.
  for (const line of ["OK put a", "OK get a", "OK send 1 1", "OK accept 1"]) {
    assert.equal(show(line), undefined, line);
  }
  assert.equal(show("OK decline 3"), "✓ declined offer 3");
  assert.equal(show("OK rm a.bin"), "✓ removed a.bin");
});

Deno.test("progress: sizes, rates and durations for people; progress lines fit one row", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1024), "1.0 KiB");
  assert.equal(formatBytes(64 * 1024 * 1024), "64.0 MiB");
  assert.equal(formatBytes(300 * 1024 * 1024), "300 MiB");
  assert.equal(formatBytes(1024 ** 3), "1.00 GiB");
  assert.equal(formatRate(2.5 * 1024 * 1024), "2.5 MiB/s");
  assert.equal(formatDuration(0.84), "0.8 s");
  assert.equal(formatDuration(42.4), "42 s");
  assert.equal(formatDuration(65), "1:05");
  assert.equal(formatDuration(3723), "1:02:03");
  assert.equal(displayWidth("日本a"), 5);
  const state = {
    kind: "get",
    phase: "receiving" as const,
    name: "résumé-日本-with-a-rather-long-name.pdf",
    bytes: 256 * 1024 * 1024,
    size: 1024 ** 3,
    elapsedMs: 2000,
  };
  for (const columns of [20, 40, 60, 80, 100, 200]) {
    const line = progressLine(state, columns);
    assert.ok(displayWidth(line) < columns, `${columns}: ${line}`);
  }
  const wide = progressLine(state, 120);
  assert.match(
    wide,
    /^⇣ get résumé-日本.*… \[█+░+\] +25% {2}256 MiB\/1\.00 GiB {2}128 MiB\/s {2}ETA 6\.0 s$/,
  );
  assert.match(progressLine({ ...state, phase: "hashing", kind: "put" }, 120), /^# hashing /);
});

Deno.test("progress: the summary line says name, size, time, rate, the hash check and where it went", () => {
  const base = {
    ok: true,
    kind: "get" as const,
    name: "big.bin",
    path: "/work/dl/big (1).bin",
    size: 64 * 1024 * 1024,
    sha256: "ab".repeat(32),
    bytes: 64 * 1024 * 1024,
    ms: 500,
    final: undefined,
    offer: undefined,
    error: undefined,
  };
  assert.equal(
    summaryLine(base, "/work"),
    "✓ got big.bin (64.0 MiB) in 0.5 s, 128 MiB/s, sha256 ok → dl/big (1).bin",
  );
  assert.equal(
    summaryLine({ ...base, kind: "put", path: "/elsewhere/big.bin" }, "/work"),
    "✓ put big.bin (64.0 MiB) in 0.5 s, 128 MiB/s, sha256 ok",
  );
  assert.equal(
    summaryLine({ ...base, kind: "send", offer: { id: 4, recipients: 2 } }, "/work"),
    "✓ sent big.bin (64.0 MiB) in 0.5 s, 128 MiB/s, sha256 ok: offer 4 to 2 recipients",
  );
  assert.equal(
    summaryLine({
      ...base,
      ok: false,
      path: undefined,
      error: { code: "bad-hash", text: "the bytes received hash to 00…; nothing kept" },
    }, "/work"),
    "✗ get big.bin: the bytes received hash to 00…; nothing kept (bad-hash)",
  );
  const record = transferRecord(base, new Date(0));
  assert.equal(record.type, "transfer");
  assert.equal(record.event, "done");
  assert.equal(record.bytesPerSecond, 128 * 1024 * 1024);
});

Deno.test("transfer commands: words split on spaces, quotes keep a path with spaces whole", () => {
  assert.deepEqual(splitArgs("a.txt"), ["a.txt"]);
  assert.deepEqual(splitArgs("  a.txt   b  "), ["a.txt", "b"]);
  assert.deepEqual(splitArgs(`"my file.txt" 'other name'`), ["my file.txt", "other name"]);
  assert.deepEqual(splitArgs(""), []);
  assert.equal(splitArgs(`"unclosed`), undefined);
});

Deno.test("acknowledgements: plain messages are numbered and matched to ACK/NACK in order", () => {
  assert.ok(isPlainMessage("hi") && isPlainMessage("::-)") && isPlainMessage(" exit"));
  assert.ok(!isPlainMessage("") && !isPlainMessage(":pm bob hi") && !isPlainMessage("Exit"));
  const acks = new AckTracker();
  acks.sent("before :ack on");
  assert.equal(acks.waiting, 0, "nothing is numbered while off");
  acks.start();
  for (const line of ["one", ":list", "two", "three", "four"]) acks.sent(line);
  assert.equal(acks.waiting, 4);
  assert.equal(acks.answer(1), "one");
  assert.equal(acks.answer(2), "two");
  // A server that skipped 3: it is never answered.
  assert.equal(acks.answer(4), "four");
  assert.equal(acks.answer(9), undefined);
  assert.deepEqual(acks.unanswered, ["three"]);
  acks.sent("five");
  assert.deepEqual(acks.end().map((m) => m.line), ["three", "five"]);
  assert.equal(acks.active, false);
});
