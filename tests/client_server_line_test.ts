import assert from "node:assert/strict";
import { parseServerLine, splitServerLine } from "../core/protocol/server_line.ts";

Deno.test("server lines split into verb, parameters and trailing text", () => {
  const cases: [string, string, string[], string | undefined][] = [
    ["PING", "PING", [], undefined],
    ["OK list 3", "OK", ["list", "3"], undefined],
    ["MSG alice * :hi there", "MSG", ["alice", "*"], "hi there"],
    ["MSG alice * :", "MSG", ["alice", "*"], ""],
    ["MSG alice * ::starts with a colon", "MSG", ["alice", "*"], ":starts with a colon"],
    ["PM bob :a :b  c ", "PM", ["bob"], "a :b  c "],
    ["WHOAMI bob [::1]:4000 user :#a #b", "WHOAMI", ["bob", "[::1]:4000", "user"], "#a #b"],
    ["USER  bob   1.2.3.4:5", "USER", ["bob", "1.2.3.4:5"], undefined],
    ["", "", [], undefined],
  ];
  for (const [line, verb, params, trailing] of cases) {
    assert.deepEqual(splitServerLine(line), { verb, params, trailing }, line);
  }
});

Deno.test("every server line of the protocol becomes its typed event", () => {
  const cases: [string, Record<string, unknown>][] = [
    ["HELLO sb/1 chat 0.1.0 :Welcome!", {
      type: "hello",
      protocol: "sb/1",
      mode: "chat",
      version: "0.1.0",
      text: "Welcome!",
    }],
    ["HELLO sb/1 echo 0.1.0 :Echo", {
      type: "hello",
      protocol: "sb/1",
      mode: "echo",
      version: "0.1.0",
      text: "Echo",
    }],
    ["WELCOME alice 3 :Hello alice!", {
      type: "welcome",
      name: "alice",
      online: 3,
      text: "Hello alice!",
    }],
    ["MSG bob * :hi all", { type: "message", from: "bob", target: "*", text: "hi all" }],
    ["MSG bob #dev :hi devs", { type: "message", from: "bob", target: "#dev", text: "hi devs" }],
    ["MSG server * :maintenance at 5", {
      type: "message",
      from: "server",
      target: "*",
      text: "maintenance at 5",
    }],
    ["PM bob :psst", { type: "private", from: "bob", text: "psst" }],
    ["JOIN bob", { type: "join", name: "bob", target: "*" }],
    ["JOIN bob #dev", { type: "join", name: "bob", target: "#dev" }],
    ["LEAVE bob idle", { type: "leave", name: "bob", target: "*", reason: "idle" }],
    ["PART bob #dev left", { type: "leave", name: "bob", target: "#dev", reason: "left" }],
    ["NICK bob robert", { type: "nick", from: "bob", to: "robert" }],
    ["KICK bob :spamming", { type: "kick", name: "bob", text: "spamming" }],
    ["PING", { type: "ping" }],
    ["OK group join dev", { type: "ok", verb: "group", params: ["join", "dev"] }],
    ["OK help", { type: "ok", verb: "help", params: [] }],
    ['ERR no-such-user :nobody called "zed" is online', {
      type: "error",
      code: "no-such-user",
      text: 'nobody called "zed" is online',
    }],
    ["BYE kicked :spamming", { type: "bye", reason: "kicked", text: "spamming" }],
    ["USER bob", { type: "user", name: "bob", address: undefined }],
    ["USER bob [::1]:5000", { type: "user", name: "bob", address: "[::1]:5000" }],
    ["GROUP #dev 4", { type: "group", target: "#dev", members: 4 }],
    ["MEMBER #dev bob", { type: "member", target: "#dev", name: "bob" }],
    ["STAT disconnects.kicked 2", { type: "stat", key: "disconnects.kicked", value: "2" }],
    ["HELP :<text>  send a message", { type: "help", text: "<text>  send a message" }],
    ["WHOAMI bob 127.0.0.1:5 admin :#a #b", {
      type: "whoami",
      name: "bob",
      address: "127.0.0.1:5",
      role: "admin",
      groups: ["#a", "#b"],
    }],
    [`FILE big.bin 1073741824 ${"A".repeat(64)}`, {
      type: "file",
      name: "big.bin",
      size: 1073741824,
      sha256: "a".repeat(64),
    }],
    [`FILEINFO a.txt 0 ${"b".repeat(64)} - 2030-01-02T03:04:05.678Z`, {
      type: "fileinfo",
      name: "a.txt",
      size: 0,
      sha256: "b".repeat(64),
      uploader: "-",
      time: "2030-01-02T03:04:05.678Z",
    }],
    [`OFFER 12 alice #team notes.txt 5 ${"c".repeat(64)}`, {
      type: "offer",
      id: 12,
      from: "alice",
      to: "#team",
      name: "notes.txt",
      size: 5,
      sha256: "c".repeat(64),
    }],
    ["RECEIPT 12 bob delivered", { type: "receipt", id: 12, user: "bob", outcome: "delivered" }],
    ["STDOUT uptime :up 3 days, load 0.1", {
      type: "stdout",
      name: "uptime",
      text: "up 3 days, load 0.1",
    }],
    ["STDERR fail :", { type: "stderr", name: "fail", text: "" }],
    ["COMMAND backup admin 600", { type: "command", name: "backup", role: "admin", timeout: 600 }],
    ["ACK 41", { type: "ack", seq: 41 }],
    ["NACK 42 line-too-long :lines are limited to 128 bytes", {
      type: "nack",
      seq: 42,
      code: "line-too-long",
      text: "lines are limited to 128 bytes",
    }],
    ["WHOAMI - 127.0.0.1:5 user :", {
      type: "whoami",
      name: "-",
      address: "127.0.0.1:5",
      role: "user",
      groups: [],
    }],
  ];
  for (const [line, expected] of cases) {
    assert.deepEqual(parseServerLine(line), { ...expected, line }, line);
  }
});

Deno.test("lines that do not fit their verb's grammar are unknown, never an exception", () => {
  for (
    const line of [
      "",
      "FROB x y",
      "MSG",
      "MSG bob",
      "HELLO sb/1 party 1",
      "PART bob",
      "NICK bob",
      "OK",
      "ERR",
      "hello",
      // After FILE come raw bytes: a size or hash in doubt makes it no FILE line at all.
      `FILE a.bin -1 ${"a".repeat(64)}`,
      `FILE a.bin 1e3 ${"a".repeat(64)}`,
      `FILE a.bin ${"9".repeat(16)} ${"a".repeat(64)}`,
      "FILE a.bin 10 nothex",
      "FILE a.bin",
      `OFFER x alice bob a 1 ${"a".repeat(64)}`,
      "ACK",
      "ACK one",
      "NACK 1",
      "STDOUT",
      "COMMAND x user soon",
    ]
  ) {
    const event = parseServerLine(line);
    assert.equal(event.type, "unknown", line);
    assert.equal(event.line, line);
  }
});
