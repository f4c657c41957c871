import assert from "node:assert/strict";
import { configureLogging, type LoggingOptions } from "../core/log/configure.ts";
import { connect, startTestServer, TestClient } from "./_helpers.ts";
import { withLogFolder } from "./_logs.ts";

/** What a run left in its log folder. */
interface LogFiles {
  /** `server.log`. */
  server: string;
  /** `errors.log`. */
  errors: string;
  /** Every file in the folder with its size, rotated ones included. */
  sizes: Map<string, number>;
}

/**
 * Configures logging into a temp folder, runs `body`, disposes the logging (so everything
 * buffered reaches the files) and returns what the files hold.
 */
async function withLogs(
  logging: Partial<LoggingOptions>,
  body: () => Promise<void>,
): Promise<LogFiles> {
  const files = await withLogFolder(logging, body);
  const decoder = new TextDecoder();
  return {
    server: decoder.decode(files.get("server.log")),
    errors: decoder.decode(files.get("errors.log")),
    sizes: new Map([...files].map(([name, bytes]) => [name, bytes.length])),
  };
}

/** A short session with messages, bad input, a failed :auth, a kick and a refusal. */
function session(logFormat: "text" | "json"): Promise<LogFiles> {
  return withLogs({ logFormat }, async () => {
    await using server = await startTestServer();
    await using alice = await connect(server, "alice");
    await using bob = await connect(server, "bob");
    await using carol = await connect(server, "carol");
    await alice.send("hello \x1b[31mworld\x1b[0m");
    await bob.waitFor("MSG alice");
    await carol.waitFor("MSG alice");
    await alice.sendRaw(new Uint8Array([0xff, 0x0a]));
    await alice.waitFor("ERR bad-utf8");
    await alice.command(":auth wrong-token");
    await using stranger = await TestClient.open(server);
    await stranger.nextLine();
    await stranger.send("evil\rname");
    await stranger.waitFor("ERR");
    server.console(":kick bob \x1b[31mred\r2026-01-01T00:00:00.000Z [INF] forged");
    await bob.closed();
    await alice.send(":quit");
    await alice.closed();
    await using closedDoor = await startTestServer({ access: { deny: ["127.0.0.1"] } });
    await using refused = await TestClient.open(closedDoor);
    await refused.closed();
  });
}

Deno.test("log: server.log records connections, one line per message, commands and disconnects", async () => {
  const { server } = await session("text");
  assert.match(server, /listening on 127\.0\.0\.1:\d+ in chat mode/);
  assert.match(server, /connected 127\.0\.0\.1:\d+/);
  assert.match(server, /registered alice \(127\.0\.0\.1:\d+\)/);
  const messages = server.split("\n").filter((line) => line.includes("message from alice"));
  assert.equal(messages.length, 1, "one line per message, not per recipient");
  assert.match(messages[0] ?? "", /to \*: 2 recipients, \d+ bytes/);
  assert.match(server, /refused 127\.0\.0\.1:\d+: refused/);
  assert.match(server, /disconnected 127\.0\.0\.1:\d+ alice: quit/);
  // Every line starts with a timestamp.
  for (const line of server.trimEnd().split("\n")) {
    assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /, line);
  }
});

Deno.test("log: errors.log holds warnings only: bad input and failed :auth", async () => {
  const { errors } = await session("text");
  assert.match(errors, /invalid UTF-8 from alice/);
  assert.match(errors, /failed :auth from alice/);
  assert.match(errors, /refused 127\.0\.0\.1:\d+: refused/);
  assert.doesNotMatch(errors, /registered|message from|\[INF\]/);
});

