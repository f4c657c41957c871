import assert from "node:assert/strict";
import { connect, TestClient } from "./_helpers.ts";
import { REPO_ROOT, runProgram, ServerProcess } from "./_programs.ts";

const QUIET = ["--log-dir", "", "--no-console"];

function noStackTrace(stderr: string): void {
  assert.doesNotMatch(stderr, /^\s+at /m, `stack trace in: ${stderr}`);
}

async function tokenFileExists(port: number): Promise<boolean> {
  try {
    await Deno.stat(`${REPO_ROOT}.switchboard/admin-${port}.token`);
    return true;
  } catch {
    return false;
  }
}

Deno.test("server prints `listening on HOST:PORT` with the real port, and SIGTERM stops it gracefully", async () => {
  const logDir = await Deno.makeTempDir({ prefix: "switchboard-cli-logs-" });
  await using server = await ServerProcess.start([
    "--port",
    "0",
    "--log-dir",
    logDir,
    "--no-console",
  ]);
  assert.equal(server.hostname, "127.0.0.1");
  assert.ok(server.port > 0);
  assert.ok(await tokenFileExists(server.port), "the generated token is written for shutdown");
  await using alice = await connect(server.port, "alice");
  await using bob = await connect(server.port, "bob");
  await alice.send("before the signal");
  assert.equal(await bob.waitFor("MSG"), "MSG alice * :before the signal");
  server.kill("SIGTERM");
  assert.match(await bob.waitFor("BYE"), /^BYE shutdown :/);
  const result = await server.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.ok(!(await tokenFileExists(server.port)), "the token file is removed at exit");
  // The logs were flushed and closed: the last line of the run is there.
  const log = await Deno.readTextFile(`${logDir}/server.log`);
  assert.match(log, /message from alice \(127\.0\.0\.1:\d+\) to \*: 1 recipients/);
  assert.match(log.trimEnd().split("\n").at(-1) ?? "", /shut down: 2 connections served$/);
  await Deno.remove(logDir, { recursive: true });
});

Deno.test("server: a repeated SIGINT does not cut the grace period short; in-flight lines arrive", async () => {
  await using server = await ServerProcess.start([
    "--port",
    "0",
    "--shutdown-grace",
    "3",
    ...QUIET,
  ]);
  await using alice = await connect(server.port, "alice");
  await using bob = await connect(server.port, "bob");
  for (let i = 0; i < 50; i++) await alice.send(`line ${i}`);
  // Its reply comes after the 50 lines were read, so all of them count as accepted.
  await alice.command(":whoami");
  server.kill("SIGINT");
  server.kill("SIGINT");
  for (let i = 0; i < 50; i++) assert.equal(await bob.nextLine(), `MSG alice * :line ${i}`);
  assert.match(await bob.waitFor("BYE"), /^BYE shutdown/);
  // Another one as the server finishes (Ctrl+C pressed again): still a clean exit, not 130.
  try {
    server.kill("SIGINT");
  } catch {
    // Already exited.
  }
  const result = await server.finished();
  assert.equal(result.code, 0, result.stderr);
});

Deno.test("server listens on IPv6 with --host ::1", async () => {
  await using server = await ServerProcess.start(["--host", "::1", "--port", "0", ...QUIET]);
  assert.equal(server.hostname, "::1");
  await using alice = await connect(server.port, "alice", "::1");
  assert.ok(!alice.ended);
});

Deno.test("server: a port in use is one clear line and exit code 1", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const result = await runProgram("server", ["--port", String(taken.addr.port), ...QUIET]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
  assert.match(
    result.stderr,
    new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken.addr.port}: the port is already in use`),
  );
});

Deno.test("server: invalid configuration exits 2 naming the problem, without a stack trace", async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [["--port", "70000"], {}, /--port: expected a port number/],
    [["--host", "not-an-ip"], {}, /--host: expected an IP address/],
    [[], { SWITCHBOARD_MAX_CLIENTS: "none" }, /SWITCHBOARD_MAX_CLIENTS: expected a whole number/],
    [
      ["--log-messages", "text"],
      {},
      /--log-messages: expected "full", "meta" or "off", got "text"/,
    ],
    [[], { SWITCHBOARD_LOG_MESSAGES: "yes" }, /SWITCHBOARD_LOG_MESSAGES: expected "full", "meta"/],
    [["--config", "/no/such/file.json"], {}, /config file \/no\/such\/file\.json: no such file/],
    [["--frobnicate"], {}, /unknown option --frobnicate/],
  ];
  for (const [args, env, message] of cases) {
    const result = await runProgram("server", args, { env });
    assert.equal(result.code, 2, `${args} ${result.stderr}`);
    assert.match(result.stderr, message);
    noStackTrace(result.stderr);
  }
});

Deno.test("server: the environment and a config file configure the real program", async () => {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-cli-" });
  try {
    const config = `${dir}/switchboard.json`;
    await Deno.writeTextFile(config, JSON.stringify({ mode: "echo", maxClients: 5 }));
    await using server = await ServerProcess.start(
      ["--port", "0", "--config", config, ...QUIET],
      { env: { SWITCHBOARD_MAX_CLIENTS: "1" } },
    );
    await using first = await TestClient.open(server.port);
    assert.match(await first.nextLine(), /^HELLO .*echo/);
    await using second = await TestClient.open(server.port);
    assert.match(await second.nextLine(), /^ERR server-full :/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server --help and --version answer and exit 0", async () => {
  const help = await runProgram("server", ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: server/);
  assert.match(help.stdout, /--max-queue-bytes N/);
  const version = await runProgram("server", ["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^server \(switchboard\) \d+\.\d+\.\d+/);
});

Deno.test("the operator console (--console) broadcasts plain lines and runs admin commands", async () => {
  await using server = await ServerProcess.start(["--port", "0", "--log-dir", "", "--console"], {
    stdin: "piped",
  });
  await using alice = await connect(server.port, "alice");
  const stdin = server.child.stdin.getWriter();
  await stdin.write(new TextEncoder().encode("maintenance at noon\n"));
  assert.equal(await alice.waitFor("MSG"), "MSG server * :maintenance at noon");
  await stdin.write(new TextEncoder().encode(":kick alice enough\n"));
  assert.match(await alice.waitFor("BYE"), /^BYE kicked :enough/);
  await stdin.write(new TextEncoder().encode(":shutdown 1 console says bye\n"));
  await stdin.close();
  const result = await server.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^done: kick alice$/m);
  assert.match(result.stdout, /^shutting down…$/m);
});
