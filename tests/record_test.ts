/**
 * The recording point: every message the server accepts, whatever its kind, is recorded once,
 * with a server-assigned id that only grows, before any recipient sees it.
 */

import assert from "node:assert/strict";
import type { ServerEventMap } from "../mod.ts";
import { connect, eventually, startTestServer, TestClient } from "./_helpers.ts";

type Recorded = ServerEventMap["message"];

Deno.test("lobby, group, private and console messages get one strictly increasing id each", async () => {
  await using server = await startTestServer();
  const recorded: Recorded[] = [];
  server.on("message", (message) => recorded.push(message));
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await alice.waitFor("JOIN bob");
  await alice.command(":group create team");
  await bob.command(":group join team");
  await alice.send("one");
  await alice.send("two");
  await bob.waitFor("MSG alice * :two");
  await alice.command(":group send team three");
  await alice.command(":pm bob four");
  assert.deepEqual(server.console("five"), ["OK broadcast 2"]);
  await bob.waitFor("MSG server * :five");
  await eventually(() => recorded.length === 5, undefined, "five recorded messages");
  assert.deepEqual(
    recorded.map(({ from, target, text, recipients }) => [from, target, text, recipients]),
    [
      ["alice", "*", "one", 1],
      ["alice", "*", "two", 1],
      ["alice", "#team", "three", 1],
      ["alice", "bob", "four", 1],
      ["server", "*", "five", 2],
    ],
  );
  const ids = recorded.map(({ id }) => id);
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `ids ${ids}`);
  assert.equal(new Set(ids).size, ids.length);
  for (const { time } of recorded) assert.ok(Math.abs(Date.now() - time) < 60_000);
  assert.equal(server.stats().messages, 5);
});

Deno.test("a refused message is not recorded: no id is spent on it", async () => {
  await using server = await startTestServer();
  const recorded: Recorded[] = [];
  server.on("message", (message) => recorded.push(message));
  await using alice = await connect(server, "alice");
  assert.match((await alice.command(":pm nobody hi")).at(-1)!, /^ERR no-such-user /);
  assert.match((await alice.command(":group send nowhere hi")).at(-1)!, /^ERR no-such-group /);
  await alice.send("after");
  await eventually(() => recorded.length === 1, undefined, "one recorded message");
  assert.equal(recorded[0]!.text, "after");
  assert.equal(recorded[0]!.id, 1);
});

Deno.test("echo mode records every echoed line, with its id, in order", async () => {
  await using server = await startTestServer({ mode: "echo" });
  const recorded: Recorded[] = [];
  server.on("message", (message) => recorded.push(message));
  await using client = await TestClient.open(server);
  await client.waitFor("HELLO ");
  await client.sendRaw(new TextEncoder().encode("a\nbb\r\nccc\n"));
  assert.equal(await client.nextLine(), "a");
  // Lines come back verbatim, with their own line endings; the record has the text alone.
  assert.equal(await client.nextLine(), "bb\r");
  assert.equal(await client.nextLine(), "ccc");
  await eventually(() => recorded.length === 3, undefined, "three recorded lines");
  assert.deepEqual(recorded.map(({ target, text }) => [target, text]), [
    ["echo", "a"],
    ["echo", "bb"],
    ["echo", "ccc"],
  ]);
  assert.deepEqual(recorded.map(({ id }) => id), [1, 2, 3]);
});