Deno.test("log: a crafted message cannot forge a line or reach the terminal raw", async () => {
  const { server } = await session("text");
  const kick = server.split("\n").filter((line) => line.includes("kicked bob"));
  assert.equal(kick.length, 1, server);
  assert.match(kick[0] ?? "", /\\x1b\[31mred\\r2026-01-01T00:00:00\.000Z \[INF\] forged$/);
  // deno-lint-ignore no-control-regex -- looking for raw control characters is the point
  assert.doesNotMatch(server, /\x1b|\r/);
});

Deno.test("log: --log-format json writes one JSON object per line to both files", async () => {
  const { server, errors } = await session("json");
  const records = server.trimEnd().split("\n").map((line) => JSON.parse(line));
  const message = records.find((r) => String(r.message).startsWith("message from"));
  assert.ok(message, "a message record");
  assert.equal(message.properties.name, "alice");
  assert.equal(message.properties.target, "*");
  assert.equal(message.properties.recipients, 2);
  for (const line of errors.trimEnd().split("\n")) {
    assert.ok(["WARN", "ERROR", "warning", "error"].includes(JSON.parse(line).level), line);
  }
});

Deno.test("log: a pasted burst relayed in one batch still gets one line per message", async () => {
  const { server } = await withLogs({}, async () => {
    await using server = await startTestServer();
    await using alice = await connect(server, "alice");
    await using bob = await connect(server, "bob");
    await alice.send(Array.from({ length: 50 }, (_, i) => `burst ${i}`).join("\n"));
    for (let i = 0; i < 50; i++) await bob.waitFor(`MSG alice * :burst ${i}`);
  });
  const lines = server.split("\n").filter((line) => line.includes("message from alice"));
  assert.equal(lines.length, 50);
  for (const [i, line] of lines.entries()) {
    const bytes = new TextEncoder().encode(`burst ${i}`).length;
    assert.match(
      line,
      new RegExp(
        `^\\S+Z \\[INF\\] switchboard\\.traffic: message from alice \\(127\\.0\\.0\\.1:\\d+\\) to \\*: 1 recipients, ${bytes} bytes: burst ${i}$`,
      ),
    );
  }
});

Deno.test("log: files rotate by size and keep the configured number", async () => {
  const { sizes } = await withLogs({ maxFileBytes: 4096, maxFiles: 2 }, async () => {
    await using server = await startTestServer();
    await using alice = await connect(server, "alice");
    await using _bob = await connect(server, "bob");
    for (let i = 0; i < 600; i++) await alice.command(`:pm bob message number ${i}`);
  });
  const names = [...sizes.keys()];
  assert.ok(sizes.has("server.log.1") && sizes.has("server.log.2"), names.join(" "));
  assert.ok(!sizes.has("server.log.3"), "no more than maxFiles old files");
  // Each generation ends within the cap: the sink rotates before a write that would pass it.
  for (const [name, size] of sizes) {
    if (name.startsWith("server.log")) assert.ok(size <= 4096, `${name}: ${size} bytes`);
  }
  assert.ok((sizes.get("server.log") ?? 0) > 0);
});

Deno.test("log: the console is coloured on a terminal, plain otherwise, and never shows traffic", async () => {
  for (const terminal of [true, false]) {
    const written: string[] = [];
    const consoleWriter = {
      writeSync: (data: Uint8Array) => (written.push(new TextDecoder().decode(data)), data.length),
      isTerminal: () => terminal,
    };
    {
      await using _logging = await configureLogging({
        logDir: "",
        logFormat: "text",
        console: "auto",
        consoleWriter,
      });
      await using server = await startTestServer();
      await using alice = await connect(server, "alice");
      await using bob = await connect(server, "bob");
      await alice.send("hello");
      await bob.waitFor("MSG");
    }
    const text = written.join("");
    assert.match(text, /connected 127\.0\.0\.1:\d+/);
    assert.doesNotMatch(text, /message from/);
    // deno-lint-ignore no-control-regex -- colour codes are what this checks
    const coloured = /\x1b\[/.test(text);
    assert.equal(coloured, terminal && !Deno.noColor, text);
  }
});

Deno.test("log: in echo mode every line is a request-log line too", async () => {
  const { server } = await withLogs({}, async () => {
    await using server = await startTestServer({ mode: "echo" });
    await using client = await TestClient.open(server);
    await client.nextLine();
    await client.send("ping one\nping two two");
    assert.equal(await client.nextLine(), "ping one");
    assert.equal(await client.nextLine(), "ping two two");
  });
  const lines = server.split("\n").filter((line) => line.includes(" to echo: "));
  assert.equal(lines.length, 2);
  assert.match(
    lines[0] ?? "",
    /message from - \(127\.0\.0\.1:\d+\) to echo: 1 recipients, 8 bytes: ping one$/,
  );
  assert.match(lines[1] ?? "", /to echo: 1 recipients, 12 bytes: ping two two$/);
});

Deno.test("log: a client held by the rate limit is a warning in errors.log, once", async () => {
  const { errors } = await withLogs({}, async () => {
    await using server = await startTestServer({ rateLimit: 10 });
    await using alice = await connect(server, "alice");
    await using bob = await connect(server, "bob");
    await alice.send(Array.from({ length: 25 }, (_, i) => `line ${i}`).join("\n"));
    await bob.waitFor("MSG alice * :line 24");
  });
  const warnings = errors.split("\n").filter((line) => line.includes("rate limit: alice"));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? "", /faster than 10 lines\/s; its lines are held, not dropped/);
});
