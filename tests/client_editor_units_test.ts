// deno-lint-ignore-file no-control-regex
/**
 * The pure parts of the client's line editor and display: `/` commands, sender colours,
 * mentions, completion, input history and reverse search.
 */

import assert from "node:assert/strict";
import { actionOf, fromSlash } from "../cli/_client_commands.ts";
import { colourDepth, palette, SenderColours } from "../cli/_client_colours.ts";
import { markMentions, mentions, wantsAttention } from "../cli/_client_notify.ts";
import { painter, renderLine } from "../cli/_client_render.ts";
import { parseServerLine } from "../core/protocol/server_line.ts";
import { parseClientArgs } from "../cli/_client_args.ts";
import { HistoryFile, historyPath, isSecret, parseHistory } from "../cli/_client_history.ts";
import { complete, listPaths, Roster } from "../cli/_client_completion.ts";
import { ReverseSearch, searchHistory } from "../cli/_client_search.ts";
import { join } from "node:path";

Deno.test("slash commands: every / form maps to the : command or message it stands for", () => {
  const cases: [string, string][] = [
    ["/quit", ":quit"],
    ["/QUIT bye all", ":quit"],
    ["/help", ":help"],
    ["/pm bob see you at 5", ":pm bob see you at 5"],
    ["/msg bob hi", ":pm bob hi"],
    ["/msg #dev build is green", ":group send dev build is green"],
    ["/join #dev", ":group join dev"],
    ["/join dev", ":group join dev"],
    ["/part #dev", ":group leave dev"],
    ["/leave dev", ":group leave dev"],
    ["/nick ally", ":name ally"],
    ["/list", ":list"],
    ["/status", ":status"],
    ["/put notes.txt", ":put notes.txt"],
    ['/put "my notes.txt" n.txt', ':put "my notes.txt" n.txt'],
    ["/group create ops", ":group create ops"],
    ["/whoami", ":whoami"],
  ];
  for (const [typed, line] of cases) {
    assert.deepEqual(fromSlash(typed, "alice"), { kind: "line", line }, typed);
  }
  // Lines that are not / commands come back unchanged.
  for (const typed of ["hello", ":list", "::not a command", " half / slash"]) {
    assert.deepEqual(fromSlash(typed, "alice"), { kind: "line", line: typed });
  }
});

Deno.test("slash commands: //text is the message /text, /me an action, unknown ones only a hint", () => {
  assert.deepEqual(fromSlash("//etc/hosts is the file", "alice"), {
    kind: "line",
    line: "/etc/hosts is the file",
    message: true,
  });
  assert.deepEqual(fromSlash("/me waves", "alice"), {
    kind: "line",
    line: "* alice waves",
    message: true,
  });
  for (const typed of ["/frobnicate x", "/", "/ ", "/pm bob", "/msg", "/join", "/nick", "/me"]) {
    const outcome = fromSlash(typed, "alice");
    assert.equal(outcome.kind, "hint", typed);
  }
  const hint = fromSlash("/frobnicate x", "alice");
  assert.ok(hint.kind === "hint" && /unknown command \/frobnicate.*\/\/frobnicate/.test(hint.text));
  assert.equal(actionOf("alice", "* alice waves"), "waves");
  assert.equal(actionOf("Alice", "* alice waves"), "waves");
  assert.equal(actionOf("bob", "* alice waves"), undefined, "an action is only the sender's own");
  assert.equal(actionOf("alice", "* alice"), undefined);
});

