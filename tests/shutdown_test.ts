import assert from "node:assert/strict";
import {
  connect,
  eventually,
  hangGuard,
  LINE_TIMEOUT_MS,
  startTestServer,
  TestClient,
} from "./_helpers.ts";
import { floodPeer, NumberedWriter } from "./_flood.ts";
import { ServerProcess } from "./_programs.ts";

const encoder = new TextEncoder();

Deno.test("shutdown delivers every message already read before BYE shutdown", async () => {
  const server = await startTestServer({ shutdownGrace: 2 });
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  const lines = Array.from({ length: 2000 }, (_, i) => `in flight ${i}`);
  await alice.sendRaw(encoder.encode(lines.map((l) => l + "\n").join("")));
  // Wait until the server has read them (a line is accepted once read), then stop it.
  await alice.command(":ping");
  await server.shutdown({ reason: "closing time" });
  const received = (await bob.closed()).filter((l) => l.startsWith("MSG "));
  assert.deepEqual(received, lines.map((l) => `MSG alice * :${l}`));
});

Deno.test("lines held by the rate limit when shutdown starts are still delivered", async () => {
  const server = await startTestServer({ rateLimit: 5, shutdownGrace: 2 });
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  // 40 short lines, 170 bytes: one read takes them all (read buffers start at 256 bytes), so
  // all of them are the server's, held by the rate limit, when the shutdown starts.
  const lines = Array.from({ length: 40 }, (_, i) => `h${i}`);
  await alice.sendRaw(encoder.encode(lines.map((l) => l + "\n").join("")));
  assert.equal(await bob.waitFor("MSG"), "MSG alice * :h0");
  await server.shutdown();
  const rest = (await bob.closed()).filter((l) => l.startsWith("MSG "));
  assert.deepEqual(rest, lines.slice(1).map((l) => `MSG alice * :${l}`));
});

Deno.test("after shutdown every client got BYE shutdown and the port is closed", async () => {
  const server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using anonymous = await TestClient.open(server);
  await anonymous.nextLine();
  await server.shutdown({ reason: "bye all" });
  assert.deepEqual(await alice.closed(), ["BYE shutdown :bye all"]);
  assert.deepEqual(await anonymous.closed(), ["BYE shutdown :bye all"]);
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }));
  assert.equal(server.stats().disconnects.shutdown, 2);
});

Deno.test("a client that does not read cannot hold shutdown past its grace period", async () => {
  // Only the grace period can cut the stalled reader: the write deadline and the stall rule are
  // far beyond the test's own guard.
  const server = await startTestServer({
    shutdownGrace: 0.3,
    writeDeadline: 600,
    stallTimeout: 600,
  });
  const disconnects: string[] = [];
  server.on("disconnect", ({ name, reason }) => disconnects.push(`${name} ${reason}`));
  let closedEvents = 0;
  server.on("closed", () => closedEvents++);
  await using sender = await connect(server, "sender");
  using stalled = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await stalled.write(encoder.encode("stalled\n"));
  await sender.waitFor("JOIN stalled");
  // More than the kernel buffers of the stalled reader absorb; not awaited, since the server
  // stops reading the sender (backpressure) while the stalled reader's queue is full.
  const big = encoder.encode(`${"z".repeat(8000)}\n`.repeat(8000));
  const sending = sender.sendRaw(big).catch(() => {});
  await eventually(
    () => server.stats().backedUp > 0,
    LINE_TIMEOUT_MS,
    "the stalled reader backed up",
  );
  await hangGuard(
    Promise.all([server.shutdown(), server.finished]),
    2 * LINE_TIMEOUT_MS,
    "shutdown never finished: a reader that reads nothing held it past its grace period",
  );
  assert.deepEqual(disconnects.toSorted(), ["sender shutdown", "stalled shutdown"]);
  assert.equal(closedEvents, 1);
  assert.equal(await sender.waitFor("BYE "), "BYE shutdown :server shutting down");
  await sending;
});

