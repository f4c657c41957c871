/**
 * The request log (issue 13): every message has a line in `server.log` with its time, sender,
 * client address, target and text; `--log-messages` chooses full lines, lines without the text, or
 * none; the text is escaped so one message is one inert line; and the file is in time order.
 * Everything over real TCP, into a real log folder.
 */
import assert from "node:assert/strict";
import type { LoggingOptions } from "../core/log/configure.ts";
import type { ServerOptions } from "../core/config/options.ts";
import type { Server } from "../core/server/server.ts";
import { connect, startTestServer, TestClient } from "./_helpers.ts";
import { withLogFolder } from "./_logs.ts";
import { ServerProcess } from "./_programs.ts";

const decoder = new TextDecoder();
const PEER = String.raw`127\.0\.0\.1:\d+`;

/** Runs `body` against a server logging into a temp folder; returns the lines of `server.log`. */
async function serverLog(
  options: { logging?: Partial<LoggingOptions>; server?: ServerOptions },
  body: (server: Server) => Promise<void>,
): Promise<string[]> {
  const files = await withLogFolder(options.logging ?? {}, async () => {
    await using server = await startTestServer(options.server);
    await body(server);
  });
  return decoder.decode(files.get("server.log")).trimEnd().split("\n");
}

/** The message lines of a text `server.log`. */
const messageLines = (lines: string[]) => lines.filter((line) => line.includes(": message from "));

/** Every line starts with a timestamp, and none is earlier than the line before it. */
function assertInTimeOrder(lines: string[], timeOf = (line: string) => line.slice(0, 24)): void {
  let previous = "";
  for (const line of lines) {
    const time = timeOf(line);
    assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, line);
    assert.ok(time >= previous, `${line}\ncomes after a line timed ${previous}`);
    previous = time;
  }
}

/** Index of the one line matching `pattern`. */
function lineIndex(lines: string[], pattern: RegExp): number {
  const found = lines.flatMap((line, index) => pattern.test(line) ? [index] : []);
  assert.equal(found.length, 1, `one line matching ${pattern} in\n${lines.join("\n")}`);
  return found[0]!;
}

Deno.test("request log: a lobby message's line records time, sender, client address, target and text", async () => {
  const lines = await serverLog({}, async (server) => {
    await using alice = await connect(server, "alice");
    await using bob = await connect(server, "bob");
    await alice.send("hello there, 👋");
    await bob.waitFor("MSG alice * :hello there");
    await alice.send("::-) starts with a colon");
    await bob.waitFor("MSG alice * ::-)");
  });
  const messages = messageLines(lines);
  assert.equal(messages.length, 2, lines.join("\n"));
  assert.match(
    messages[0]!,
    new RegExp(
      `^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\[INF\\] switchboard\\.traffic: message from alice \\(${PEER}\\) to \\*: 1 recipients, 17 bytes: hello there, 👋$`,
    ),
  );
  assert.match(messages[1]!, /to \*: 1 recipients, 23 bytes: :-\) starts with a colon$/);
});

Deno.test("request log: private, group and console messages have their text in their line too", async () => {
  const lines = await serverLog({}, async (server) => {
    await using alice = await connect(server, "alice");
    await using bob = await connect(server, "bob");
    await alice.command(":pm bob psst, bob");
    await bob.waitFor("PM alice :psst, bob");
    await alice.command(":group create ops");
    await bob.command(":group join ops");
    await alice.command(":group send ops deploy at noon");
    await bob.waitFor("MSG alice #ops :deploy at noon");
    assert.deepEqual(server.console("maintenance in 5 minutes"), ["OK broadcast 2"]);
    await bob.waitFor("MSG server * :maintenance in 5 minutes");
  });
  const messages = messageLines(lines);
  assert.equal(messages.length, 3, lines.join("\n"));
  assert.match(
    messages[0]!,
    new RegExp(`message from alice \\(${PEER}\\) to bob: 1 recipients, 9 bytes: psst, bob$`),
  );
  assert.match(
    messages[1]!,
    /message from alice \(.*\) to #ops: 1 recipients, 14 bytes: deploy at noon$/,
  );
  assert.match(
    messages[2]!,
    /message from server \(console\) to \*: 2 recipients, 24 bytes: maintenance in 5 minutes$/,
  );
});

