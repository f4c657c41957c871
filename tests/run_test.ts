/**
 * Remote commands (`:run`) over real TCP: only declared programs run, without a shell, with the
 * client's words as plain arguments after a `--` (or matching a declared pattern); output streams
 * back as lines; timeouts, disconnects and admin-only commands are enforced. The server-wide cap
 * (`maxRunning`) is tested in run_cap_test.ts.
 */

import assert from "node:assert/strict";
import type { RemoteCommand, ServerOptions } from "../core/config/options.ts";
import { connect, eventually, startTestServer, type TestClient } from "./_helpers.ts";

const unix = Deno.build.os !== "windows";
/** A shell script printing each argument it received as `[<argument>]`, nothing without any. */
const SHOW_ARGV = 'for word; do printf "[%s]\\n" "$word"; done';

const COMMANDS: Record<string, RemoteCommand> = {
  hello: { argv: ["echo", "hello", "world"] },
  args: { argv: ["printf", "[%s]\\n"] },
  fail: { argv: ["sh", "-c", "echo to stdout; echo to stderr >&2; exit 3"] },
  slow: { argv: ["sh", "-c", "echo $$; exec sleep 30"], timeout: 0.3 },
  pid: { argv: ["sh", "-c", "echo $$; exec sleep 30"], timeout: 60 },
  env: { argv: ["env"] },
  noargs: { argv: ["echo", "fixed"], maxArgs: 0 },
  secret: { argv: ["echo", "for admins"], admin: true },
  missing: { argv: ["/no/such/program"] },
  lots: { argv: ["seq", "1", "20000"] },
  long: { argv: ["sh", "-c", "head -c 10000 /dev/zero | tr '\\0' x; echo; echo done"] },
  quick: { argv: ["sh", "-c", "sleep 0.1; echo first"] },
  echo: { argv: ["echo"] },
  show: { argv: ["sh", "-c", SHOW_ARGV, "show"] },
  pick: { argv: ["sh", "-c", SHOW_ARGV, "pick"], args: { pattern: "[a-z0-9.]+" } },
  either: { argv: ["sh", "-c", SHOW_ARGV, "either"], args: { pattern: "a|b" } },
};

function runServer(options: ServerOptions = {}) {
  return startTestServer({ commands: COMMANDS, adminToken: "admin-token-123", ...options });
}

/** A command's reply lines, skipping lobby announcements. */
async function run(client: TestClient, line: string): Promise<string[]> {
  return (await client.command(line)).filter((l) => !l.startsWith("JOIN "));
}

Deno.test({
  name: "run: a declared command streams its output and ends with OK run <name> <exit-code>",
  ignore: !unix,
  async fn() {
    await using server = await runServer();
    await using alice = await connect(server, "alice");
    assert.deepEqual(await run(alice, ":run hello"), [
      "STDOUT hello :hello world",
      "OK run hello 0",
    ]);
  },
});

Deno.test({
  name: "run: a failing command reports its exit code, with stderr as STDERR lines",
  ignore: !unix,
  async fn() {
    await using server = await runServer();
    await using alice = await connect(server, "alice");
    const lines = await run(alice, ":run fail");
    assert.equal(lines.at(-1), "OK run fail 3");
    assert.deepEqual(lines.slice(0, -1).sort(), [
      "STDERR fail :to stderr",
      "STDOUT fail :to stdout",
    ]);
  },
});

Deno.test({
  name: "run: a command past its timeout is killed and answered ERR timeout",
  ignore: !unix,
  async fn() {
    await using server = await runServer();
    await using alice = await connect(server, "alice");
    // The program would sleep 30 s, far past the wait for a reply: the answer can only come
    // from the timeout, and only once the program is gone.
    const lines = await run(alice, ":run slow");
    const pid = Number(lines[0]?.match(/^STDOUT slow :(\d+)$/)?.[1]);
    assert.deepEqual(lines, [
      `STDOUT slow :${pid}`,
      "ERR timeout :slow ran longer than 0.3 s and was killed",
    ]);
    if (Deno.build.os === "linux") assert.ok(!alive(pid), `process ${pid} still running`);
    assert.deepEqual(await alice.command(":ping"), ["OK ping"]);
  },
});

Deno.test("run: only declared commands run; names are not paths or shell text", async () => {
  await using server = await runServer();
  await using alice = await connect(server, "alice");
  for (const line of [":run rm -rf /", ":run /bin/sh", ":run constructor", ":run ../hello"]) {
    const [reply = ""] = await run(alice, line);
    assert.match(reply, /^ERR no-such-command :/, line);
  }
  assert.deepEqual(await run(alice, ":run"), ["ERR bad-args :usage: :run <command> [args...]"]);
});

