import assert from "node:assert/strict";
import { connect, eventually, startTestServer, TestClient } from "./_helpers.ts";

const encoder = new TextEncoder();

Deno.test("an over-long line gets ERR line-too-long, is dropped, and the connection keeps working", async () => {
  await using server = await startTestServer({ maxLineBytes: 100 });
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await alice.send("x".repeat(5000));
  assert.match(await alice.waitFor("ERR "), /^ERR line-too-long :lines are limited to 100 bytes/);
  await alice.send("y".repeat(100));
  assert.equal(await bob.waitFor("MSG "), `MSG alice * :${"y".repeat(100)}`);
});

Deno.test("an over-long line arriving in small pieces is cut without buffering it all", async () => {
  await using server = await startTestServer({ maxLineBytes: 1000 });
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  for (let i = 0; i < 50; i++) await alice.sendRaw(encoder.encode("z".repeat(500)));
  await alice.sendRaw(encoder.encode("\nshort one\n"));
  assert.match(await alice.waitFor("ERR "), /^ERR line-too-long /);
  assert.equal(await bob.waitFor("MSG "), "MSG alice * :short one");
});

Deno.test("invalid UTF-8 gets ERR bad-utf8 and nothing reaches others", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await alice.sendRaw(new Uint8Array([0x68, 0xff, 0xfe, 0x0a]));
  assert.match(await alice.waitFor("ERR "), /^ERR bad-utf8 :/);
  await alice.sendRaw(new Uint8Array([0xe6, 0x97])); // a character split across writes …
  await alice.sendRaw(new Uint8Array([0xa5, 0x0a])); // … is fine
  assert.equal(await bob.waitFor("MSG "), "MSG alice * :日");
});

Deno.test("control characters and ANSI escapes are neutralised; CJK and emoji pass intact", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await alice.send("red \x1b[31malert\x1b[0m bell\x07 rtl\u202e 你好 👋");
  assert.equal(
    await bob.waitFor("MSG "),
    "MSG alice * :red \uFFFD[31malert\uFFFD[0m bell\uFFFD rtl\uFFFD 你好 👋",
  );
  await alice.command(":pm bob \x1b]0;pwned\x07");
  assert.equal(await bob.waitFor("PM "), "PM alice :\uFFFD]0;pwned\uFFFD");
});

Deno.test("max-clients is counted at accept: one more gets ERR server-full and is closed", async () => {
  await using server = await startTestServer({ maxClients: 2 });
  await using first = await TestClient.open(server);
  await using second = await TestClient.open(server);
  await first.nextLine();
  await second.nextLine();
  await using third = await TestClient.open(server);
  const lines = await third.closed();
  assert.equal(lines.length, 1);
  assert.match(lines[0] as string, /^ERR server-full :/);
  await first.send(":quit");
  await first.closed();
  await eventually(() => server.stats().connections === 1);
  await using fourth = await TestClient.open(server);
  assert.match(await fourth.nextLine(), /^HELLO /);
});

Deno.test("max-per-ip refuses the extra connection with ERR too-many-connections; the slot frees on close", async () => {
  await using server = await startTestServer({ maxPerIp: 1 });
  await using first = await TestClient.open(server);
  await first.nextLine();
  await using second = await TestClient.open(server);
  assert.match((await second.closed())[0] as string, /^ERR too-many-connections :/);
  await first.send("exit");
  await first.closed();
  await eventually(() => server.stats().connections === 0);
  await using third = await TestClient.open(server);
  assert.match(await third.nextLine(), /^HELLO /);
});

Deno.test("a client that sends no name within the register timeout gets BYE idle", async () => {
  await using server = await startTestServer({ registerTimeout: 0.2 });
  await using client = await TestClient.open(server);
  const lines = await client.closed();
  assert.match(lines[0] as string, /^HELLO /);
  assert.equal(lines[1], "BYE idle :no name received within 0.2 s");
});

Deno.test("an idle named client is told why and disconnected; pongs do not count as activity", async () => {
  await using server = await startTestServer({
    idleTimeout: 0.4,
    pingInterval: 0.1,
    pingTimeout: 5,
  });
  await using client = await connect(server, "sleepy");
  let sawPing = false;
  for (;;) {
    const line = await client.nextLine();
    if (line === "PING") {
      sawPing = true;
      await client.send(":pong");
      continue;
    }
    assert.equal(line, "BYE idle :no activity for 0.4 s");
    break;
  }
  assert.ok(sawPing);
});

