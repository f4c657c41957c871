import assert from "node:assert/strict";
import { connect, startTestServer, TestClient } from "./_helpers.ts";

Deno.test("a new connection is greeted with HELLO naming the protocol and the mode", async () => {
  await using server = await startTestServer();
  await using client = await TestClient.open(server);
  assert.match(await client.nextLine(), /^HELLO sb\/1 chat \S+ :/);
});

Deno.test("the first plain line is the name, answered by WELCOME with the online count", async () => {
  await using server = await startTestServer();
  await using client = await TestClient.open(server);
  await client.nextLine();
  await client.send("alice");
  assert.match(await client.nextLine(), /^WELCOME alice 1 :/);
});

Deno.test("a plain line reaches every other named client as MSG, not the sender", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await using carol = await connect(server, "carol");
  await alice.send("hello there");
  assert.deepEqual(await bob.waitFor("MSG "), "MSG alice * :hello there");
  assert.deepEqual(await carol.waitFor("MSG "), "MSG alice * :hello there");
  assert.deepEqual(await alice.command(":ping"), ["JOIN bob", "JOIN carol", "OK ping"]);
});

Deno.test("lines ending in \\r\\n are accepted and relayed without the \\r", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await alice.sendRaw(new TextEncoder().encode("windows line\r\n"));
  assert.deepEqual(await bob.waitFor("MSG "), "MSG alice * :windows line");
});

Deno.test("a line split across many writes, one byte at a time, arrives whole", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  for (const byte of new TextEncoder().encode("héllo 日本 🎉\n")) {
    await alice.sendRaw(new Uint8Array([byte]));
  }
  assert.deepEqual(await bob.waitFor("MSG "), "MSG alice * :héllo 日本 🎉");
});

Deno.test("invalid and taken names get an ERR and the client may try again", async () => {
  await using server = await startTestServer();
  await using _alice = await connect(server, "alice");
  await using client = await TestClient.open(server);
  await client.nextLine();
  await client.send("no spaces allowed");
  assert.match(await client.nextLine(), /^ERR bad-name :/);
  await client.send("x".repeat(33));
  assert.match(await client.nextLine(), /^ERR bad-name :/);
  await client.send("ALICE");
  assert.match(await client.nextLine(), /^ERR name-taken :/);
  await client.send("server");
  assert.match(await client.nextLine(), /^ERR name-reserved :.*reserved/);
  await client.send("bob");
  assert.match(await client.nextLine(), /^WELCOME bob 2 :/);
});

Deno.test("before a name only :auth, :help, :quit and admin commands work; others get not-registered", async () => {
  await using server = await startTestServer();
  await using client = await TestClient.open(server);
  await client.nextLine();
  assert.deepEqual(await client.command(":pm bob hi"), [
    "ERR not-registered :send your name first",
  ]);
  assert.deepEqual((await client.command(":list"))[0], "ERR not-registered :send your name first");
  assert.deepEqual((await client.command(":help")).at(-1), "OK help");
  for (const command of [":ping", ":whoami", ":groups", ":name bob"]) {
    assert.deepEqual(await client.command(command), ["ERR not-registered :send your name first"]);
  }
  assert.deepEqual(await client.command(":kick bob"), [
    "ERR not-allowed :kick is for admins (see :auth)".replace("kick", ":kick"),
  ]);
});

Deno.test(":pm delivers PM to the recipient only and answers OK pm", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await using carol = await connect(server, "carol");
  assert.deepEqual((await alice.command(":pm Bob psst, over here")).at(-1), "OK pm bob");
  assert.deepEqual(await bob.waitFor("PM "), "PM alice :psst, over here");
  assert.deepEqual(await carol.command(":ping"), ["OK ping"]);
  assert.deepEqual(await alice.command(":pm nobody hi"), [
    `ERR no-such-user :nobody called "nobody" is online`,
  ]);
  assert.match(
    (await alice.command(":pm bob"))[0] as string,
    /^ERR bad-args :usage: :pm <user> <text>/,
  );
});

Deno.test("groups: create joins, members list, send reaches members only, leave announces PART", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await using carol = await connect(server, "carol");
  await alice.waitFor("JOIN carol");
  await bob.waitFor("JOIN carol");
  assert.deepEqual(await alice.command(":group create devs"), ["OK group create devs"]);
  assert.deepEqual(await bob.command(":group join #devs"), ["OK group join devs"]);
  assert.deepEqual(await alice.waitFor("JOIN bob #devs"), "JOIN bob #devs");
  assert.deepEqual(await carol.command(":group members devs"), [
    "MEMBER #devs alice",
    "MEMBER #devs bob",
    "OK group members devs 2",
  ]);
  assert.deepEqual(await alice.command(":group send devs ship it"), ["OK group send devs"]);
  assert.deepEqual(await bob.waitFor("MSG "), "MSG alice #devs :ship it");
  assert.deepEqual(await carol.command(":group send devs let me in"), [
    "ERR not-allowed :you are not a member of #devs",
  ]);
  assert.deepEqual(await carol.command(":group create devs"), [
    "ERR group-exists :#devs exists; use :group join",
  ]);
  assert.deepEqual(await carol.command(":group join nope"), [
    "ERR no-such-group :there is no group #nope",
  ]);
  assert.deepEqual(await carol.command(":groups"), ["GROUP #devs 2", "OK groups 1"]);
  assert.deepEqual(await bob.command(":group leave devs"), ["OK group leave devs"]);
  assert.deepEqual(await alice.waitFor("PART "), "PART bob #devs left");
  assert.match(
    (await bob.command(":group dance devs"))[0] as string,
    /^ERR bad-args :usage: :group/,
  );
});

