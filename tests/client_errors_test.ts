import assert from "node:assert/strict";
import { connect, startTestServer } from "./_helpers.ts";
import { runClient } from "./client_harness.ts";
import { EXIT } from "../cli/_exit_codes.ts";
import { classifyConnectError, refusalError } from "../core/client/errors.ts";
import { parseServerLine } from "../core/protocol/server_line.ts";

Deno.test("nothing listening: 'connection refused', exit 3", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await runClient(["--port", String(port), "--name", "alice", "--send", "hi"]);
  assert.equal(result.code, EXIT.refused);
  assert.match(
    result.stderr,
    new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}: connection refused`),
  );
});

Deno.test("a listener that never greets: 'connection timed out' after --connect-timeout, exit 5", async () => {
  // The kernel completes the handshake from the backlog; nobody ever sends HELLO.
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const result = await runClient([
    "--port",
    String(listener.addr.port),
    "--connect-timeout",
    "0.3",
    "--name",
    "a",
  ]);
  // The message names the limit that fired: 0.3 s as configured, not the default of 5 s. A client
  // that never gave up would be killed by the harness instead, and not exit with code 5.
  assert.equal(result.code, EXIT.timeout);
  assert.match(result.stderr, /connection timed out \(no answer within 0\.3 s\)/);
});

Deno.test("an address the server's access list denies: 'access denied', exit 6", async () => {
  await using server = await startTestServer({ access: { deny: ["127.0.0.1/32"] } });
  const result = await runClient(["--port", String(server.addr.port), "--name", "alice"]);
  assert.equal(result.code, EXIT.accessDenied);
  assert.match(
    result.stderr,
    /refused this client: access denied \(your address is not allowed to connect\)/,
  );
});

Deno.test("a full server: 'server full', exit 7", async () => {
  await using server = await startTestServer({ maxClients: 1 });
  await using _alice = await connect(server, "alice");
  const result = await runClient(["--port", String(server.addr.port), "--name", "bob"]);
  assert.equal(result.code, EXIT.serverFull);
  assert.match(
    result.stderr,
    /cannot join 127\.0\.0\.1:\d+: server full \(the server is full \(1 connections\)/,
  );
});

Deno.test("something that is not a Switchboard server: exit 1 naming what it said", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    using conn = await listener.accept();
    await conn.write(new TextEncoder().encode("SSH-2.0-OpenSSH_9.6\r\n"));
    await conn.read(new Uint8Array(64)).catch(() => null);
  })();
  const result = await runClient(["--port", String(listener.addr.port), "--name", "alice"]);
  await serving;
  assert.equal(result.code, EXIT.failure);
  assert.match(
    result.stderr,
    /did not greet like a Switchboard server \(got "SSH-2\.0-OpenSSH_9\.6"\)/,
  );
});

Deno.test("connection errors are classified by case (unreachable needs no network to test)", () => {
  const where = "192.0.2.1:12345";
  const cases: [unknown, string, RegExp][] = [
    [
      new Deno.errors.ConnectionRefused("Connection refused (os error 111)"),
      "refused",
      /connection refused/,
    ],
    [
      new Deno.errors.NetworkUnreachable("Network is unreachable (os error 101)"),
      "unreachable",
      /host unreachable/,
    ],
    [
      Object.assign(new Error("No route to host (os error 113)"), { name: "HostUnreachable" }),
      "unreachable",
      /host unreachable/,
    ],
    [
      new Error("failed to lookup address information: Name or service not known"),
      "unreachable",
      /host not found/,
    ],
    [
      new Deno.errors.TimedOut("Connection timed out (os error 110)"),
      "timeout",
      /connection timed out/,
    ],
    [new DOMException("Signal timed out.", "TimeoutError"), "timeout", /no answer within 5 s/],
    [
      new Deno.errors.ConnectionReset("Connection reset by peer (os error 104)"),
      "closed",
      /reset the connection before greeting/,
    ],
  ];
  for (const [error, code, message] of cases) {
    const classified = classifyConnectError(error, where, 5000);
    assert.equal(classified?.code, code, String(error));
    assert.match(classified?.message ?? "", message);
    assert.equal(classified?.address, where);
  }
  assert.equal(
    classifyConnectError(new Deno.errors.NotCapable("net access"), where, 5000),
    undefined,
  );
  const refusals: [string, string][] = [
    ["ERR refused :your address is not allowed to connect", "access-denied"],
    ["ERR server-full :the server is full", "server-full"],
    ["ERR too-many-connections :at most 2 connections per address", "server-full"],
    ["ERR shutting-down :the server is shutting down", "shutting-down"],
  ];
  for (const [line, code] of refusals) {
    const event = parseServerLine(line);
    assert.equal(event.type, "error");
    if (event.type === "error") assert.equal(refusalError(event, where).code, code);
  }
});
