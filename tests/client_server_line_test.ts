import assert from "node:assert/strict";
import { parseServerLine, splitServerLine } from "../core/server_line.ts";

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
    ]
  ) {
    const event = parseServerLine(line);
    assert.equal(event.type, "unknown", line);
    assert.equal(event.line, line);
  }
});