Deno.test({
  name: "run: arguments are data, never shell syntax",
  ignore: !unix,
  async fn() {
    await using dir = await tempDir();
    const marker = `${dir.path}/marker`;
    await Deno.writeTextFile(marker, "still here");
    await using server = await runServer();
    await using alice = await connect(server, "alice");
    const words = [
      ";",
      "rm",
      "-rf",
      marker,
      "&&",
      "$(touch",
      `${dir.path}/pwned)`,
      "`id`",
      "|",
      "cat",
    ];
    const lines = await run(alice, `:run args ${words.join(" ")}`);
    assert.deepEqual(lines, [
      "STDOUT args :[--]", // the `--` the server puts before a client's words
      ...words.map((word) => `STDOUT args :[${word}]`),
      "OK run args 0",
    ]);
    assert.equal(await Deno.readTextFile(marker), "still here");
    await assert.rejects(Deno.stat(`${dir.path}/pwned)`));
  },
});

Deno.test({
  name: "run: a client's words come after a --, so a program never takes them as options",
  ignore: !unix,
  async fn() {
    await using server = await runServer();
    await using alice = await connect(server, "alice");
    assert.deepEqual(await run(alice, ":run show --help -rf x"), [
      "STDOUT show :[--]",
      "STDOUT show :[--help]",
      "STDOUT show :[-rf]",
      "STDOUT show :[x]",
      "OK run show 0",
    ]);
    // Without words there is nothing to protect, and no `--` either.
    assert.deepEqual(await run(alice, ":run show"), ["OK run show 0"]);
    assert.deepEqual(await run(alice, ":run hello"), [
      "STDOUT hello :hello world",
      "OK run hello 0",
    ]);
    // A real program: echo would print its help for --help, and drop the newline for -n.
    assert.deepEqual(await run(alice, ":run echo --help"), [
      "STDOUT echo :-- --help",
      "OK run echo 0",
    ]);
    assert.deepEqual(await run(alice, ":run echo -n hi"), [
      "STDOUT echo :-- -n hi",
      "OK run echo 0",
    ]);
  },
});

Deno.test({
  name: "run: with a declared pattern, words come right after argv, each matching it in full",
  ignore: !unix,
  async fn() {
    await using server = await runServer();
    await using alice = await connect(server, "alice");
    assert.deepEqual(await run(alice, ":run pick report.txt v2"), [
      "STDOUT pick :[report.txt]",
      "STDOUT pick :[v2]",
      "OK run pick 0",
    ]);
    const refusal = "each word must match [a-z0-9.]+ in full";
    for (const word of ["--help", "-x", "a-b", "A", "x;y", "ümlaut"]) {
      assert.deepEqual(await run(alice, `:run pick ok ${word}`), [
        `ERR bad-args :argument ${JSON.stringify(word)} refused: ${refusal}`,
      ]);
    }
    // The anchors hold around an alternation: "ab" is neither "a" nor "b".
    assert.deepEqual(await run(alice, ":run either ab"), [
      'ERR bad-args :argument "ab" refused: each word must match a|b in full',
    ]);
    assert.deepEqual(await run(alice, ":run either b a"), [
      "STDOUT either :[b]",
      "STDOUT either :[a]",
      "OK run either 0",
    ]);
  },
});

Deno.test({
  name: "run: a word refused by the pattern starts no process",
  ignore: !unix,
  async fn() {
    await using dir = await tempDir();
    const marker = `${dir.path}/ran`;
    await using server = await runServer({
      commands: {
        mark: {
          argv: ["sh", "-c", 'echo "$*" >> "$0"', marker],
          args: { pattern: "[a-z]+" },
        },
      },
    });
    await using alice = await connect(server, "alice");
    assert.deepEqual(await run(alice, ":run mark fine --delete"), [
      'ERR bad-args :argument "--delete" refused: each word must match [a-z]+ in full',
    ]);
    await assert.rejects(Deno.stat(marker), Deno.errors.NotFound);
    assert.deepEqual(await run(alice, ":run mark fine"), ["OK run mark 0"]);
    assert.equal(await Deno.readTextFile(marker), "fine\n");
  },
});

