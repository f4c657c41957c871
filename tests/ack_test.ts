/**
 * Acknowledgements (`:ack on|off`, `--ack`): every plain message is answered `ACK <seq>` once it
 * has been handed to every recipient's queue, or `NACK <seq> <code> :<text>` when refused.
 */

import assert from "node:assert/strict";
import { connect, startTestServer, TestClient } from "./_helpers.ts";

const encoder = new TextEncoder();

Deno.test("ack: off by default; :ack on numbers each plain message from 1", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  assert.deepEqual(await alice.command(":ack"), ["JOIN bob", "OK ack off"]);
  await alice.send("not acknowledged");
  assert.deepEqual(await alice.command(":ack on"), ["OK ack on"]);
  await alice.send("first");
  await alice.send("second");
  assert.equal(await alice.nextLine(), "ACK 1");
  assert.equal(await alice.nextLine(), "ACK 2");
  assert.equal(await bob.waitFor("MSG alice * :first"), "MSG alice * :first");
  assert.deepEqual(await alice.command(":ack off"), ["OK ack off"]);
  await alice.send("quiet again");
  assert.deepEqual(await alice.command(":ping"), ["OK ping"]);
});

Deno.test("ack: under load every message is acknowledged once, in order, after delivery", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await alice.command(":ack on");
  const count = 5000;
  let burst = "";
  for (let i = 1; i <= count; i++) burst += `message ${i}\n`;
  await alice.sendRaw(encoder.encode(burst));
  for (let i = 1; i <= count; i++) assert.equal(await alice.nextLine(), `ACK ${i}`);
  for (let i = 1; i <= count; i++) {
    assert.equal(await bob.waitFor("MSG "), `MSG alice * :message ${i}`);
  }
  assert.deepEqual(await alice.command(":ping"), ["OK ping"]);
});

Deno.test("ack: refused lines get NACK with their number; commands keep their own OK/ERR", async () => {
  await using server = await startTestServer({ maxLineBytes: 128 });
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await alice.command(":ack on");
  await alice.send("one");
  await alice.send("x".repeat(500));
  await alice.sendRaw(new Uint8Array([0x68, 0xff, 0x0a]));
  await alice.send("::four, with a colon");
  assert.equal(await alice.waitFor("ACK 1"), "ACK 1");
  assert.equal(
    await alice.nextLine(),
    "NACK 2 line-too-long :lines are limited to 128 bytes; that one was dropped",
  );
  assert.equal(
    await alice.nextLine(),
    "NACK 3 bad-utf8 :lines must be valid UTF-8; that one was dropped",
  );
  assert.equal(await alice.nextLine(), "ACK 4");
  // Commands, :pm included, are acknowledged by their final line and take no number.
  assert.deepEqual(await alice.command(":pm bob hi"), ["OK pm bob"]);
  assert.match((await alice.command(":pm nobody hi"))[0]!, /^ERR no-such-user /);
  await alice.sendRaw(new Uint8Array([0x3a, 0x70, 0x6d, 0xff, 0x0a])); // ":pm\xff"
  assert.match(await alice.nextLine(), /^ERR bad-utf8 /);
  await alice.send("five");
  assert.equal(await alice.nextLine(), "ACK 5");
  assert.equal(await bob.waitFor("MSG "), "MSG alice * :one");
  assert.equal(await bob.waitFor("MSG "), "MSG alice * ::four, with a colon");
});

Deno.test("ack: --ack turns it on for every connection; :ack on restarts the numbering", async () => {
  await using server = await startTestServer({ ack: true });
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await alice.send("hello");
  assert.equal(await alice.waitFor("ACK "), "ACK 1");
  await bob.send("hi");
  assert.equal(await bob.waitFor("ACK "), "ACK 1");
  assert.equal((await alice.command(":ack")).at(-1), "OK ack on");
  assert.deepEqual(await alice.command(":ack on"), ["OK ack on"]);
  await alice.send("again");
  assert.equal(await alice.waitFor("ACK "), "ACK 1");
  assert.deepEqual(await alice.command(":ack maybe"), ["ERR bad-args :usage: :ack [on|off]"]);
});

Deno.test("ack: a name line is not a message; acknowledgements are per connection", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await bob.command(":ack on");
  await alice.send("from alice");
  assert.equal(await bob.waitFor("MSG "), "MSG alice * :from alice");
  await bob.send("from bob");
  assert.equal(await bob.nextLine(), "ACK 1");
  assert.equal(await alice.waitFor("MSG "), "MSG bob * :from bob");
  assert.deepEqual(await alice.command(":ping"), ["OK ping"]);
});

Deno.test("ack: in echo mode --ack changes nothing", async () => {
  await using server = await startTestServer({ mode: "echo", ack: true });
  await using client = await TestClient.open(server);
  await client.nextLine();
  await client.send("echoed");
  assert.equal(await client.nextLine(), "echoed");
  await client.send(":ack on");
  assert.equal(await client.nextLine(), ":ack on");
});
