/**
 * The page's pure modules, run under Deno: line parsing, what a typed line sends, mentions,
 * neutralised text, SHA-256, and sender colours that match the terminal client's.
 */

import assert from "node:assert/strict";
import { mentions, neutralize, outgoingLine, parseLine } from "../web/chat/wire.js";
import { SenderColours as PageColours, xtermColour } from "../web/chat/colours.js";
import { sha256Hex } from "../web/chat/sha256.js";
import { size, wireName } from "../web/chat/files.js";
import { palette, SenderColours } from "../cli/_client_colours.ts";

Deno.test("web page: server lines are split into id, verb, parameters and text", () => {
  assert.deepEqual(parseLine("@42 MSG alice * :hi :) there"), {
    id: 42,
    verb: "MSG",
    params: ["alice", "*"],
    text: "hi :) there",
  });
  assert.deepEqual(parseLine("LEAVE bob quit"), {
    id: undefined,
    verb: "LEAVE",
    params: ["bob", "quit"],
    text: undefined,
  });
  assert.deepEqual(parseLine("HISTORY 7 2026-12-07T13:17:54.123Z bob #dev :a: b").params, [
    "7",
    "2026-12-07T13:17:54.123Z",
    "bob",
    "#dev",
  ]);
});

Deno.test("web page: a typed line goes to the open conversation; a :command as typed", () => {
  assert.deepEqual(outgoingLine("hello", "*"), { line: "hello", command: false, text: "hello" });
  assert.deepEqual(outgoingLine("::-)", "*"), { line: "::-)", command: false, text: ":-)" });
  assert.deepEqual(outgoingLine(":whoami", "#dev"), { line: ":whoami", command: true });
  assert.equal(outgoingLine("hi all", "#dev").line, ":group send dev hi all");
  assert.equal(outgoingLine("psst", "@bob").line, ":pm bob psst");
});

Deno.test("web page: mentions, neutralised text, file names and sizes", () => {
  assert.ok(mentions("hey Alice, look", "alice"));
  assert.ok(mentions("@alice!", "alice"));
  assert.ok(!mentions("malice aforethought", "alice"));
  assert.ok(!mentions("alice_2 here", "alice"));
  assert.equal(neutralize("a\u202eb\u0007c\u009bd\te"), "a\ufffdb\ufffdc\ufffdd\te");
  assert.equal(wireName("my notes: v2.txt"), "my_notes_v2.txt");
  assert.equal(wireName(".hidden"), "hidden");
  assert.equal(size(999), "999 B");
  assert.equal(size(1_500_000), "1.5 MB");
});

Deno.test("web page: SHA-256 matches crypto.subtle at block boundaries", async () => {
  for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 4096, 100_003]) {
    const bytes = new Uint8Array(length).map((_, i) => (i * 7 + 3) & 255);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
    assert.equal(sha256Hex(bytes), hex, `length ${length}`);
  }
});

Deno.test("web page: sender colours are the terminal client's, name for name", () => {
  const terminal = new SenderColours(palette(256));
  const page = new PageColours();
  const names = ["alice", "bob", "carol", "dave", "Eve", "mallory", "trent", "peggy", "victor"];
  for (const name of [...names, ...names.map((n) => n.toUpperCase())]) {
    const index = Number(/^38;5;(\d+)$/.exec(terminal.of(name).open)?.[1]);
    assert.equal(page.of(name), xtermColour(index), name);
  }
});
