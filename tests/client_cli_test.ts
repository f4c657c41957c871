import assert from "node:assert/strict";
import { connect, startTestServer } from "./_helpers.ts";
import { ClientProcess, lines, runClient } from "./client_harness.ts";
import { EXIT } from "../cli/_exit_codes.ts";

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[/;

Deno.test("piped lines are handled in order, and at EOF every answer is awaited before :quit", async () => {
  // The rate limit makes the server slow to answer: the client must still wait for all of it.
  await using server = await startTestServer({ rateLimit: 10 });
  await using bob = await connect(server, "bob");
  const commands = Array.from(
    { length: 25 },
    (_, i) => (i % 2 === 0 ? `line ${i}` : `:pm bob pm ${i}`),
  );
  const input = ["alice", ...commands, ":group create dev", ":group members dev"].join("\n");
  const result = await runClient(["--port", String(server.addr.port)], input);
  assert.equal(result.code, EXIT.ok, result.stderr);
  const received = [];
  for (;;) {
    const line = await bob.nextLine();
    if (line.startsWith("LEAVE alice")) break;
    if (line.startsWith("MSG ") || line.startsWith("PM ")) received.push(line);
  }
  assert.deepEqual(
    received,
    commands.map((c, i) => (i % 2 === 0 ? `MSG alice * :${c}` : `PM alice :pm ${i}`)),
  );
  const out = lines(result.stdout);
  assert.equal(out.filter((l) => l.includes("[pm to bob]")).length, 12);
  assert.match(out.at(-2) ?? "", /^\d\d:\d\d:\d\d {3}alice$/);
  assert.match(out.at(-1) ?? "", /✓ #dev: 1 member$/);
  assert.doesNotMatch(result.stdout, ANSI, "no colours when stdout is not a terminal");
  assert.equal(server.stats().disconnects.quit, 1, "the client left with :quit");
});

Deno.test("--send is repeatable: lines go out in order and the client exits once they are taken", async () => {
  await using server = await startTestServer();
  await using bob = await connect(server, "bob");
  const result = await runClient([
    "127.0.0.1",
    String(server.addr.port),
    "--name",
    "alice",
    "--send",
    "first",
    "-s",
    ":pm bob second",
    "--send",
    "third",
  ]);
  assert.equal(result.code, EXIT.ok, result.stderr);
  assert.equal(await bob.waitFor("MSG "), "MSG alice * :first");
  assert.equal(await bob.waitFor("PM "), "PM alice :second");
  assert.equal(await bob.waitFor("MSG "), "MSG alice * :third");
  assert.equal(await bob.waitFor("LEAVE "), "LEAVE alice quit");
});

Deno.test("--send exits non-zero when a command fails, 9 when it was not allowed", async () => {
  await using server = await startTestServer();
  const port = String(server.addr.port);
  const missing = await runClient(["--port", port, "--name", "alice", "--send", ":pm nobody hi"]);
  assert.equal(missing.code, EXIT.failure);
  assert.match(
    missing.stdout,
    /✗ :pm nobody hi: nobody called "nobody" is online \(no-such-user\)/,
  );
  const kick = await runClient(["--port", port, "--name", "alice", "--send", ":kick bob"]);
  assert.equal(kick.code, EXIT.notAllowed);
});

Deno.test("--json prints one JSON object per event on stdout, and notices on stderr", async () => {
  await using server = await startTestServer();
  await using bob = await connect(server, "bob");
  await using client = new ClientProcess([
    "--port",
    String(server.addr.port),
    "--name",
    "alice",
    "--json",
  ]);
  await client.waitFor(/"type":"welcome"/);
  await bob.send("hello alice");
  await bob.send(":pm alice a secret");
  await client.waitFor(/"type":"private"/);
  await client.send(":list");
  await client.closeInput();
  const result = await client.finished();
  assert.equal(result.code, EXIT.ok, result.stderr);
  const records = lines(result.stdout).map((line) => JSON.parse(line));
  assert.deepEqual(records.map((r) => r.type), [
    "hello",
    "welcome",
    "message",
    "private",
    "user",
    "user",
    "ok",
    "bye",
  ]);
  for (const record of records) {
    assert.ok(!Number.isNaN(Date.parse(record.time)), "every record has a time");
  }
  // Messages carry the server's id once the client's `:ids on` (sent when SESSION arrives) is in
  // force; one sent in the same instant as the registration may come before it, without.
  const { time: _t1, id: id1, ...message } = records[2];
  assert.deepEqual(message, { type: "message", from: "bob", target: "*", text: "hello alice" });
  const { time: _t2, id: id2, ...pm } = records[3];
  assert.deepEqual(pm, { type: "private", from: "bob", text: "a secret" });
  for (const id of [id1, id2]) assert.ok(id === undefined || typeof id === "number", `${id}`);
  assert.deepEqual(records[6].command, ":list");
  assert.match(result.stderr, /Hello alice!/);
});

Deno.test("without a terminal a refused name exits 8 with the server's reason", async () => {
  await using server = await startTestServer();
  await using _alice = await connect(server, "alice");
  const port = String(server.addr.port);
  const taken = await runClient(["--port", port, "--name", "ALICE", "--send", "hi"]);
  assert.equal(taken.code, EXIT.nameRefused);
  assert.match(
    taken.stderr,
    /refused the name "ALICE": "ALICE" is taken; try another \(name-taken\)/,
  );
  const invalid = await runClient(["--port", port], "not a name\nhello\n");
  assert.equal(invalid.code, EXIT.nameRefused);
  assert.match(invalid.stderr, /refused the name "not a name": .*letters.* \(bad-name\)/);
});

Deno.test("from a pipe the first line is the name; --send without --name is a usage error", async () => {
  await using server = await startTestServer();
  await using bob = await connect(server, "bob");
  const port = String(server.addr.port);
  const piped = await runClient(["--port", port], "\ncarol\nhi from carol\n");
  assert.equal(piped.code, EXIT.ok, piped.stderr);
  assert.equal(await bob.waitFor("MSG "), "MSG carol * :hi from carol");
  const nameless = await runClient(["--port", port, "--send", "hi"]);
  assert.equal(nameless.code, EXIT.usage);
  assert.match(nameless.stderr, /needs a name: pass --name/);
});

Deno.test("client-local commands work from a pipe: :help lists them, :status, :wait and :sleep", async () => {
  await using server = await startTestServer();
  const input = [
    "alice",
    ":help",
    ":group create ops",
    ":wait",
    ":status",
    ":sleep 0.1",
    ":sleep x",
  ].join("\n");
  const result = await runClient(["--port", String(server.addr.port)], input);
  assert.equal(result.code, EXIT.failure, "the bad :sleep counts as a failure");
  assert.match(result.stdout, /:pm <user> <text> {3,}private message/, "the server's help");
  assert.match(result.stderr, /client commands:/);
  assert.match(result.stderr, /:status .*connection, name, groups/);
  assert.match(
    result.stderr,
    /connected to 127\.0\.0\.1:\d+ \(chat server [^)]+\) as alice, in #ops; 0 lines queued/,
  );
  assert.match(result.stderr, /usage: :sleep <seconds>/);
});

Deno.test("an echo server's replies are shown as echoes, and exit leaves", async () => {
  await using server = await startTestServer({ mode: "echo" });
  const result = await runClient(
    ["--port", String(server.addr.port)],
    "one\n:not a command here\nexit\nnever sent\n",
  );
  assert.equal(result.code, EXIT.ok, result.stderr);
  const out = lines(result.stdout).map((l) => l.replace(/^\S+ /, ""));
  assert.deepEqual(out, ["echo: one", "echo: :not a command here"]);
});

Deno.test("--help, --version and bad flags", async () => {
  const help = await runClient(["--help"]);
  assert.equal(help.code, EXIT.ok);
  assert.match(help.stdout, /^Usage: client \[host\] \[port\]/);
  assert.match(help.stdout, /--reconnect-timeout/);
  const version = await runClient(["-V"]);
  assert.equal(version.code, EXIT.ok);
  assert.match(version.stdout, /^client \(switchboard\) .*protocol sb\/1/);
  for (
    const args of [["--bogus"], ["--port", "70000"], ["--connect-timeout", "soon"], [
      "a",
      "1",
      "extra",
    ]]
  ) {
    const bad = await runClient(args);
    assert.equal(bad.code, EXIT.usage, args.join(" "));
    assert.match(bad.stderr, /client: .*\nUsage: client .*\nRun `client --help` for the options\./);
  }
});

Deno.test("--log-file appends what was shown, with full timestamps and no colours", async () => {
  await using server = await startTestServer();
  const file = await Deno.makeTempFile({ prefix: "client-log-" });
  try {
    const result = await runClient(
      [
        "--port",
        String(server.addr.port),
        "--name",
        "alice",
        "--log-file",
        file,
        "--send",
        ":list",
      ],
      "",
      { FORCE_COLOR: "1" },
    );
    assert.equal(result.code, EXIT.ok, result.stderr);
    const logged = lines(await Deno.readTextFile(file));
    assert.ok(
      logged.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /.test(l)),
      logged.join("\n"),
    );
    assert.ok(logged.some((l) => l.endsWith("* Hello alice! 1 online. Type :help for commands")));
    assert.ok(logged.some((l) => l.endsWith("✓ 1 online")));
    assert.doesNotMatch(logged.join("\n"), ANSI);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("--fallback: when the server cannot be reached, the next one is tried", async () => {
  await using server = await startTestServer();
  await using bob = await connect(server, "bob");
  // A port nobody listens on: the client is refused there and goes on to its fallback.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = closed.addr.port;
  closed.close();
  const result = await runClient([
    "--port",
    String(deadPort),
    "--fallback",
    `127.0.0.1:${server.addr.port}`,
    "-n",
    "alice",
    "-s",
    "via the fallback",
  ]);
  assert.equal(result.code, EXIT.ok, result.stderr);
  assert.equal(await bob.waitFor("MSG "), "MSG alice * :via the fallback");
});
