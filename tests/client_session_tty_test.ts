/**
 * The interactive client kept open all day, in a real pseudo-terminal (tmux): your own messages
 * shown like everyone else's, Ctrl+C and leaving, exit codes of a person's session, the idle cut
 * that is healed by typing, and one status line while the server is away. Skipped without tmux.
 *
 * With `SWITCHBOARD_CAPTURE=<file>` the own-messages test also writes its screen, with colours
 * (`tmux capture-pane -e`), to that file: `scripts/capture_svg.ts` turns it into the README's
 * screenshot.
 */

import assert from "node:assert/strict";
import { connect, startTestServer } from "./_helpers.ts";
import { HAS_TMUX, Terminal } from "./_tmux.ts";
import { until } from "./client_harness.ts";

if (!HAS_TMUX) console.warn("client_session_tty_test: tmux is not installed; tests skipped");

/** Non-empty screen lines. */
function rows(screen: string): string[] {
  return screen.split("\n").map((line) => line.trimEnd()).filter((line) => line !== "");
}

const TIME = String.raw`\d\d:\d\d:\d\d`;

Deno.test({
  name:
    "terminal: your own lobby and group messages are shown with the time and your name instead of the prompt line, and logged",
  ignore: !HAS_TMUX,
  fn: async () => {
    const log = await Deno.makeTempFile({ prefix: "client-own-log-" });
    try {
      await using server = await startTestServer();
      await using bob = await connect(server, "bob");
      await using term = new Terminal();
      const capture = Deno.env.get("SWITCHBOARD_CAPTURE");
      await term.start(
        "client",
        ["--port", String(server.addr.port), "--name", "carol", "--log-file", log],
        capture === undefined ? {} : { NO_COLOR: "" },
      );
      await term.waitFor(/^carol>\s*$/m);
      await bob.send("morning all");
      await term.waitFor(/<bob> morning all/);
      await term.type("hello bob");
      await term.keys("Enter");
      assert.equal(await bob.waitFor("MSG "), "MSG carol * :hello bob");
      await term.type(":group create dev");
      await term.keys("Enter");
      await term.waitFor(/✓ created and joined #dev/);
      await bob.send(":group join dev");
      await term.waitFor(/→ bob joined #dev/);
      await term.type(":group send dev build is green");
      await term.keys("Enter");
      assert.equal(await bob.waitFor("MSG "), "MSG carol #dev :build is green");
      await bob.send(":group send dev thanks");
      const screen = await term.waitFor(/\[#dev\] <bob> thanks\ncarol>\s*$/);
      const lines = rows(screen);
      assert.ok(
        lines.some((l) => new RegExp(`^${TIME} <carol> hello bob$`).test(l)),
        screen,
      );
      assert.ok(
        lines.some((l) => new RegExp(`^${TIME} \\[#dev\\] <carol> build is green$`).test(l)),
        screen,
      );
      assert.ok(!lines.includes("carol> hello bob"), `the raw prompt line is replaced:\n${screen}`);
      assert.ok(
        !lines.includes("carol> :group send dev build is green"),
        `the raw prompt line is replaced:\n${screen}`,
      );
      assert.ok(lines.includes("carol> :group create dev"), "commands stay as typed");
      if (capture !== undefined) await Deno.writeTextFile(capture, await term.screen(true));
      await term.keys("C-d");
      await term.waitFor(/^exit=0$/m);
      const logged = await Deno.readTextFile(log);
      for (
        const text of [
          "<bob> morning all",
          "<carol> hello bob",
          "[#dev] <carol> build is green",
          "[#dev] <bob> thanks",
        ]
      ) {
        assert.ok(logged.includes(` ${text}\n`), `${text} in the log:\n${logged}`);
      }
    } finally {
      await Deno.remove(log);
    }
  },
});

Deno.test({
  name:
    "terminal: Ctrl+C clears the half-typed line, twice on an empty line leaves, and the goodbye starts on its own line",
  ignore: !HAS_TMUX,
  fn: async () => {
    await using server = await startTestServer();
    await using term = new Terminal();
    await term.start("client", ["--port", String(server.addr.port), "--name", "carol"]);
    await term.waitFor(/^carol>\s*$/m);
    await term.type("half typed");
    await term.waitFor(/^carol> half typed$/m);
    await term.keys("C-c");
    await term.waitFor(/^carol>\s*$/m);
    const screen = await term.screen();
    assert.ok(!screen.includes("half typed"), screen);
    assert.doesNotMatch(screen, /exit=/);
    // The line editor really is empty: what is typed next is sent alone.
    await using bob = await connect(server, "bob");
    await term.type("fresh");
    await term.keys("Enter");
    assert.equal(await bob.waitFor("MSG "), "MSG carol * :fresh");
    await term.keys("C-c");
    await term.waitFor(/Ctrl\+C again leaves/);
    assert.doesNotMatch(await term.screen(), /exit=/);
    await term.keys("C-c");
    const end = await term.waitFor(/^exit=0$/m);
    assert.equal(await bob.waitFor("LEAVE "), "LEAVE carol quit");
    const lines = rows(end);
    assert.match(lines.at(-2) ?? "", new RegExp(`^${TIME} disconnected\\. Bye!$`), end);
    assert.ok(!lines.some((l) => /^carol> .*Bye/.test(l)), end);
  },
});

Deno.test({
  name:
    "terminal: a person who quits as asked (:quit, /quit, Ctrl+D) gets exit 0 even after a failed command",
  ignore: !HAS_TMUX,
  fn: async () => {
    await using server = await startTestServer();
    for (const leave of [":quit", "/quit", "C-d"]) {
      await using term = new Terminal();
      await term.start("client", ["--port", String(server.addr.port), "--name", "carol"]);
      await term.waitFor(/^carol>\s*$/m);
      await term.type(":pm nobody hi");
      await term.keys("Enter");
      await term.waitFor(/✗ :pm nobody hi: .*\(no-such-user\)/);
      await term.type(":kick bob");
      await term.keys("Enter");
      await term.waitFor(/\(not-allowed\)/);
      if (leave === "C-d") await term.keys("C-d");
      else await term.type(leave), await term.keys("Enter");
      const screen = await term.waitFor(/^exit=\d+$/m);
      assert.match(screen, /^exit=0$/m, `${leave}:\n${screen}`);
      assert.match(screen, new RegExp(`^${TIME} disconnected\\. Bye!$`, "m"), screen);
    }
  },
});

Deno.test({
  name:
    "terminal: cut for inactivity (BYE idle), the client stays open, says so once, and typing reconnects and sends the line",
  ignore: !HAS_TMUX,
  fn: async () => {
    await using server = await startTestServer({ idleTimeout: 1.5 });
    const messages: string[] = [];
    server.on("message", ({ from, target, text }) => messages.push(`${from} ${target} ${text}`));
    await using term = new Terminal();
    await term.start("client", ["--port", String(server.addr.port), "--name", "carol"]);
    await term.waitFor(/^carol>\s*$/m);
    await term.type(":group create dev");
    await term.keys("Enter");
    await term.waitFor(/✓ created and joined #dev/);
    await term.waitFor(/disconnected for inactivity/);
    await term.waitFor(/^\(offline\) carol>\s*$/m);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    let screen = await term.screen();
    assert.equal(screen.match(/disconnected for inactivity/g)?.length, 1, screen);
    assert.doesNotMatch(screen, /exit=|reconnecting|offline:/, screen);
    await term.type("back again");
    await term.keys("Enter");
    await until(() => messages.length === 1, 5000, "the line typed to wake up is sent");
    assert.deepEqual(messages, ["carol * back again"]);
    screen = await term.waitFor(
      new RegExp(
        `reconnected to 127\\.0\\.0\\.1:\\d+ as carol; rejoined #dev.*\n${TIME} <carol> back again\n`,
      ),
    );
    assert.deepEqual(server.console(":group members dev"), [
      "MEMBER #dev carol",
      "OK group members dev 1",
    ]);
    await term.keys("C-d");
    await term.waitFor(/^exit=0$/m);
  },
});

Deno.test({
  name:
    "terminal: while the server is away one status line updates in place; after the reconnect timeout the client stays and Enter tries again",
  ignore: !HAS_TMUX,
  fn: async () => {
    const first = await startTestServer();
    const port = first.addr.port;
    await using term = new Terminal();
    await term.start("client", [
      "--port",
      String(port),
      "--name",
      "carol",
      "--reconnect-interval",
      "0.2",
      "--connect-timeout",
      "1",
      "--reconnect-timeout",
      "3",
    ]);
    await term.waitFor(/^carol>\s*$/m);
    await term.type(":group create dev");
    await term.keys("Enter");
    await term.waitFor(/✓ created and joined #dev/);
    await first.shutdown({ reason: "maintenance" });
    const seen = new Set<string>();
    let screen = await term.waitFor(/⟳ offline: .*giving up in/);
    for (const deadline = Date.now() + 1500; Date.now() < deadline;) {
      screen = await term.screen();
      const status = rows(screen).filter((l) => l.includes("offline:"));
      assert.ok(status.length <= 1, `one status line at most:\n${screen}`);
      if (status[0] !== undefined) seen.add(status[0]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(seen.size >= 2, `the status line changes in place: ${[...seen].join(" | ")}`);
    assert.doesNotMatch(screen, /still disconnected/);
    // The prompt stays below the status line (a capture may fall between two redraws: wait for it).
    await term.waitFor(/⟳ offline: [^\n]*\n\(offline\) carol>\s*$/);
    screen = await term.waitFor(
      /^✗ gave up reconnecting after 3 s \(connection refused\) · Enter tries again, Ctrl\+D leaves$/m,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    screen = await term.screen();
    assert.doesNotMatch(screen, /exit=/, screen);
    assert.equal(rows(screen).filter((l) => /^[⟳✗] /.test(l)).length, 1, screen);
    assert.equal(screen.match(/lost \(shutdown: maintenance\)/g)?.length, 1, screen);

    await using second = await startTestServer({ port });
    await term.keys("Enter");
    screen = await term.waitFor(/reconnected to 127\.0\.0\.1:\d+ as carol; rejoined #dev/);
    screen = await term.waitFor(/^carol>\s*$/m);
    assert.doesNotMatch(screen, /offline:|^✗ |^\(offline\)/m, screen);
    const messages: string[] = [];
    second.on("message", ({ from, text }) => messages.push(`${from} ${text}`));
    await term.type("made it");
    await term.keys("Enter");
    await until(() => messages.length === 1, 5000, "a line after reconnecting");
    await term.keys("C-d");
    await term.waitFor(/^exit=0$/m);
  },
});

Deno.test({
  name:
    "terminal: a session starts with the last 20 lobby lines from the history, dimmed, above a separator",
  ignore: !HAS_TMUX,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "client-recent-" });
    try {
      await using server = await startTestServer({ history: `${dir}/history.db` });
      await using bob = await connect(server, "bob");
      await bob.send(Array.from({ length: 25 }, (_, i) => `line ${i + 1}`).join("\n"));
      assert.equal((await bob.command(":history * 1")).at(-1), "OK history 1");
      await using term = new Terminal();
      await term.start("client", ["--port", String(server.addr.port), "--name", "carol"]);
      const screen = await term.waitFor(/──── 20 earlier lines above ────\n(.*\n)*carol>\s*$/);
      const lines = rows(screen);
      const shown = lines.filter((line) => / <bob> line \d+$/.test(line));
      assert.deepEqual(
        shown.map((line) => line.replace(/^.* <bob> /, "")),
        Array.from({ length: 20 }, (_, i) => `line ${i + 6}`),
        screen,
      );
      await term.keys("C-d");
      await term.waitFor(/^exit=0$/m);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
