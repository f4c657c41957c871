import assert from "node:assert/strict";
import {
  formatAddress,
  formatLine,
  isPlainText,
  nameProblem,
  neutralize,
  parseCommand,
  splitWords,
} from "../core/protocol/grammar.ts";

const encoder = new TextEncoder();

Deno.test("names: 1-32 of letters, digits, _ - . (reserved names are the hub's, see names_test)", () => {
  for (const good of ["a", "Alice", "bob_2", "x-y.z", "A".repeat(32)]) {
    assert.equal(nameProblem(good), undefined, good);
  }
  for (
    const bad of [
      "",
      "A".repeat(33),
      "has space",
      "émile",
      "semi;colon",
      "#chan",
    ]
  ) {
    assert.notEqual(nameProblem(bad), undefined, bad);
  }
});

Deno.test("commands split into a lower-case verb and the rest", () => {
  assert.deepEqual(parseCommand(":PM bob  hi there"), { verb: "pm", rest: "bob  hi there" });
  assert.deepEqual(parseCommand(":list"), { verb: "list", rest: "" });
  assert.deepEqual(splitWords("bob  hi there", 1), ["bob", "hi there"]);
  assert.deepEqual(splitWords("send devs", 2), ["send", "devs", ""]);
  assert.deepEqual(splitWords("", 1), ["", ""]);
});

Deno.test("server lines are VERB params :trailing", () => {
  assert.equal(formatLine("MSG", ["alice", "*"], "hi: there"), "MSG alice * :hi: there\n");
  assert.equal(formatLine("PING"), "PING\n");
  assert.equal(formatAddress("::1", 5), "[::1]:5");
  assert.equal(formatAddress("10.0.0.1", 5), "10.0.0.1:5");
});

Deno.test("neutralize replaces controls, C1, bidi overrides and separators; keeps tab and Unicode", () => {
  assert.equal(
    neutralize("a\x1b[31mb\x07\x7f\x85\u202e\u2028c"),
    "a\uFFFD[31mb\uFFFD\uFFFD\uFFFD\uFFFD\uFFFDc",
  );
  assert.equal(neutralize("tab\tok 日本 🎉 ñ"), "tab\tok 日本 🎉 ñ");
});

Deno.test("isPlainText is a safe fast path: true only where neutralize changes nothing", () => {
  const samples = [
    "plain",
    "tab\tok",
    "日本 🎉",
    "ñ é",
    "\x1b[0m",
    "\x85",
    "\u202e",
    "\u2028",
    "\u2019 quote",
    "\x7f",
  ];
  for (const sample of samples) {
    if (isPlainText(encoder.encode(sample))) {
      assert.equal(neutralize(sample), sample, JSON.stringify(sample));
    } else if (neutralize(sample) !== sample) continue;
  }
  assert.equal(isPlainText(encoder.encode("plain ascii and 日本")), true);
  assert.equal(isPlainText(encoder.encode("esc \x1b")), false);
});
