/**
 * The `server` program's console speaks to a person: help as a list, stats as an aligned table,
 * `sent to N people`, `error: …`, a prompt on a terminal; and at start the server says once
 * where it listens, where the generated admin token is, whether the files area is on and where
 * the console is.
 */

import assert from "node:assert/strict";
import { resolve } from "node:path";
import { connect } from "./_helpers.ts";
import { REPO_ROOT, ServerProcess } from "./_programs.ts";
import { HAS_TMUX, Terminal } from "./_tmux.ts";
import { humanReplies, startLines } from "../cli/_server_console.ts";

const encoder = new TextEncoder();

Deno.test("server console (--console on stdin): human replies, and the start lines say where things are", async () => {
  const files = await Deno.makeTempDir({ prefix: "console-files-" });
  // The console sink of the log stays on (no --log-dir "" hiding nothing): it must not repeat
  // the listening line.
  const logDir = await Deno.makeTempDir({ prefix: "console-logs-" });
  try {
    const server = await ServerProcess.start(
      ["--port", "0", "--log-dir", logDir, "--console", "--files-dir", files],
      { stdin: "piped" },
    );
    await using _server = server;
    await using alice = await connect(server.port, "alice");
    const stdin = server.child.stdin.getWriter();
    await stdin.write(encoder.encode(":help\n:stats\nhello everyone\n:bogus\n"));
    assert.equal(await alice.waitFor("MSG"), "MSG server * :hello everyone");
    await stdin.write(encoder.encode("exit\n"));
    await stdin.close();
    const result = await server.finished();
    assert.equal(result.code, 0, result.stderr);
    const out = result.stdout;
    const token = resolve(REPO_ROOT, `.switchboard/admin-${server.port}.token`);
    assert.ok(out.includes(`admin token: ${token} (`), out);
    assert.match(out, new RegExp(`^files: ${files.replaceAll("/", "\\/")}$`, "m"));
    assert.match(out, /^console: stdin; type :help for commands, exit to shut down$/m);
    // Help: a list without the protocol's HELP prefix, or the commands a console cannot use.
    assert.match(out, /^commands \(the console has admin rights\):$/m);
    assert.match(out, /^ {2}:pm <user> <text> +private message$/m);
    assert.match(out, /^ {2}:kick <user> \[reason\] +\(admin\)$/m);
    assert.doesNotMatch(out, /^HELP|^OK |^STAT /m, "no protocol lines");
    assert.doesNotMatch(out, /^ {2}:put |^ {2}:auth /m);
    // Stats: one aligned table, values right-aligned in one column.
    const stats = out.split("\n").filter((line) =>
      /^(online|messages|connections) +\d+$/.test(line)
    );
    assert.equal(stats.length, 3, out);
    assert.equal(new Set(stats.map((line) => line.length)).size, 1, "aligned");
    assert.match(out, /^disconnects +\d+$/m);
    assert.match(out, /^ {2}kicked +0$/m);
    assert.match(out, /^sent to 1 person$/m);
    assert.match(out, /^error: unknown command ":bogus"; try :help$/m);
    assert.match(out, /^shutting down…$/m);
    // `listening on` once: on stdout, not again on the log's console lines.
    // (ServerProcess read up to the one line; what follows it holds no other.)
    assert.doesNotMatch(out, /listening on/);
    assert.doesNotMatch(result.stderr, /listening on/);
    assert.match(await Deno.readTextFile(`${logDir}/server.log`), /listening on 127\.0\.0\.1:/);
  } finally {
    await Deno.remove(files, { recursive: true });
    await Deno.remove(logDir, { recursive: true });
  }
});

Deno.test("server console: without a console or a files area, the start lines say so", async () => {
  const server = await ServerProcess.start(["--port", "0", "--log-dir", "", "--no-console"]);
  await using _server = server;
  server.kill("SIGTERM");
  const result = await server.finished();
  assert.match(result.stdout, /^files: off$/m);
  assert.match(result.stdout, /^console: off \(--console turns it on\)$/m);
});

Deno.test("server console: replies for people, pure", () => {
  assert.deepEqual(humanReplies(["OK broadcast 0"]), ["sent to 0 people"]);
  assert.deepEqual(humanReplies(["OK broadcast 2"]), ["sent to 2 people"]);
  assert.deepEqual(humanReplies(["ERR not-allowed :no"]), ["error: no"]);
  assert.deepEqual(humanReplies(["USER bob 127.0.0.1:5", "OK list 1"]), [
    "  bob  127.0.0.1:5",
    "1 online",
  ]);
  assert.deepEqual(humanReplies(["STAT uptime 3725", "STAT online 12", "OK stats"]), [
    "uptime  1 h 2 min",
    "online         12",
  ]);
  assert.deepEqual(startLines({ tokenFiles: ["/t/a.token"], filesDir: "", console: "terminal" }), [
    "admin token: /t/a.token (shutdown reads it)",
    "files: off",
    "console: this terminal; type :help for commands, exit to shut down",
  ]);
});

Deno.test({
  name: "server console on a terminal: a prompt, and the prompt comes back after each reply",
  ignore: !HAS_TMUX,
  async fn() {
    await using term = new Terminal();
    await term.start("server", ["--port", "0", "--log-dir", ""]);
    try {
      await term.waitFor(/console: this terminal; type :help for commands/);
      await term.waitFor(/^console>/m);
      await term.type(":stats");
      await term.keys("Enter");
      const screen = await term.waitFor(/^online +0\n(.|\n)*^console>/m);
      assert.match(screen, /^disconnects +0$/m);
      await term.type("exit");
      await term.keys("Enter");
      await term.waitFor(/exit=0/);
    } finally {
      // Closing tmux hangs up the terminal, and SIGHUP only reloads a server: stop it first.
      await term.keys("C-c");
      await term.waitFor(/exit=/).catch(() => "");
    }
  },
});