Deno.test("shutdown is idempotent: a second call waits for the same shutdown", async () => {
  const server = await startTestServer();
  await using alice = await connect(server, "alice");
  const events: string[] = [];
  server.on("shutdown", ({ reason }) => events.push(`shutdown ${reason}`));
  server.on("disconnect", ({ name, reason }) => events.push(`disconnect ${name} ${reason}`));
  server.on("closed", () => events.push("closed"));
  server.finished.then(() => events.push("finished"));
  // Each call reports what had happened by the time it resolved.
  const first = server.shutdown({ reason: "one" }).then(() => [...events]);
  const second = server.shutdown({ reason: "two" }).then(() => [...events]);
  const oneShutdown = ["shutdown one", "disconnect alice shutdown", "closed", "finished"];
  // The second call neither starts a shutdown of its own (its reason goes unused) nor returns
  // before the first one has closed every connection and the server has finished.
  assert.deepEqual(await second, oneShutdown, "seen when the second call resolved");
  assert.deepEqual(await first, oneShutdown, "seen when the first call resolved");
  assert.deepEqual(await alice.closed(), ["BYE shutdown :one"]);
  assert.equal(server.stats().disconnects.shutdown, 1);
  // A call once it is all over starts nothing either.
  await server.shutdown({ reason: "three" });
  assert.deepEqual(events, oneShutdown);
});

Deno.test("an AbortSignal stops the server gracefully", async () => {
  const controller = new AbortController();
  const server = await startTestServer({ signal: controller.signal });
  await using alice = await connect(server, "alice");
  controller.abort();
  assert.deepEqual(await alice.closed(), ["BYE shutdown :server shutting down"]);
  await server.finished;
});

Deno.test("SIGTERM during a flood: every acknowledged message arrives, then BYE shutdown to all", async () => {
  // The server runs as its own process, as in production: its clients are not slowed by sharing
  // its event loop, so a shutdown that stops respecting backpressure overflows their queues.
  await using server = await ServerProcess.start([
    "--port",
    "0",
    "--log-dir",
    "",
    "--shutdown-grace",
    "5",
  ]);
  const receivers = await Promise.all(
    Array.from(
      { length: 49 },
      (_, i) => floodPeer(server.port, [`r${i}`], "MSG flood * :", "WELCOME"),
    ),
  );
  const flooder = await floodPeer(server.port, ["flood", ":ack on"], "ACK ", "OK ack on");
  const writer = new NumberedWriter(flooder.conn, { max: 5_000_000, perWrite: 2000 });
  try {
    await eventually(() => receivers.every(({ reader }) => reader.count > 2000));
    server.kill("SIGTERM");
    assert.equal((await server.finished()).code, 0);
    writer.stop();
    await writer.done;
    await Promise.all([flooder, ...receivers].map(({ reader }) => reader.ended));
    const acked = flooder.reader.count;

    assert.ok(acked > 2000, `only ${acked} messages acknowledged`);
    assert.equal(flooder.reader.outOfOrder, undefined);
    const cut = receivers.filter(({ reader }) =>
      reader.last !== "BYE shutdown :server shutting down"
    );
    const short = receivers.filter(({ reader }) => reader.count < acked);
    assert.deepEqual(
      { cut: cut.length, short: short.length, flooder: flooder.reader.last },
      { cut: 0, short: 0, flooder: "BYE shutdown :server shutting down" },
      `acked ${acked}; receivers got ${receivers.map(({ reader }) => reader.count).join(" ")}; ` +
        `last lines ${[...new Set(receivers.map(({ reader }) => reader.last))].join(" | ")}`,
    );
    for (const { reader } of receivers) assert.equal(reader.outOfOrder, undefined);
  } finally {
    writer.stop();
    for (const { conn } of [flooder, ...receivers]) conn.close();
  }
});
