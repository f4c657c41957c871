import assert from "node:assert/strict";
import { connect, eventually, startTestServer, type TestClient } from "./_helpers.ts";
import { floodPeer, NumberedWriter } from "./_flood.ts";

const encoder = new TextEncoder();

/** A named client that never reads: its kernel buffers fill, then its queue passes the mark. */
async function nonReader(port: number, name: string): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode(`${name}\n`));
  return conn;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
}

/**
 * A server whose write deadline is far away (only the stall rule may cut anyone in these tests)
 * with two readers, carol and dave, and sleepy, a named client that never reads. The stall
 * timeout leaves the tests 3 s to show what happens while sleepy is still there: with 1 s, a
 * loaded CI machine sometimes saw it cut before carol's commands were answered.
 */
async function roomWithNonReader() {
  const server = await startTestServer({ writeDeadline: 60, stallTimeout: 3 });
  const port = server.addr.port;
  const carol = await connect(server, "carol");
  const dave = await connect(server, "dave");
  const sleepy = await nonReader(port, "sleepy");
  await carol.waitFor("JOIN sleepy");
  return {
    server,
    port,
    carol,
    dave,
    sleepy,
    async [Symbol.asyncDispose]() {
      sleepy.close();
      await carol[Symbol.asyncDispose]();
      await dave[Symbol.asyncDispose]();
      await server.shutdown();
    },
  };
}

/**
 * Sends `:ping` and returns the lines that came before its `OK ping`, lobby traffic aside: they
 * show whether the answer waited for the non-reader to be cut (a `LEAVE sleepy` among them).
 */
async function linesBeforePong(client: TestClient): Promise<string[]> {
  const reply = await client.command(":ping");
  assert.equal(reply.at(-1), "OK ping");
  return reply.slice(0, -1).filter((line) => !/^(MSG|JOIN) /.test(line));
}

Deno.test("a reader that stops reading holds back only lobby senders, and only until the stall timeout cuts it", async () => {
  await using room = await roomWithNonReader();
  const { server, port, carol, dave } = room;
  const watcher = await floodPeer(port, ["watcher"], "MSG flood * :", "WELCOME");
  const flood = await floodPeer(port, ["flood"], "ACK ", "WELCOME");
  // 100-byte lines, ~12 MB: more than the non-reader's kernel buffers and queue absorb.
  const writer = new NumberedWriter(flood.conn, {
    max: 120_000,
    perWrite: 500,
    pad: ` ${"x".repeat(92)}`,
  });
  try {
    await eventually(() => server.stats().backedUp > 0, 10_000, "the non-reader backed up");
    // Bystanders go on while the non-reader holds the lobby back (before the fix they waited
    // until it was cut): carol's :ping is answered while sleepy is still in the room.
    assert.deepEqual(await linesBeforePong(carol), []);
    assert.deepEqual(await carol.command(":pm dave still here?"), ["OK pm dave"]);
    assert.equal(await dave.waitFor("PM carol"), "PM carol :still here?");
    assert.ok(server.stats().online === 5, "the non-reader was still in the room meanwhile");
    await carol.waitFor("LEAVE sleepy slow-consumer", 10_000);
    // The lobby goes on after the cut, and the healthy readers lose nothing.
    await writer.done;
    await eventually(() => watcher.reader.count === 120_000, 20_000, "every flood line delivered");
    assert.equal(watcher.reader.outOfOrder, undefined);
    await eventually(() => server.stats().disconnects["slow-consumer"] === 1);
  } finally {
    writer.stop();
    flood.conn.close();
    watcher.conn.close();
  }
});

Deno.test("a private message to a backed-up reader holds back its sender only, until that reader is gone", async () => {
  await using room = await roomWithNonReader();
  const { server, port, carol, dave, sleepy } = room;
  // Fill the non-reader's buffers with a group's traffic that carol and dave do not receive.
  const flood = await floodPeer(port, ["flood", ":group create noise"], "ACK ", "OK group create");
  await sleepy.write(encoder.encode(":group join noise\n"));
  await eventually(() => server.stats().groups === 1);
  const big = `:group send noise ${"n".repeat(60_000)}\n`.repeat(400);
  const sending = writeAll(flood.conn, encoder.encode(big)).catch(() => {});
  try {
    await eventually(() => server.stats().backedUp > 0, 10_000, "the non-reader backed up");
    await carol.send(":pm sleepy are you there?");
    await carol.send(":ping");
    // Dave is not held back by anything: his :ping is answered while sleepy is still there.
    assert.deepEqual(await linesBeforePong(dave), []);
    // Carol's :ping waits until the reader she wrote to is gone.
    const seen: string[] = [];
    while (seen.at(-1) !== "OK ping") seen.push(await carol.nextLine(10_000));
    assert.deepEqual(seen.filter((line) => !line.startsWith("JOIN ")), [
      "OK pm sleepy",
      "LEAVE sleepy slow-consumer",
      "OK ping",
    ]);
  } finally {
    flood.conn.close();
    await sending;
  }
});