Deno.test("after the ping interval the server sends PING; no answer within the ping timeout is BYE stale", async () => {
  await using server = await startTestServer({
    pingInterval: 0.1,
    pingTimeout: 0.2,
    idleTimeout: 60,
  });
  await using client = await connect(server, "mute");
  assert.equal(await client.nextLine(), "PING");
  assert.deepEqual(await client.closed(), ["BYE stale :no answer to PING within 0.2 s"]);
});

Deno.test("answering PING with :pong keeps the connection alive", async () => {
  await using server = await startTestServer({
    pingInterval: 0.05,
    pingTimeout: 0.15,
    idleTimeout: 60,
  });
  await using client = await connect(server, "lively");
  for (let i = 0; i < 4; i++) {
    assert.equal(await client.nextLine(), "PING");
    await client.send(":pong");
  }
  assert.deepEqual(await client.command(":ping"), ["OK ping"]);
});

Deno.test("rate limit: a pasted burst is held, not dropped, not reordered, and the sender is not kicked", async () => {
  await using server = await startTestServer({ rateLimit: 20 });
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  const count = 60; // 40 in the burst, 20 more at 20/s
  await alice.sendRaw(
    encoder.encode(Array.from({ length: count }, (_, i) => `line ${i}\n`).join("")),
  );
  for (let i = 0; i < count; i++) assert.equal(await bob.waitFor("MSG "), `MSG alice * :line ${i}`);
  assert.equal((await alice.command(":ping")).at(-1), "OK ping");
});

Deno.test("rate limit: a person typing line by line gets the whole burst of 2N", async () => {
  // Rate 1.5/s, burst 3: the name and two lines sent one at a time all go straight through.
  // (A token taken for the end of each read too would hold "second" for at least 0.67 s.)
  await using server = await startTestServer({ rateLimit: 1.5 });
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await alice.send("first");
  assert.equal(await bob.waitFor("MSG"), "MSG alice * :first");
  await alice.send("second");
  assert.equal(await bob.waitFor("MSG", 600), "MSG alice * :second");
});

Deno.test("rate limit of one client does not slow the others", async () => {
  await using server = await startTestServer({ rateLimit: 2 });
  await using flooder = await connect(server, "flooder");
  await using calm = await connect(server, "calm");
  await using listener = await connect(server, "listener");
  await flooder.sendRaw(encoder.encode("spam\n".repeat(50)));
  await calm.send("hello");
  // calm's message overtakes most of the flood: the flooder is held at 2 lines a second.
  let spam = 0;
  for (;;) {
    const line = await listener.waitFor("MSG ");
    if (line === "MSG calm * :hello") break;
    spam++;
  }
  assert.ok(spam <= 10, `saw ${spam} spam lines before calm's message`);
});

Deno.test("a slow consumer is cut while the others keep receiving everything", async () => {
  await using server = await startTestServer({ maxQueueBytes: 256 * 1024, writeDeadline: 0.3 });
  await using sender = await connect(server, "sender");
  await using reader = await connect(server, "reader");
  // A raw socket that registers and then never reads: kernel buffers fill, then its queue.
  using stalled = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await stalled.write(encoder.encode("stalled\n"));
  await reader.waitFor("JOIN stalled");
  let cut = false;
  let received = 0;
  const reading = (async () => {
    for (;;) {
      const line = await reader.nextLine(10_000);
      if (line === "LEAVE stalled slow-consumer") cut = true;
      else if (line === "MSG sender * :end") return;
      else if (line.startsWith("MSG sender")) received++;
    }
  })();
  // Loopback buffers here can absorb tens of MB, so send until the cut (at most 256 MB).
  const batch = encoder.encode(`${"p".repeat(8000)}\n`.repeat(100));
  let sent = 0;
  while (!cut && sent < 32_000) {
    await sender.sendRaw(batch);
    sent += 100;
  }
  await sender.send("end");
  await reading;
  assert.ok(cut, "the stalled reader was cut");
  assert.equal(received, sent);
  await eventually(() => server.stats().disconnects["slow-consumer"] === 1);
});

