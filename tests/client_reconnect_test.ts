import assert from "node:assert/strict";
import { connect, startTestServer } from "./_helpers.ts";
import { ClientProcess, until } from "./client_harness.ts";
import { EXIT } from "../cli/_exit_codes.ts";

const FAST_RECONNECT = ["--reconnect-interval", "0.1", "--connect-timeout", "1"];

Deno.test("after a server restart the client comes back under the same name, re-joins its groups and sends the lines queued meanwhile", async () => {
  const first = await startTestServer();
  const port = first.addr.port;
  await using client = new ClientProcess([
    "--port",
    String(port),
    "--name",
    "alice",
    ...FAST_RECONNECT,
    "--reconnect-timeout",
    "8",
  ]);
  await client.send(":group create dev");
  await client.waitFor(/created and joined #dev/);
  await first.shutdown({ reason: "restarting" });
  await client.waitFor(
    /lost \(shutdown: restarting\); reconnecting every 0\.1 s for up to 8 s/,
    "stderr",
  );
  await client.send("typed while the server was down");
  await client.send(":group send dev to the group, also queued");
  await client.waitFor(/also queued" is queued \(2 waiting\)/, "stderr");

  await using second = await startTestServer({ port });
  const messages: { from: string; target: string; text: string }[] = [];
  second.on("message", ({ from, target, text }) => messages.push({ from, target, text }));
  await client.waitFor(
    /reconnected to 127\.0\.0\.1:\d+ as alice; rejoined #dev; sent 2 queued lines/,
    "stderr",
  );
  await until(() => messages.length === 2, 5000, "both queued lines delivered");
  assert.deepEqual(messages, [
    { from: "alice", target: "*", text: "typed while the server was down" },
    { from: "alice", target: "#dev", text: "to the group, also queued" },
  ]);
  assert.deepEqual(second.console(":group members dev"), [
    "MEMBER #dev alice",
    "OK group members dev 1",
  ]);
  await client.closeInput();
  const result = await client.finished();
  assert.equal(result.code, EXIT.ok, result.stderr);
});

Deno.test("when reconnecting gives up, the queued lines are reported as never sent", async () => {
  const server = await startTestServer();
  await using client = new ClientProcess([
    "--port",
    String(server.addr.port),
    "--name",
    "alice",
    ...FAST_RECONNECT,
    "--reconnect-timeout",
    "0.6",
  ]);
  await client.waitFor(/Hello alice/, "stderr");
  await server.shutdown();
  await client.waitFor(/reconnecting every/, "stderr");
  await client.send("this one is lost");
  const result = await client.finished();
  assert.equal(result.code, EXIT.disconnected);
  // The first try may meet the closing server's socket (a reset) before the port is closed.
  assert.match(
    result.stderr,
    /still disconnected \((connection refused|[^)]*reset by peer[^)]*)\); next try in 0\.1 s/,
  );
  assert.match(result.stderr, /1 line was never sent:\n.*client: {3}this one is lost/);
  assert.match(result.stderr, /disconnected: gave up reconnecting after 0\.6 s/);
});

Deno.test("with --reconnect-timeout 0 a server shutdown ends the client with exit 11", async () => {
  const server = await startTestServer();
  await using client = new ClientProcess([
    "--port",
    String(server.addr.port),
    "--name",
    "alice",
    "--reconnect-timeout",
    "0",
  ]);
  await client.waitFor(/Hello alice/, "stderr");
  await server.shutdown({ reason: "maintenance" });
  const result = await client.finished();
  assert.equal(result.code, EXIT.disconnected);
  assert.match(result.stderr, /disconnected by the server: shutdown \(maintenance\)/);
});

Deno.test("a kicked client says so, does not reconnect, and exits 10", async () => {
  await using server = await startTestServer({ adminToken: "s3cret" });
  await using admin = await connect(server, "chief");
  assert.deepEqual(await admin.command(":auth s3cret"), ["OK auth admin"]);
  await using client = new ClientProcess([
    "--port",
    String(server.addr.port),
    "--name",
    "alice",
    ...FAST_RECONNECT,
  ]);
  await client.waitFor(/Hello alice/, "stderr");
  assert.equal((await admin.command(":kick alice spamming")).at(-1), "OK kick alice");
  const result = await client.finished();
  assert.equal(result.code, EXIT.kicked);
  assert.match(result.stderr, /you were kicked from the server \(spamming\); not reconnecting/);
  assert.doesNotMatch(result.stderr, /reconnecting every/);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(server.stats().accepted, 2, "no connection attempt after the kick");
});
