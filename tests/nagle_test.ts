/**
 * Nagle's algorithm: the server turns it off (`TCP_NODELAY`) once a connection is past its
 * greeting and registration, at the first line pushed to it after those. A session that only
 * registers and quits never pays the system call; one that stays in the chat does, once, before
 * lines start to follow each other.
 */

import assert from "node:assert/strict";
import { listenTcp, startServer, type StreamListener } from "../mod.ts";
import { wrapAccepted } from "./_stream_listener.ts";
import { connect, eventually, TestClient } from "./_helpers.ts";

/** A real TCP listener that counts, per client port, the server's `setNoDelay(true)` calls. */
function counting(inner: StreamListener, calls: Map<number, number>): StreamListener {
  return wrapAccepted(inner, (stream) => ({
    setNoDelay(noDelay: boolean) {
      assert.equal(noDelay, true);
      const port = stream.remoteAddr.port;
      calls.set(port, (calls.get(port) ?? 0) + 1);
      stream.setNoDelay?.(noDelay);
    },
  }));
}

Deno.test("nagle: a session that registers and quits never turns Nagle off", async () => {
  const calls = new Map<number, number>();
  await using server = await startServer({ port: 0 }, counting(listenTcp("127.0.0.1", 0), calls));
  await using brief = await connect(server, "brief");
  const port = brief.conn.localAddr.port;
  await brief.send(":quit");
  await brief.waitFor("BYE quit");
  await eventually(() => server.stats().online === 0, undefined, "brief to leave");
  assert.equal(calls.get(port), undefined);
});

Deno.test("nagle: the first line pushed after registration turns it off, once", async () => {
  const calls = new Map<number, number>();
  await using server = await startServer({ port: 0 }, counting(listenTcp("127.0.0.1", 0), calls));
  await using alice = await connect(server, "alice");
  const alicePort = alice.conn.localAddr.port;
  assert.equal(calls.get(alicePort), undefined, "greeting and WELCOME go out with Nagle on");
  await using bob = await connect(server, "bob");
  await alice.waitFor("JOIN bob");
  assert.equal(calls.get(alicePort), 1, "bob's JOIN is the first line pushed to alice");
  const bobPort = bob.conn.localAddr.port;
  assert.equal(calls.get(bobPort), undefined);
  await bob.send("hello");
  await alice.waitFor("MSG bob * :hello");
  await alice.send("hi bob");
  await bob.waitFor("MSG alice * :hi bob");
  await alice.send("and again");
  await bob.waitFor("MSG alice * :and again");
  assert.equal(calls.get(bobPort), 1);
  assert.equal(calls.get(alicePort), 1, "once per connection");
});

Deno.test("nagle: a client that is not registered yet gets its replies with Nagle on", async () => {
  const calls = new Map<number, number>();
  await using server = await startServer({ port: 0 }, counting(listenTcp("127.0.0.1", 0), calls));
  await using early = await TestClient.open(server);
  await early.waitFor("HELLO ");
  await early.send("bad name!");
  await early.waitFor("ERR bad-name");
  await early.send("early");
  await early.waitFor("WELCOME early ");
  // HELLO, the ERR and the WELCOME are three replies: the WELCOME is the third write.
  assert.equal(calls.get(early.conn.localAddr.port), 1);
});
