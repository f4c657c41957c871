/**
 * The interactive client in a real pseudo-terminal: `tmux` runs it, `send-keys` types and
 * `capture-pane` reads the screen. Skipped (with a note) where tmux is not installed.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { connect, startTestServer } from "./_helpers.ts";
import { HAS_TMUX, Terminal } from "./_tmux.ts";

if (!HAS_TMUX) {
  console.warn("client_tty_test: tmux is not installed; the terminal tests are skipped");
}

/** Colours on (the client's default on a terminal), whatever NO_COLOR the test runner has. */
const COLOURS = { NO_COLOR: "" };

/** Non-empty screen lines. */
function rows(screen: string): string[] {
  return screen.split("\n").map((line) => line.trimEnd()).filter((line) => line !== "");
}

Deno.test({
  name:
    "terminal: an incoming message is printed above the prompt and the half-typed line survives",
  ignore: !HAS_TMUX,
  fn: async () => {
    await using server = await startTestServer();
    await using term = new Terminal();
    await term.start("client", ["--port", String(server.addr.port), "--name", "carol"], COLOURS);
    await term.waitFor(/^carol>$/m);
    await term.type("half typed wor");
    await term.waitFor(/^carol> half typed wor$/m);
    await using bob = await connect(server, "bob");
    await bob.send("hello carol, how are you?");
    // The message and the redrawn prompt are separate writes: wait for both, not the first.
    const screen = await term.waitFor(
      /<bob> hello carol, how are you\?\n(?:[^\n]*\n)*?carol> half typed wor\s*$/,
    );
    const lines = rows(screen);
    assert.equal(lines.at(-1), "carol> half typed wor", screen);
    assert.match(lines.at(-2) ?? "", /^\d\d:\d\d:\d\d <bob> hello carol, how are you\?$/, screen);
    assert.match(lines.at(-3) ?? "", /^\d\d:\d\d:\d\d → bob joined$/, screen);
    assert.equal(lines.filter((line) => line.includes("half typed")).length, 1, screen);
    // Senders are coloured on a terminal.
    // deno-lint-ignore no-control-regex
    assert.match(await term.screen(true), /<\x1b\[(?:[39]\d|38;5;\d+)mbob\x1b\[39m> /);
    // The line editor still holds exactly what was typed: finishing it sends it whole.
    await term.type("ld");
    await term.keys("Enter");
    assert.equal(await bob.waitFor("MSG "), "MSG carol * :half typed world");
    await term.keys("C-d");
    await term.waitFor(/^exit=0$/m);
    assert.equal(await bob.waitFor("LEAVE "), "LEAVE carol quit");
  },
});

Deno.test({
  name:
    "terminal: a refused name is explained and asked again; NO_COLOR is respected; Ctrl+C twice leaves",
  ignore: !HAS_TMUX,
  fn: async () => {
    await using server = await startTestServer();
    await using _alice = await connect(server, "alice");
    await using term = new Terminal();
    await term.start("client", ["--port", String(server.addr.port)], { NO_COLOR: "1" });
    await term.waitFor(/Your name:$/m);
    await term.type("Alice");
    await term.keys("Enter");
    const refused = await term.waitFor(
      /refused the name "Alice": "Alice" is taken.*\n(.*\n)*Your name:$/m,
    );
    assert.match(refused, /\(name-taken\)/);
    await term.type("carol");
    await term.keys("Enter");
    await term.waitFor(/Hello carol! 2 online/);
    await term.waitFor(/^carol>$/m);
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(await term.screen(true), /\x1b\[[\d;]*m/, "no colours with NO_COLOR");
    await term.keys("C-c", "C-c");
    await term.waitFor(/^exit=0$/m);
    assert.equal(server.console(":list").at(-1), "OK list 1", "carol left with :quit");
  },
});

Deno.test({
  name: "terminal: --send without --name asks for the name on the terminal, again when refused",
  ignore: !HAS_TMUX,
  fn: async () => {
    await using server = await startTestServer();
    await using bob = await connect(server, "bob");
    await using term = new Terminal();
    await term.start(
      "client",
      ["--port", String(server.addr.port), "--send", "sent after asking"],
      COLOURS,
    );
    await term.waitFor(/Your name:$/m);
    await term.type("BOB");
    await term.keys("Enter");
    await term.waitFor(/refused the name "BOB".*\n(.*\n)*Your name:$/m);
    await term.type("dora");
    await term.keys("Enter");
    assert.equal(await bob.waitFor("MSG "), "MSG dora * :sent after asking");
    await term.waitFor(/^exit=0$/m);
  },
});

Deno.test({
  name:
    "terminal: a transfer draws its progress above the prompt, ends with a summary line, and the prompt survives",
  ignore: !HAS_TMUX,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "client-tty-files-" });
    try {
      const area = join(dir, "area");
      await Deno.mkdir(area);
      const source = join(dir, "big.bin");
      const size = 96 * 1024 * 1024;
      {
        using file = await Deno.open(source, { write: true, createNew: true });
        const block = new Uint8Array(1024 * 1024);
        crypto.getRandomValues(block.subarray(0, 65536));
        for (let i = 0; i < size / block.length; i++) {
          block[65536] = i;
          for (let done = 0; done < block.length;) done += await file.write(block.subarray(done));
        }
      }
      await using server = await startTestServer({ filesDir: area });
      await using term = new Terminal();
      await term.start("client", [
        "--port",
        String(server.addr.port),
        "--name",
        "carol",
        "--downloads",
        join(dir, "downloads"),
      ], COLOURS);
      await term.waitFor(/^carol>$/m);
      await term.type(`:put ${source}`);
      await term.keys("Enter");
      await term.waitFor(/✓ put big\.bin \(96\.0 MiB\) in .*, sha256 ok$/m, 30_000);
      await term.type(":get big.bin");
      await term.keys("Enter");
      await term.type("half typed");
      // The bar is drawn every 100 ms while bytes move; on a fast machine the download may be
      // over before a redraw, so a bar is checked when one is seen, and never required.
      const bars: string[] = [];
      // (The path after the arrow is long enough to wrap.)
      const done = /✓ got big\.bin \(96\.0 MiB\) in .*, sha256 ok → \//;
      for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
        const screen = await term.screen();
        bars.push(...rows(screen).filter((line) => line.startsWith("⇣ get big.bin")));
        if (done.test(screen)) break;
      }
      for (const bar of bars) {
        assert.match(bar, /^⇣ get big\.bin \[[█░]+\] +\d+% {2}[\d.]+ [KMG]?i?B\/96\.0 MiB/, bar);
      }
      // The summary and the redrawn prompt are separate writes: wait for both.
      const screen = await term.waitFor(
        new RegExp(`${done.source}[\\s\\S]*\\ncarol> half typed\\s*$`),
      );
      const lines = rows(screen);
      assert.equal(lines.at(-1), "carol> half typed", screen);
      assert.match(lines.at(-2) ?? "", /downloads\/big\.bin$/, screen);
      assert.ok(!lines.some((line) => /^[⇡⇣#] /.test(line)), `no progress line left:\n${screen}`);
      assert.equal(lines.filter((line) => line.includes("half typed")).length, 1, screen);
      assert.equal(lines.filter((line) => line === "carol> :get big.bin").length, 1, screen);
      assert.equal(
        await Deno.readFile(join(dir, "downloads", "big.bin")).then((b) => b.length),
        size,
      );
      await term.keys("C-u", "C-d");
      await term.waitFor(/^exit=0$/m);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "terminal: a file offered to a person is asked about; :accept saves it, :decline refuses",
  ignore: !HAS_TMUX,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "client-tty-offer-" });
    try {
      await using server = await startTestServer();
      await using term = new Terminal();
      await term.start("client", [
        "--port",
        String(server.addr.port),
        "--name",
        "carol",
        "--downloads",
        join(dir, "in"),
      ], COLOURS);
      await term.waitFor(/^carol>$/m);
      await using bob = await connect(server, "bob");
      const bytes = new TextEncoder().encode("a file for carol\n");
      const hash = createHash("sha256").update(bytes).digest("hex");
      for (const name of ["wanted.txt", "unwanted.txt"]) {
        await bob.send(`:send carol ${name} ${bytes.length} ${hash}`);
        await bob.sendRaw(bytes);
        await bob.waitFor("OK send ");
      }
      await term.waitFor(/⇣ offer 1: bob offers wanted\.txt \(17 B\)\n.*type :accept 1 to save/);
      await term.waitFor(/⇣ offer 2: bob offers unwanted\.txt \(17 B\)\n.*type :accept 2 to save/);
      await term.type(":accept 1");
      await term.keys("Enter");
      await term.type(":decline 2");
      await term.keys("Enter");
      assert.equal(await bob.waitFor("RECEIPT "), "RECEIPT 1 carol delivered");
      assert.equal(await bob.waitFor("RECEIPT "), "RECEIPT 2 carol declined");
      const screen = await term.waitFor(/✓ declined offer 2\ncarol>$/m);
      assert.match(screen, /✓ received wanted\.txt \(17 B\) in .*sha256 ok → /);
      assert.deepEqual(await Deno.readFile(join(dir, "in", "wanted.txt")), bytes);
      assert.deepEqual([...Deno.readDirSync(join(dir, "in"))].map((e) => e.name), ["wanted.txt"]);
      await term.keys("C-d");
      await term.waitFor(/^exit=0$/m);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
