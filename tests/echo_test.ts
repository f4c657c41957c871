import assert from "node:assert/strict";
import { startTestServer, TestClient } from "./_helpers.ts";

const encoder = new TextEncoder();

Deno.test("echo mode greets with HELLO … echo and returns every line verbatim", async () => {
  await using server = await startTestServer({ mode: "echo" });
  await using client = await TestClient.open(server);
  assert.match(await client.nextLine(), /^HELLO sb\/1 echo /);
  await client.send("Hello, Server!");
  assert.equal(await client.nextLine(), "Hello, Server!");
  await client.send(":help is not a command here");
  assert.equal(await client.nextLine(), ":help is not a command here");
  await client.sendRaw(encoder.encode("with cr\r\n日本\n\n"));
  assert.equal(await client.nextLine(), "with cr\r");
  assert.equal(await client.nextLine(), "日本");
  assert.equal(await client.nextLine(), "");
});

Deno.test("echo mode: exit gets BYE quit :Goodbye! and the server closes", async () => {
  await using server = await startTestServer({ mode: "echo" });
  await using client = await TestClient.open(server);
  await client.nextLine();
  await client.sendRaw(encoder.encode("one\nexit\nnever echoed\n"));
  assert.deepEqual(await client.closed(), ["one", "BYE quit :Goodbye!"]);
});

Deno.test("echo mode: many pipelined lines come back complete and in order", async () => {
  await using server = await startTestServer({ mode: "echo" });
  await using client = await TestClient.open(server);
  await client.nextLine();
  const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${"x".repeat(i % 200)}`);
  const sending = client.sendRaw(encoder.encode(lines.join("\n") + "\n"));
  for (const line of lines) assert.equal(await client.nextLine(), line);
  await sending;
});

Deno.test("echo mode: a reader that falls behind still gets every byte intact", async () => {
  // Chunks are echoed from the buffer they were read into; that buffer must not take another
  // read before the queue has written them. The client stops reading for a while, so the kernel's
  // socket buffers (a few MB on loopback) fill and chunks wait in the server's queue; then it
  // checks every byte it gets back.
  await using server = await startTestServer({ mode: "echo", maxQueueBytes: 256 * 1024 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  // A broken echo may stop short: closing the socket ends the reads below instead of hanging.
  const watchdog = setTimeout(() => conn.close(), 20_000);
  try {
    const lines: string[] = [];
    for (let i = 0; i < 300_000; i++) lines.push(`${i} ${String(i * 7919 % 1000).repeat(i % 50)}`);
    const sent = encoder.encode(lines.join("\n") + "\n");
    const writing = (async () => {
      for (let offset = 0; offset < sent.length;) {
        offset += await conn.write(sent.subarray(offset, offset + 65536));
      }
    })();
    writing.catch(() => {}); // awaited at the end; a failure here shows as missing bytes first
    await new Promise((resolve) => setTimeout(resolve, 300));
    const buffer = new Uint8Array(65536);
    let pending = new Uint8Array(0);
    // The greeting line comes first; then exactly the bytes sent.
    while (!pending.includes(0x0a)) {
      const count = await conn.read(buffer);
      assert.ok(count !== null, "connection open");
      pending = new Uint8Array([...pending, ...buffer.subarray(0, count)]);
    }
    let checked = 0;
    // Compared by hand: assert.deepEqual would spend minutes rendering a diff of 64 KiB arrays.
    const check = (bytes: Uint8Array) => {
      const expected = sent.subarray(checked, checked + bytes.length);
      if (!bytes.every((byte, i) => byte === expected[i])) {
        assert.fail(`bytes ${checked}..${checked + bytes.length} differ from what was sent`);
      }
      checked += bytes.length;
    };
    check(pending.subarray(pending.indexOf(0x0a) + 1));
    while (checked < sent.length) {
      const count = await conn.read(buffer);
      assert.ok(count !== null, `closed after ${checked} of ${sent.length} bytes`);
      check(buffer.subarray(0, count));
    }
    await writing;
  } finally {
    clearTimeout(watchdog);
    try {
      conn.close();
    } catch {
      // Closed by the watchdog.
    }
  }
});

Deno.test("echo mode: one burst mixing plain, over-long, CRLF and exit-like lines, in order", async () => {
  // Plain lines of a chunk are echoed in one pass; any other line must still be answered in its
  // place. One write, so the server reads it as one chunk (or a few) and takes every path.
  await using server = await startTestServer({ mode: "echo", maxLineBytes: 10 });
  await using client = await TestClient.open(server);
  await client.nextLine();
  const sent: string[] = [];
  const expected: string[] = [];
  for (let i = 0; i < 200; i++) {
    const line = ["0123456789", "01234567890", "crlf\r", "exits", "", "EXIT?"][i % 6]!;
    sent.push(line);
    expected.push(line === "01234567890" ? "ERR line-too-long" : line);
  }
  await client.sendRaw(encoder.encode(sent.join("\n") + "\nlast\nExit\nnot echoed\n"));
  for (const line of [...expected, "last"]) {
    const got = await client.nextLine();
    if (line.startsWith("ERR")) assert.match(got, /^ERR line-too-long :/);
    else assert.equal(got, line);
  }
  assert.deepEqual(await client.closed(), ["BYE quit :Goodbye!"]);
});

Deno.test("echo mode enforces line length and UTF-8 like chat mode", async () => {
  await using server = await startTestServer({ mode: "echo", maxLineBytes: 10 });
  await using client = await TestClient.open(server);
  await client.nextLine();
  await client.sendRaw(encoder.encode("0123456789ABC\n"));
  assert.match(await client.nextLine(), /^ERR line-too-long :/);
  await client.sendRaw(new Uint8Array([0xc3, 0x28, 0x0a]));
  assert.match(await client.nextLine(), /^ERR bad-utf8 :/);
  await client.send("fine");
  assert.equal(await client.nextLine(), "fine");
});