Deno.test("request log: in echo mode every echoed line is logged with its text, however it was read", async () => {
  const lines = await serverLog({ server: { mode: "echo" } }, async (server) => {
    await using client = await TestClient.open(server);
    await client.nextLine();
    // Whole plain lines in one chunk: echoed in one pass.
    await client.send("ping one\r\nping two two");
    assert.equal(await client.nextLine(), "ping one\r");
    assert.equal(await client.nextLine(), "ping two two");
    // A chunk with invalid UTF-8 in it: its lines are checked and echoed one by one.
    await client.sendRaw(
      new Uint8Array([0xff, 0x0a, ...new TextEncoder().encode("checked line\n")]),
    );
    assert.match(await client.nextLine(), /^ERR bad-utf8 /);
    assert.equal(await client.nextLine(), "checked line");
  });
  const messages = messageLines(lines);
  assert.equal(messages.length, 3, lines.join("\n"));
  assert.match(
    messages[0]!,
    new RegExp(`message from - \\(${PEER}\\) to echo: 1 recipients, 8 bytes: ping one$`),
  );
  assert.match(messages[1]!, /to echo: 1 recipients, 12 bytes: ping two two$/);
  assert.match(messages[2]!, /to echo: 1 recipients, 12 bytes: checked line$/);
});

/** A line an attacker would like to see in the operator's terminal raw. */
const HOSTILE =
  "evil\r2026-01-01T00:00:00.000Z [INF] forged \x1b[2J\x1b]0;title\x07 \u202egnp.exe\u2028end";

Deno.test("request log: a text with line breaks, ANSI escapes or bidi controls stays one inert line", async () => {
  const lines = await serverLog({ server: { mode: "echo" } }, async (server) => {
    await using client = await TestClient.open(server);
    await client.nextLine();
    await client.send(HOSTILE);
    assert.equal(await client.nextLine(), HOSTILE, "echo mode returns it verbatim");
  });
  const evil = lines.filter((line) => line.includes("evil"));
  assert.equal(evil.length, 1, "one message, one line");
  assert.ok(
    evil[0]!.endsWith(
      String
        .raw`bytes: evil\r2026-01-01T00:00:00.000Z [INF] forged \x1b[2J\x1b]0;title\x07 \u202egnp.exe\u2028end`,
    ),
    evil[0],
  );
  for (const line of lines) {
    // deno-lint-ignore no-control-regex -- looking for raw control characters is the point
    assert.doesNotMatch(line, /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]/);
  }
  assertInTimeOrder(lines);
});

Deno.test("request log: JSON lines carry the exact text as the property text and stay valid JSON", async () => {
  const lines = await serverLog(
    { logging: { logFormat: "json" }, server: { mode: "echo" } },
    async (server) => {
      await using client = await TestClient.open(server);
      await client.nextLine();
      await client.send(`${HOSTILE} "quoted" \\ backslash`);
      await client.nextLine();
    },
  );
  const records = lines.map((line) => JSON.parse(line));
  const messages = records.filter((record) => record.message.startsWith("message from"));
  assert.equal(messages.length, 1);
  assert.equal(messages[0].properties.text, `${HOSTILE} "quoted" \\ backslash`);
  assert.equal(messages[0].properties.target, "echo");
  assert.equal(
    messages[0].properties.bytes,
    new TextEncoder().encode(messages[0].properties.text).length,
  );
  for (const line of lines) {
    // deno-lint-ignore no-control-regex -- looking for raw control characters is the point
    assert.doesNotMatch(line, /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]/);
  }
  assertInTimeOrder(lines, (line) => JSON.parse(line)["@timestamp"]);
});

Deno.test("request log: logMessages meta logs each message without its text", async () => {
  const lines = await serverLog({ server: { logMessages: "meta" } }, async (server) => {
    await using alice = await connect(server, "alice");
    await using bob = await connect(server, "bob");
    await alice.send("my secret plans");
    await bob.waitFor("MSG alice");
    await alice.command(":pm bob another secret");
  });
  const messages = messageLines(lines);
  assert.equal(messages.length, 2, lines.join("\n"));
  assert.match(
    messages[0]!,
    new RegExp(`message from alice \\(${PEER}\\) to \\*: 1 recipients, 15 bytes$`),
  );
  assert.match(messages[1]!, /message from alice \(.*\) to bob: 1 recipients, 14 bytes$/);
  assert.doesNotMatch(lines.join("\n"), /secret/);
});

Deno.test("request log: logMessages off logs no message lines, and everything else still", async () => {
  const lines = await serverLog({ server: { logMessages: "off" } }, async (server) => {
    await using alice = await connect(server, "alice");
    await using bob = await connect(server, "bob");
    await alice.send("my secret plans");
    await bob.waitFor("MSG alice");
    await alice.command(":pm bob another secret");
    assert.deepEqual(server.console("console secret"), ["OK broadcast 2"]);
    await alice.send(":quit");
    await alice.closed();
  });
  const text = lines.join("\n");
  assert.doesNotMatch(text, /message from|secret/);
  assert.match(text, /registered alice/);
  assert.match(text, /command pm from alice/);
  assert.match(text, /disconnected 127\.0\.0\.1:\d+ alice: quit/);
});