Deno.test("100 clients: every broadcast reaches every other client exactly once, in order", async () => {
  await using server = await startTestServer({ maxClients: 200 });
  const clients: TestClient[] = [];
  try {
    for (let i = 0; i < 100; i++) clients.push(await connect(server, `c${i}`));
    const messages = 20;
    const senders = [0, 37, 99];
    for (const s of senders) {
      for (let m = 0; m < messages; m++) await clients[s]!.send(`from ${s} #${m}`);
    }
    await Promise.all(clients.map(async (client, index) => {
      const seen = new Map<number, number[]>();
      const expected = senders.filter((s) => s !== index).length * messages;
      let total = 0;
      while (total < expected) {
        const line = await client.nextLine(10_000);
        const match = /^MSG c(\d+) \* :from (\d+) #(\d+)$/.exec(line);
        if (match === null) continue;
        const [, from, fromText, seq] = match.map(Number) as number[];
        assert.equal(from, fromText);
        const list = seen.get(from!) ?? [];
        list.push(seq!);
        seen.set(from!, list);
        total++;
      }
      for (const s of senders) {
        if (s === index) continue;
        assert.deepEqual(seen.get(s), Array.from({ length: messages }, (_, i) => i));
      }
    }));
    assert.equal(server.stats().disconnects["slow-consumer"], 0);
  } finally {
    await Promise.all(clients.map((client) => client[Symbol.asyncDispose]()));
  }
});

Deno.test("a flood to healthy readers is slowed by backpressure, never cut, nothing lost", async () => {
  await using server = await startTestServer({ maxQueueBytes: 32 * 1024, writeDeadline: 5 });
  await using sender = await connect(server, "sender");
  const readers = await Promise.all(["r1", "r2", "r3"].map((name) => connect(server, name)));
  try {
    const lines = 20_000;
    const counts = readers.map(async (reader) => {
      let count = 0;
      while (count < lines) {
        const line = await reader.nextLine(10_000);
        if (line.startsWith("MSG sender")) count++;
      }
      return count;
    });
    const chunk = encoder.encode("flood flood flood flood\n".repeat(1000));
    for (let i = 0; i < lines / 1000; i++) await sender.sendRaw(chunk);
    assert.deepEqual(await Promise.all(counts), [lines, lines, lines]);
    assert.equal(server.stats().disconnects["slow-consumer"], 0);
  } finally {
    await Promise.all(readers.map((reader) => reader[Symbol.asyncDispose]()));
  }
});

Deno.test("a connection that sends only invalid lines is closed with BYE protocol-error", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  // 99 bad lines, then a good one: the count starts over, the connection stays.
  const bad = new Uint8Array([0xc3, 0x28, 0x0a]);
  await bob.sendRaw(new Uint8Array(Array.from({ length: 99 }, () => [...bad]).flat()));
  await bob.send("still fine");
  assert.equal(await alice.waitFor("MSG"), "MSG bob * :still fine");
  await bob.sendRaw(new Uint8Array(Array.from({ length: 100 }, () => [...bad]).flat()));
  assert.match(await bob.waitFor("BYE"), /^BYE protocol-error :100 invalid lines in a row/);
  assert.equal(await alice.waitFor("LEAVE"), "LEAVE bob protocol-error");
  assert.equal(server.stats().disconnects["protocol-error"], 1);
});

Deno.test("a line right after a payload in the same chunk is checked as UTF-8 on its own", async () => {
  // Found by the fuzz suite: the chunk was checked as a whole, so a payload ending in a lead byte
  // made the continuation bytes that start the next line look like valid UTF-8.
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  const put = encoder.encode(`:put a 1 ${"0".repeat(64)}\n`);
  const chunk = new Uint8Array([
    ...put,
    0xf2,
    0xb3,
    0xbd,
    0xbd,
    0x0a,
    ...encoder.encode("after\n"),
  ]);
  await alice.sendRaw(chunk);
  assert.match(await alice.waitFor("ERR "), /^ERR disabled :/);
  assert.match(await alice.waitFor("ERR "), /^ERR bad-utf8 :/);
  assert.equal(await bob.waitFor("MSG "), "MSG alice * :after");
});