Deno.test("the last member leaving removes the group", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await alice.command(":group create solo");
  await alice.command(":group leave solo");
  assert.deepEqual(await alice.command(":groups"), ["OK groups 0"]);
});

Deno.test(":list shows everyone online; :whoami shows name, address, role and groups", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  assert.deepEqual(await alice.command(":list"), [
    "JOIN bob",
    "USER alice",
    "USER bob",
    "OK list 2",
  ]);
  await bob.command(":group create ops");
  const [whoami, ok] = await bob.command(":whoami");
  assert.match(whoami as string, /^WHOAMI bob 127\.0\.0\.1:\d+ user :#ops$/);
  assert.deepEqual(ok, "OK whoami");
});

Deno.test(":name renames: everyone gets NICK, the renamed client too, then OK name", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  assert.deepEqual(await alice.command(":name alicia"), [
    "JOIN bob",
    "NICK alice alicia",
    "OK name alicia",
  ]);
  assert.deepEqual(await bob.waitFor("NICK "), "NICK alice alicia");
  assert.deepEqual(await bob.command(":name ALICIA"), ['ERR name-taken :"ALICIA" is taken']);
  await alice.send("still me");
  assert.deepEqual(await bob.waitFor("MSG "), "MSG alicia * :still me");
});

Deno.test("lobby hears JOIN and LEAVE with the reason", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  {
    await using bob = await connect(server, "bob");
    assert.deepEqual(await alice.nextLine(), "JOIN bob");
    await bob.send(":quit");
    assert.deepEqual(await bob.nextLine(), "BYE quit :Goodbye!");
  }
  assert.deepEqual(await alice.nextLine(), "LEAVE bob quit");
});

Deno.test(":quit and a plain exit both end the session with BYE quit", async () => {
  await using server = await startTestServer();
  for (const farewell of [":quit", "exit", "EXIT"]) {
    await using client = await connect(server, "leaver");
    await client.send(farewell);
    assert.deepEqual(await client.closed(), ["BYE quit :Goodbye!"]);
  }
});

Deno.test("exit works before a name is sent too", async () => {
  await using server = await startTestServer();
  await using client = await TestClient.open(server);
  await client.nextLine();
  await client.send("exit");
  assert.deepEqual(await client.closed(), ["BYE quit :Goodbye!"]);
});

Deno.test("unknown commands get ERR unknown-command and the connection stays usable", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  assert.deepEqual(await alice.command(":dance"), [
    `ERR unknown-command :unknown command ":dance"; try :help`,
  ]);
  assert.deepEqual(await alice.command(":ping"), ["OK ping"]);
});

Deno.test("a line starting with two colons is a message starting with one", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await alice.send("::) smiley");
  assert.deepEqual(await bob.waitFor("MSG "), "MSG alice * ::) smiley");
});

Deno.test("empty lines are ignored", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await alice.send("");
  await alice.send("after the blank");
  assert.deepEqual(await bob.waitFor("MSG "), "MSG alice * :after the blank");
});

Deno.test("a last line without a newline is handled when the client closes its side", async () => {
  await using server = await startTestServer();
  await using bob = await connect(server, "bob");
  await using alice = await connect(server, "alice");
  await alice.sendRaw(new TextEncoder().encode("parting words"));
  await alice.conn.closeWrite();
  assert.deepEqual(await bob.waitFor("MSG "), "MSG alice * :parting words");
  assert.ok((await alice.closed()).includes("BYE quit :Goodbye!"));
});

Deno.test("beyond the announce limit lobby JOIN/NICK/LEAVE go only to those concerned", async () => {
  await using server = await startTestServer({ announceLimit: 2 });
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  assert.equal(await alice.nextLine(), "JOIN bob");
  await using carol = await connect(server, "carol"); // 3 online: over the limit
  assert.deepEqual(await carol.command(":name caroline"), [
    "NICK carol caroline",
    "OK name caroline",
  ]);
  await carol.send("quit now");
  await carol.send(":quit");
  await carol.closed();
  // alice heard none of carol's announcements: the next thing she sees is carol's message.
  assert.equal(await alice.nextLine(), "MSG caroline * :quit now");
  await bob.send("still here");
  assert.equal(await alice.nextLine(), "MSG bob * :still here");
});

Deno.test("a client belongs to at most 100 groups; one more is ERR too-many-groups", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await alice.send(Array.from({ length: 100 }, (_, i) => `:group create g${i}`).join("\n"));
  for (let i = 0; i < 100; i++) assert.equal(await alice.waitFor("OK "), `OK group create g${i}`);
  assert.match((await alice.command(":group create g100"))[0] ?? "", /^ERR too-many-groups :/);
  await bob.command(":group create extra");
  assert.match((await alice.command(":group join extra"))[0] ?? "", /^ERR too-many-groups :/);
  // Joining a group it is already in is not one more; leaving one makes room.
  assert.deepEqual(await alice.command(":group join g5"), ["OK group join g5"]);
  assert.deepEqual(await alice.command(":group leave g0"), ["OK group leave g0"]);
  assert.deepEqual(await alice.command(":group join extra"), ["OK group join extra"]);
  assert.equal(await bob.waitFor("JOIN alice"), "JOIN alice #extra");
});