Deno.test("request log: the server program takes --log-messages and SWITCHBOARD_LOG_MESSAGES, full by default", async () => {
  const cases: [string[], Record<string, string>, RegExp | undefined][] = [
    [[], {}, /to \*: 1 recipients, 11 bytes: hello there$/],
    [["--log-messages", "meta"], {}, /to \*: 1 recipients, 11 bytes$/],
    [[], { SWITCHBOARD_LOG_MESSAGES: "meta" }, /to \*: 1 recipients, 11 bytes$/],
    [["--log-messages=off"], {}, undefined],
    [["--log-messages", "full"], { SWITCHBOARD_LOG_MESSAGES: "off" }, /11 bytes: hello there$/],
  ];
  for (const [args, env, expected] of cases) {
    const logDir = await Deno.makeTempDir({ prefix: "switchboard-log-messages-" });
    try {
      const server = await ServerProcess.start(
        ["--port", "0", "--log-dir", logDir, "--no-console", ...args],
        { env },
      );
      {
        await using _server = server;
        await using alice = await connect(server.port, "alice");
        await using bob = await connect(server.port, "bob");
        await alice.send("hello there");
        await bob.waitFor("MSG alice * :hello there");
        server.kill("SIGTERM");
        assert.equal((await server.finished()).code, 0);
      }
      const lines = messageLines((await Deno.readTextFile(`${logDir}/server.log`)).split("\n"));
      const what = `${args.join(" ")} ${JSON.stringify(env)}`;
      if (expected === undefined) {
        assert.deepEqual(lines, [], what);
      } else {
        assert.equal(lines.length, 1, what);
        assert.match(lines[0]!, expected, what);
      }
    } finally {
      await Deno.remove(logDir, { recursive: true });
    }
  }
});

Deno.test("request log: a message comes before its sender's disconnect, even when the sender leaves at once", async () => {
  const lines = await serverLog({}, async (server) => {
    await using bob = await connect(server, "bob");
    const alice = await connect(server, "alice");
    await bob.waitFor("JOIN alice");
    await alice.send("last words");
    await alice[Symbol.asyncDispose]();
    await bob.waitFor("MSG alice * :last words");
    await bob.waitFor("LEAVE alice");
  });
  const message = lineIndex(lines, /message from alice .*: last words$/);
  const disconnected = lineIndex(lines, /disconnected 127\.0\.0\.1:\d+ alice/);
  assert.ok(message < disconnected, lines.join("\n"));
  assertInTimeOrder(lines);
});

Deno.test("request log: messages and commands from one read are logged in the order they were handled", async () => {
  const lines = await serverLog({}, async (server) => {
    await using alice = await connect(server, "alice");
    await using bob = await connect(server, "bob");
    await alice.send("one\n:pm bob two\nthree\n:whoami\nfour");
    await bob.waitFor("MSG alice * :four");
    await alice.waitFor("OK whoami");
  });
  const order = [
    /message from alice .* to \*: .*: one$/,
    /command pm from alice/,
    /message from alice .* to bob: .*: two$/,
    /message from alice .* to \*: .*: three$/,
    /command whoami from alice/,
    /message from alice .* to \*: .*: four$/,
  ].map((pattern) => lineIndex(lines, pattern));
  assert.deepEqual(order, [...order].sort((a, b) => a - b), lines.join("\n"));
  assertInTimeOrder(lines);
});

Deno.test("request log: a line held by the rate limit is never timed before what was logged meanwhile", async () => {
  const lines = await serverLog({ server: { rateLimit: 10 } }, async (server) => {
    await using alice = await connect(server, "alice");
    await using bob = await connect(server, "bob");
    // One read: a burst of 20 goes at once, the other 5 one per 100 ms, read long before.
    await alice.send(Array.from({ length: 25 }, (_, i) => `line ${i}`).join("\n"));
    await bob.waitFor("MSG alice * :line 20");
    await bob.command(":whoami");
    await bob.waitFor("MSG alice * :line 24");
  });
  const whoami = lineIndex(lines, /command whoami from bob/);
  assert.ok(whoami < lineIndex(lines, /: line 24$/), lines.join("\n"));
  assertInTimeOrder(lines);
});
