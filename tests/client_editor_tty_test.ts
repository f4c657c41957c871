/**
 * The interactive client's line editor in a real pseudo-terminal (tmux): `/` commands, Tab
 * completion, the input history across a restart, Ctrl+R, and the bell on a mention. Skipped
 * (with a note) where tmux is not installed.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { connect, startTestServer } from "./_helpers.ts";
import { HAS_TMUX, Terminal } from "./_tmux.ts";

if (!HAS_TMUX) {
  console.warn("client_editor_tty_test: tmux is not installed; the terminal tests are skipped");
}

/** tmux on the terminal's own socket. */
async function tmux(term: Terminal, ...args: string[]): Promise<string> {
  const output = await new Deno.Command("tmux", { args: ["-L", term.socket, ...args] }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout);
}

/** The last non-empty row of the screen. */
function lastRow(screen: string): string {
  return screen.split("\n").map((row) => row.trimEnd()).filter((row) => row !== "").at(-1) ?? "";
}

async function withTempDir(prefix: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "terminal: / commands are never broadcast; /me is an action; an unknown one is a hint",
  ignore: !HAS_TMUX,
  fn: () =>
    withTempDir("client-slash-tty-", async (dir) => {
      await using server = await startTestServer();
      await using bob = await connect(server, "bob");
      await using term = new Terminal();
      await term.start("client", ["--port", String(server.addr.port), "--name", "alice"], {
        XDG_STATE_HOME: dir,
      });
      await term.waitFor(/^alice>$/m);
      await term.type("/help");
      await term.keys("Enter");
      await term.waitFor(/\/msg <user\|#group> <text>/);
      await term.type("/frobnicate");
      await term.keys("Enter");
      await term.waitFor(/unknown command \/frobnicate: nothing was sent/);
      await term.type("/me waves");
      await term.keys("Enter");
      assert.equal(await bob.waitFor("MSG "), "MSG alice * :* alice waves");
      await bob.send("* bob waves back");
      await term.waitFor(/^\d\d:\d\d:\d\d \* bob waves back$/m);
      await term.type("//help is not a command");
      await term.keys("Enter");
      assert.equal(await bob.waitFor("MSG "), "MSG alice * :/help is not a command");
      await term.type("/quit");
      await term.keys("Enter");
      await term.waitFor(/^exit=0$/m);
      assert.equal(await bob.waitFor("LEAVE "), "LEAVE alice quit");
    }),
});

Deno.test({
  name: "terminal: Tab completes commands, names, groups and local file names for /put",
  ignore: !HAS_TMUX,
  fn: () =>
    withTempDir("client-complete-tty-", async (dir) => {
      const start = join(dir, "start");
      await Deno.mkdir(join(start, "docs"), { recursive: true });
      await Deno.writeTextFile(join(start, "report-2026.txt"), "numbers\n");
      await Deno.writeTextFile(join(start, "docs", "notes.txt"), "notes\n");
      await using server = await startTestServer();
      await using bob = await connect(server, "bob");
      await bob.send(":group create devops");
      await bob.waitFor("OK group create");
      await using term = new Terminal();
      // INIT_CWD is the folder `deno task` was started from: files are completed from there.
      await term.start("client", ["--port", String(server.addr.port), "--name", "alice"], {
        XDG_STATE_HOME: dir,
        INIT_CWD: start,
      });
      await term.waitFor(/^alice>$/m);
      // capture-pane drops trailing spaces: a completion's space shows once more is typed.
      await term.type(":groups");
      await term.keys("Enter");
      await term.waitFor(/✓ 1 group/);
      const line = async (expected: string) => {
        const screen = await term.waitFor(
          new RegExp(`^alice> ${RegExp.escape(expected.trimEnd())}$`, "m"),
        );
        assert.equal(lastRow(screen), `alice> ${expected}`.trimEnd(), screen);
      };
      await term.type("/jo");
      await term.keys("Tab");
      await line("/join ");
      await term.type("de");
      await term.keys("Tab");
      await line("/join devops ");
      await term.keys("C-u");
      await term.type("/pm B");
      await term.keys("Tab");
      await line("/pm Bob ");
      await term.type("hi there");
      await term.keys("Enter");
      assert.equal(await bob.waitFor("PM "), "PM alice :hi there");
      await term.type(":put rep");
      await term.keys("Tab");
      await line(":put report-2026.txt");
      await term.keys("C-u");
      await term.type("/put do");
      await term.keys("Tab");
      await line("/put docs/");
      await term.keys("Tab");
      await line("/put docs/notes.txt");
      // (Where :put then reads a relative path from is another test's business.)
      await term.keys("C-u");
      await term.type("bo");
      await term.keys("Tab");
      await line("bob: ");
      await term.type("done");
      await term.keys("Enter");
      assert.equal(await bob.waitFor("MSG "), "MSG alice * :bob: done");
      await term.keys("C-d");
      await term.waitFor(/^exit=0$/m);
    }),
});