Deno.test("run: extra arguments are limited per command, and control characters refused", async () => {
  await using server = await runServer();
  await using alice = await connect(server, "alice");
  assert.deepEqual(await run(alice, ":run noargs x"), [
    "ERR bad-args :this command takes no arguments",
  ]);
  const many = Array.from({ length: 17 }, (_, i) => `a${i}`).join(" ");
  assert.deepEqual(await run(alice, `:run args ${many}`), [
    "ERR bad-args :this command takes at most 16 arguments",
  ]);
  assert.deepEqual(await run(alice, ":run args a\x01b"), [
    "ERR bad-args :arguments cannot contain control characters",
  ]);
});

Deno.test({
  name: "run: admin-only commands need admin rights; :commands lists what the caller may run",
  ignore: !unix,
  async fn() {
    await using server = await runServer();
    await using alice = await connect(server, "alice");
    assert.deepEqual(await run(alice, ":run secret"), [
      "ERR not-allowed :secret is for admins (see :auth)",
    ]);
    const listed = await run(alice, ":commands");
    assert.ok(!listed.some((line) => line.startsWith("COMMAND secret ")));
    assert.ok(listed.includes("COMMAND hello user 10"));
    assert.equal(listed.at(-1), `OK commands ${listed.length - 1}`);
    await alice.command(":auth admin-token-123");
    assert.deepEqual(await run(alice, ":run secret"), [
      "STDOUT secret :for admins",
      "OK run secret 0",
    ]);
    assert.ok((await run(alice, ":commands")).includes("COMMAND secret admin 10"));
  },
});

Deno.test({
  name: "run: a program that cannot start is ERR run-failed; the server's env is not passed on",
  ignore: !unix,
  async fn() {
    await using server = await runServer();
    await using alice = await connect(server, "alice");
    assert.deepEqual(await run(alice, ":run missing"), [
      "ERR run-failed :missing: program /no/such/program not found",
    ]);
    // Nothing of the server's environment (PATH, HOME, an admin token …) reaches the program.
    assert.ok(Deno.env.get("PATH") !== undefined);
    assert.deepEqual(await run(alice, ":run env"), ["OK run env 0"]);
  },
});

Deno.test({
  name: "run: a client that disconnects has its command killed",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using server = await runServer();
    let pid: number;
    {
      await using alice = await connect(server, "alice");
      await alice.send(":run pid");
      pid = Number((await alice.waitFor("STDOUT pid :")).split(":")[1]);
      assert.ok(pid > 0);
      assert.ok(alive(pid));
    }
    await eventually(() => !alive(pid), 3000, `process ${pid} killed`);
  },
});

Deno.test({
  name: "run: the server shutting down kills running commands",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const server = await runServer();
    await using alice = await connect(server, "alice");
    await alice.send(":run pid");
    const pid = Number((await alice.waitFor("STDOUT pid :")).split(":")[1]);
    await server.shutdown({ grace: 1 });
    assert.ok(!alive(pid));
    assert.match(await alice.waitFor("ERR "), /^ERR run-failed :pid was stopped/);
    assert.match(await alice.waitFor("BYE "), /^BYE shutdown /);
  },
});

Deno.test({
  name: "run: lines sent after :run are handled after it ends, in order",
  ignore: !unix,
  async fn() {
    await using server = await runServer();
    await using alice = await connect(server, "alice");
    await using bob = await connect(server, "bob");
    await alice.send(":run quick\n:ping\nafter the command");
    assert.deepEqual(await alice.reply(), ["JOIN bob", "STDOUT quick :first", "OK run quick 0"]);
    assert.deepEqual(await alice.reply(), ["OK ping"]);
    assert.equal(await bob.waitFor("MSG "), "MSG alice * :after the command");
  },
});

Deno.test({
  name: "run: long output arrives whole, paced by the client's queue; long lines are cut",
  ignore: !unix,
  async fn() {
    await using server = await runServer({ maxQueueBytes: 64 * 1024, maxLineBytes: 1024 });
    await using alice = await connect(server, "alice");
    const lines = await run(alice, ":run lots");
    assert.equal(lines.length, 20001);
    assert.equal(lines[0], "STDOUT lots :1");
    assert.equal(lines[19999], "STDOUT lots :20000");
    assert.equal(lines[20000], "OK run lots 0");
    const long = await run(alice, ":run long");
    assert.deepEqual(long.map((line) => line.length), [4096 + 13, 4096 + 13, 1808 + 13, 17, 13]);
    assert.equal(long.at(-1), "OK run long 0");
  },
});

Deno.test("run: the operator console cannot :run", async () => {
  await using server = await runServer();
  assert.deepEqual(server.console(":run hello"), [
    "ERR not-allowed :the console cannot run commands",
  ]);
});

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z /.test(stat); // a zombie is dead
  } catch {
    return false;
  }
}

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "switchboard-run-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}