Deno.test("render: an action is shown as * name text; a mention is highlighted", () => {
  const show = (line: string, paint = painter(false)) =>
    renderLine({ event: parseServerLine(line), command: undefined, registration: false }, {
      me: "alice",
      paint,
    });
  assert.equal(show("MSG bob * :* bob waves"), "* bob waves");
  assert.equal(show("MSG bob #dev :* bob waves"), "[#dev] * bob waves");
  assert.equal(show("MSG bob * :* carol waves"), "<bob> * carol waves");
  assert.equal(show("MSG bob * :hi ALICE!"), "<bob> hi ALICE!");
  const coloured = show("MSG bob * :hi ALICE!", painter(true)) ?? "";
  assert.match(coloured, /\x1b\[7mALICE\x1b\[27m/, "the name in reverse video");
  const own = show("MSG alice * :hi alice", painter(true)) ?? "";
  assert.doesNotMatch(own, /\x1b\[7m/, "your own line is not a mention");
  assert.match(own, /<\x1b\[1malice\x1b\[22m>/, "your own name is bold, in no sender colour");
});

Deno.test("mentions: your name as a word, whatever the case; private messages want attention", () => {
  const yes = ["alice", "hi alice", "ALICE: lunch?", "ping Alice.", "(alice)", "alice, you there"];
  const no = ["malice", "alice_2 is here", "alice-bot", "alicea", "alice.smith", "al ice", ""];
  for (const text of yes) assert.ok(mentions(text, "alice"), text);
  for (const text of no) assert.ok(!mentions(text, "alice"), text);
  assert.ok(mentions("hey j.doe!", "j.doe"));
  assert.ok(!mentions("hey jxdoe", "j.doe"), "a dot in a name is not a wildcard");
  assert.ok(!mentions("anything", undefined));
  assert.equal(markMentions("Alice and alice", "alice", (w) => `[${w}]`), "[Alice] and [alice]");
  const event = (line: string) => parseServerLine(line);
  assert.ok(wantsAttention(event("PM bob :psst"), "alice"));
  assert.ok(wantsAttention(event("MSG bob * :alice?"), "alice"));
  assert.ok(wantsAttention(event("MSG bob #dev :alice?"), "alice"));
  assert.ok(!wantsAttention(event("MSG bob * :hello all"), "alice"));
  assert.ok(!wantsAttention(event("MSG alice * :I am alice"), "alice"), "not your own line");
  assert.ok(!wantsAttention(event("JOIN alice"), "alice"));
});

Deno.test("arguments: --no-bell turns the bell off; it is on by default", () => {
  const on = parseClientArgs([]);
  const off = parseClientArgs(["--no-bell"]);
  assert.ok(typeof on === "object" && typeof off === "object");
  assert.equal(on.bell, true);
  assert.equal(off.bell, false);
});

Deno.test("colours: the first dozen names all differ on a 256-colour terminal", () => {
  const names = [
    "alice",
    "bob",
    "carol",
    "dave",
    "eve",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "oscar",
  ];
  const colours = new SenderColours(palette(256));
  const given = names.map((name) => colours.of(name).open);
  assert.equal(new Set(given).size, 12, given.join(" "));
  // Stable within the session, whatever the case.
  assert.deepEqual(names.map((name) => colours.of(name.toUpperCase()).open), given);
  // A different order of arrival still gives a dozen different colours.
  const reversed = new SenderColours(palette(256));
  assert.equal(new Set([...names].reverse().map((n) => reversed.of(n).open)).size, 12);
});

Deno.test("colours: a name's own colour when free, else the least-used; leaving frees it", () => {
  const colours = new SenderColours(palette(256));
  const first = colours.of("alice");
  // Alone, a name always gets its hash's colour: the same in every session.
  assert.equal(new SenderColours(palette(256)).of("alice").open, first.open);
  // Many names: never more than ceil(n / 12) names share a colour.
  const many = new SenderColours(palette(256));
  const counts = new Map<string, number>();
  for (let i = 0; i < 30; i++) {
    const open = many.of(`user${i}`).open;
    counts.set(open, (counts.get(open) ?? 0) + 1);
  }
  assert.ok(Math.max(...counts.values()) <= 3, JSON.stringify([...counts]));
  // A name that left frees its colour for the next newcomer.
  const three = new SenderColours(palette(16).slice(0, 2));
  const a = three.of("a").open;
  const b = three.of("b").open;
  assert.notEqual(a, b);
  three.forget("a");
  assert.equal(three.of("c").open, a);
  // A rename keeps the colour.
  three.rename("b", "bee");
  assert.equal(three.of("bee").open, b);
});

Deno.test("colours: 16-colour fallback uses five plain hues before underlined ones; never red", () => {
  const basic = palette(16);
  const colours = new SenderColours(basic);
  const first = ["a1", "b2", "c3", "d4", "e5"].map((n) => colours.of(n));
  assert.equal(new Set(first.map((s) => s.open)).size, 5);
  assert.ok(first.every((s) => s.tier === 0), "plain colours first");
  const next = ["f6", "g7", "h8", "i9", "j10"].map((n) => colours.of(n));
  assert.equal(new Set([...first, ...next].map((s) => s.open)).size, 10);
  for (const swatch of [...basic, ...palette(256)]) {
    assert.doesNotMatch(swatch.open, /^(31|91|38;5;(1|9|124|160|196|197))(;|$)/, swatch.open);
  }
  assert.equal(colourDepth((n) => ({ TERM: "xterm-256color" } as Record<string, string>)[n]), 256);
  assert.equal(colourDepth((n) => ({ COLORTERM: "truecolor", TERM: "xterm" }[n])), 256);
  assert.equal(colourDepth((n) => ({ TERM: "xterm" } as Record<string, string>)[n]), 16);
  assert.equal(colourDepth(() => undefined), 16);
});

Deno.test("history: the file is under XDG_STATE_HOME, else ~/.local/state; never a secret", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(
    historyPath(env({ XDG_STATE_HOME: "/s", HOME: "/h" })),
    "/s/switchboard/history",
  );
  assert.equal(historyPath(env({ HOME: "/h" })), "/h/.local/state/switchboard/history");
  assert.equal(
    historyPath(env({ XDG_STATE_HOME: "relative", HOME: "/h" })),
    "/h/.local/state/switchboard/history",
    "a relative XDG_STATE_HOME is ignored, as the spec says",
  );
  assert.equal(historyPath(env({})), undefined);
  for (const line of [":login alice pw", "/login alice pw", ":AUTH token", " :auth t", "/auth"]) {
    assert.ok(isSecret(line), line);
  }
  for (const line of ["hello", ":list", "::login is a word", "my :auth token leaked", ":authors"]) {
    assert.ok(!isSecret(line), line);
  }
  assert.deepEqual(parseHistory("a\n\n:auth x\nb\nc\n", 2), ["b", "c"]);
});

Deno.test("history: appended line by line with mode 0600, bounded, secrets dropped on opening", async () => {
  const dir = await Deno.makeTempDir({ prefix: "client-history-" });
  try {
    const path = join(dir, "state", "switchboard", "history");
    const history = HistoryFile.open(path, 3);
    assert.deepEqual(history.lines, []);
    for (const line of ["one", ":login a b", "", "two", "three", "four"]) history.add(line);
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    assert.equal(Deno.readTextFileSync(path), "one\ntwo\nthree\nfour\n");
    // Reopening keeps the newest lines and trims the file.
    const again = HistoryFile.open(path, 3);
    assert.deepEqual(again.lines, ["two", "three", "four"]);
    assert.equal(Deno.readTextFileSync(path), "two\nthree\nfour\n");
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    // Past twice the limit, the file is rewritten with the newest lines.
    for (const line of ["5", "6", "7", "8"]) again.add(line);
    assert.equal(Deno.readTextFileSync(path), "6\n7\n8\n");
    // A secret written by anything else is removed when the file is opened.
    Deno.writeTextFileSync(path, "x\n:auth token\ny\n", { mode: 0o644 });
    assert.deepEqual(HistoryFile.open(path, 3).lines, ["x", "y"]);
    assert.equal(Deno.readTextFileSync(path), "x\ny\n");
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("completion: command words, names, groups by position, and paths for :put", () => {
  const sources = {
    names: () => ["bob", "Bella", "carol"],
    groups: () => ["dev", "design", "ops"],
    paths: (partial: string) => ["notes.txt", "docs/"].filter((p) => p.startsWith(partial)),
  };
  const c = (before: string) => complete(before, sources);
  assert.deepEqual(c("/jo"), [["/join "], "/jo"]);
  assert.deepEqual(c(":jo"), [[], ":jo"], "no :join: the : forms are the protocol's");
  assert.deepEqual(c(":gr"), [[":group ", ":groups "], ":gr"]);
  assert.deepEqual(c("/q"), [["/query ", "/quit "], "/q"]);
  assert.deepEqual(c("/pm b"), [["bob ", "bella "], "b"]);
  assert.deepEqual(c("/pm B"), [["Bob ", "Bella "], "B"], "names whatever the case");
  assert.deepEqual(c("/pm bob hi b"), [[], "b"], "no completion inside the text");
  assert.deepEqual(c("/msg #d"), [["#dev ", "#design "], "#d"]);
  assert.deepEqual(c("/join d"), [["dev ", "design "], "d"]);
  assert.deepEqual(c(":group join o"), [["ops "], "o"]);
  assert.deepEqual(c(":group m"), [["members "], "m"]);
  assert.deepEqual(c(":put n"), [["notes.txt"], "n"]);
  assert.deepEqual(c("/send carol d"), [["docs/"], "d"]);
  assert.deepEqual(c("ca"), [["carol: "], "ca"], "a name at the start of a message, IRC style");
  assert.deepEqual(c("thanks ca"), [["carol "], "ca"]);
  assert.deepEqual(c(""), [[], ""]);
  assert.deepEqual(c("//pm b"), [["bob ", "bella "], "b"], "//text is a message: names");
});

Deno.test("completion: the roster follows joins, leaves, renames, :list and groups", () => {
  const roster = new Roster();
  for (
    const line of [
      "WELCOME alice 3 :hi",
      "USER bob",
      "USER carol 127.0.0.1:5",
      "JOIN dave",
      "JOIN bob #dev",
      "GROUP #ops 2",
      "LEAVE carol quit",
      "NICK dave david",
      "MSG erin #qa :hi",
      "OK group create web",
    ]
  ) roster.observe(parseServerLine(line));
  assert.deepEqual(roster.names(), ["alice", "bob", "david", "erin"]);
  assert.deepEqual(roster.groups(), ["dev", "ops", "qa", "web"]);
});

Deno.test("completion: local paths relative to the start folder; folders end with /", async () => {
  const dir = await Deno.makeTempDir({ prefix: "client-paths-" });
  try {
    Deno.mkdirSync(join(dir, "docs"));
    Deno.writeTextFileSync(join(dir, "docs", "a.txt"), "");
    Deno.writeTextFileSync(join(dir, "report.pdf"), "");
    Deno.writeTextFileSync(join(dir, ".hidden"), "");
    assert.deepEqual(listPaths("", dir), ["docs/", "report.pdf"]);
    assert.deepEqual(listPaths("d", dir), ["docs/"]);
    assert.deepEqual(listPaths("docs/", dir), ["docs/a.txt"]);
    assert.deepEqual(listPaths(".h", dir), [".hidden"]);
    assert.deepEqual(listPaths(`${dir}/re`, "/nowhere"), [`${dir}/report.pdf`]);
    assert.deepEqual(listPaths("~/r", "/nowhere", dir), ["~/report.pdf"]);
    assert.deepEqual(listPaths("missing/", dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reverse search: newest match first, Ctrl+R goes older, Ctrl+G restores the line", () => {
  const history = ["third one", "second thing", "first line"];
  assert.equal(searchHistory(history, "th"), 0);
  assert.equal(searchHistory(history, "th", 1), 1);
  assert.equal(searchHistory(history, "TH", 2), -1);
  let line = "draft";
  let overlay: string | undefined;
  const search = new ReverseSearch({
    history: () => history,
    line: () => line,
    setLine: (text) => line = text,
    overlay: (prompt) => overlay = prompt,
    canSearch: () => true,
  });
  const ctrl = (name: string) => search.key(undefined, { ctrl: true, name });
  const type = (text: string) => [...text].every((ch) => search.key(ch, { name: ch }));
  assert.ok(!search.key("a", { name: "a" }), "keys pass through when no search runs");
  assert.ok(ctrl("r"));
  assert.equal(overlay, "(reverse-i-search)'': ");
  assert.ok(type("th"));
  assert.deepEqual([overlay, line], ["(reverse-i-search)'th': ", "third one"]);
  ctrl("r");
  assert.equal(line, "second thing");
  type("x");
  assert.deepEqual([overlay, line], ["(failed reverse-i-search)'thx': ", ""]);
  assert.ok(search.key(undefined, { name: "backspace" }));
  assert.equal(line, "third one");
  assert.ok(ctrl("g"));
  assert.deepEqual([overlay, line, search.active], [undefined, "draft", false]);
  // Enter takes the match and is then handled by the editor as usual.
  ctrl("r");
  type("fir");
  assert.equal(search.key("\r", { name: "return" }), false);
  assert.deepEqual([overlay, line, search.active], [undefined, "first line", false]);
});
