import assert from "node:assert/strict";
import { exponentialBackoff, fixedBackoff } from "../core/backoff.ts";
import { parseClientArgs, UsageError } from "../cli/_client_args.ts";
import { jsonRecord, painter, renderLine, senderColor } from "../cli/_client_render.ts";
import { parseServerLine } from "../core/server_line.ts";

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
    name: undefined,
    send: [],
    json: false,
    color: true,
    logFile: undefined,
    connectTimeout: 5,
    reconnectInterval: 5,
    reconnectTimeout: 120,
    queueLimit: 100,
    staleTimeout: 90,
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
    ]
  ) {
    assert.throws(() => parseClientArgs(args), UsageError, args.join(" "));
  }
});

Deno.test("render: senders keep one colour whatever the case; colours can be off entirely", () => {
  assert.equal(senderColor("Alice"), senderColor("alice"));
  const colours = new Set(["a", "b", "c", "d", "e", "f", "g", "h"].map(senderColor));
  assert.ok(colours.size > 3, "names spread over the palette");
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