Deno.test({
  name:
    "terminal: input history survives a restart without secrets (mode 0600); Ctrl+R searches it",
  ignore: !HAS_TMUX,
  fn: () =>
    withTempDir("client-history-tty-", async (dir) => {
      await using server = await startTestServer();
      await using bob = await connect(server, "bob");
      const file = join(dir, "switchboard", "history");
      {
        await using term = new Terminal();
        await term.start("client", ["--port", String(server.addr.port), "--name", "alice"], {
          XDG_STATE_HOME: dir,
        });
        await term.waitFor(/^alice>$/m);
        for (const text of ["first line", "second thing", ":auth not-the-token", "third one"]) {
          await term.type(text);
          await term.keys("Enter");
        }
        assert.equal(await bob.waitFor("MSG "), "MSG alice * :first line");
        assert.equal(await bob.waitFor("MSG "), "MSG alice * :second thing");
        assert.equal(await bob.waitFor("MSG "), "MSG alice * :third one");
        // The secret is not in this session's history either: Up skips it.
        await term.keys("Up", "Up");
        await term.waitFor(/^alice> second thing$/m);
        await term.keys("C-u", "C-d");
        await term.waitFor(/^exit=\d+$/m);
      }
      assert.equal(await Deno.readTextFile(file), "first line\nsecond thing\nthird one\n");
      assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
      await bob.waitFor("LEAVE ");
      await using term = new Terminal();
      await term.start("client", ["--port", String(server.addr.port), "--name", "alice"], {
        XDG_STATE_HOME: dir,
      });
      await term.waitFor(/^alice>$/m);
      await term.keys("Up");
      await term.waitFor(/^alice> third one$/m);
      await term.keys("C-u", "C-r");
      await term.type("th");
      await term.waitFor(/^\(reverse-i-search\)'th': third one$/m);
      await term.keys("C-r");
      await term.waitFor(/^\(reverse-i-search\)'th': second thing$/m);
      await term.type("x");
      await term.waitFor(/^\(failed reverse-i-search\)'thx':$/m);
      await term.keys("BSpace");
      await term.waitFor(/^\(reverse-i-search\)'th': third one$/m);
      await term.keys("C-g");
      await term.waitFor(/^alice>$/m);
      await term.keys("C-r");
      await term.type("fir");
      await term.waitFor(/^\(reverse-i-search\)'fir': first line$/m);
      await term.keys("Enter");
      assert.equal(await bob.waitFor("MSG "), "MSG alice * :first line");
      await term.waitFor(/^alice>$/m);
      await term.keys("C-d");
      await term.waitFor(/^exit=0$/m);
      const kept = (await Deno.readTextFile(file)).split("\n").filter((l) => l !== "");
      assert.deepEqual(kept, ["first line", "second thing", "third one", "first line"]);
    }),
});

Deno.test({
  name: "terminal: a mention or a private message rings the bell and is highlighted; --no-bell",
  ignore: !HAS_TMUX,
  fn: () =>
    withTempDir("client-bell-tty-", async (dir) => {
      await using server = await startTestServer();
      await using bob = await connect(server, "bob");
      const bells = async (term: Terminal, output: string, expected: number) => {
        const deadline = Date.now() + 5000;
        let count = 0;
        while (Date.now() < deadline) {
          const bytes = await Deno.readFile(output).catch(() => new Uint8Array());
          count = bytes.filter((b) => b === 7).length;
          if (count === expected) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.equal(count, expected, await term.screen());
      };
      for (
        const [name, flags, rings] of [["alice", [], true], [
          "carol",
          ["--no-bell"],
          false,
        ]] as const
      ) {
        await using term = new Terminal();
        // Colours on (an empty NO_COLOR), to see the highlight.
        await term.start("client", ["--port", String(server.addr.port), "--name", name, ...flags], {
          NO_COLOR: "",
          XDG_STATE_HOME: dir,
        });
        await term.waitFor(new RegExp(`^${name}>$`, "m"));
        const output = join(dir, `${name}.out`);
        await tmux(term, "pipe-pane", "-t", "main", `cat >> ${output}`);
        await bob.send("hello everyone");
        await term.waitFor(/<bob> hello everyone/);
        await bells(term, output, 0);
        await bob.send(`are you there, ${name.toUpperCase()}?`);
        await term.waitFor(/<bob> are you there/);
        await bells(term, output, rings ? 1 : 0);
        const styled = await tmux(term, "capture-pane", "-p", "-e", "-t", "main");
        assert.match(styled, new RegExp(`\\x1b\\[7m${name.toUpperCase()}`), styled);
        await bob.send(`:pm ${name} psst`);
        await term.waitFor(/\[pm from bob\] psst/);
        await bells(term, output, rings ? 2 : 0);
        await term.keys("C-d");
        await term.waitFor(/^exit=0$/m);
      }
    }),
});
