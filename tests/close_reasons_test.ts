/**
 * A connection that breaks is not a client that quit: a failed read closes it as `read-error`,
 * a failed write as `write-error`. Both reach the lobby in `LEAVE`, the stats and the events,
 * and are logged as warnings (errors.log).
 */

import assert from "node:assert/strict";
import { listenTcp, startServer, type StreamListener } from "../mod.ts";
import { wrapAccepted } from "./_stream_listener.ts";
import type { DisconnectReason } from "../core/protocol/errors.ts";
import { connect, eventually, type TestClient, text } from "./_helpers.ts";
import { withLogFolder } from "./_logs.ts";

/**
 * Alice and bob in a room whose streams fail on demand; `breaks(alice)` makes alice's stream
 * fail as `fault` says, `trigger(alice, bob)` makes the server read from or write to it. Returns
 * the line bob saw about alice, the disconnect reasons, the stats and errors.log.
 */
async function breakAlice(
  fault: "reads" | "writes",
  trigger: (alice: TestClient, bob: TestClient) => Promise<void>,
) {
  let leave = "";
  let reasons: DisconnectReason[] = [];
  let closedBeforeShutdown: DisconnectReason[] = [];
  let disconnects: Record<DisconnectReason, number> | undefined;
  const logs = await withLogFolder({}, async () => {
    const faults = { reads: new Set<string>(), writes: new Set<string>() };
    await using server = await startServer({ port: 0 }, faulty(listenTcp("127.0.0.1", 0), faults));
    server.on("disconnect", ({ reason }) => reasons = [...reasons, reason]);
    await using alice = await connect(server, "alice");
    await using bob = await connect(server, "bob");
    await alice.waitFor("JOIN bob");
    faults[fault].add(addressOf(alice.conn));
    await trigger(alice, bob);
    leave = await bob.waitFor("LEAVE alice");
    await eventually(() => reasons.length === 1, undefined, "the disconnect event");
    disconnects = server.stats().disconnects;
    closedBeforeShutdown = reasons;
  });
  return {
    leave,
    reasons: closedBeforeShutdown,
    disconnects,
    errors: text(logs.get("errors.log") ?? new Uint8Array()),
  };
}

Deno.test("a read that fails closes the connection as read-error: LEAVE, stats, errors.log", async () => {
  // Deno reports a TCP reset as the end of the stream (a client that left: `quit`); reads fail
  // on transports that can fail, such as TLS on a corrupt record. A failing stream stands in.
  const broken = await breakAlice("reads", (alice) => alice.send("this read fails"));
  assert.equal(broken.leave, "LEAVE alice read-error");
  assert.deepEqual(broken.reasons, ["read-error"]);
  assert.equal(broken.disconnects?.["read-error"], 1);
  assert.equal(broken.disconnects?.quit, 0);
  assert.match(
    broken.errors,
    /\[WRN\] switchboard\.conn: disconnected \S+ alice: read-error \(connection reset by peer\)/,
  );
});

Deno.test("a write that fails closes the connection as write-error: LEAVE, stats, errors.log", async () => {
  // Every write to alice's socket fails, as on a broken pipe: bob's message is one.
  const broken = await breakAlice("writes", (_alice, bob) => bob.send("hello"));
  assert.equal(broken.leave, "LEAVE alice write-error");
  assert.deepEqual(broken.reasons, ["write-error"]);
  assert.equal(broken.disconnects?.["write-error"], 1);
  assert.equal(broken.disconnects?.quit, 0);
  assert.match(
    broken.errors,
    /\[WRN\] switchboard\.conn: disconnected \S+ alice: write-error \(the connection broke\)/,
  );
});

/** The address the server sees for a test client's socket. */
function addressOf(conn: Deno.TcpConn | Deno.TlsConn): string {
  return `127.0.0.1:${conn.localAddr.port}`;
}

/**
 * A real TCP listener whose accepted streams fail, once their peer's address is listed, every
 * read (as on a reset) or every write (as on a broken pipe): with the transport seam a failing
 * socket is one small wrapper.
 */
function faulty(
  inner: StreamListener,
  faults: { reads: Set<string>; writes: Set<string> },
): StreamListener {
  return wrapAccepted(inner, (stream) => {
    const peer = `${stream.remoteAddr.hostname}:${stream.remoteAddr.port}`;
    return {
      read: async (buffer) => {
        const count = await stream.read(buffer);
        if (faults.reads.has(peer)) throw new Deno.errors.ConnectionReset("reset");
        return count;
      },
      write: (bytes) =>
        faults.writes.has(peer)
          ? Promise.reject(new Deno.errors.BrokenPipe("broken pipe"))
          : stream.write(bytes),
    };
  });
}
