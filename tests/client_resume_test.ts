/**
 * Issue 16, the client's side of resume: a library client whose connection breaks while messages
 * flow resumes its session and reports every message exactly once, in order; a server restart is
 * not a resume (sessions live in the server's memory), so the client registers again.
 */

import assert from "node:assert/strict";
import { SwitchboardClient } from "../core/client/client.ts";
import { dialTcp } from "../core/net/tcp.ts";
import type { ByteStream } from "../core/net/stream.ts";
import { connect, eventually, startTestServer } from "./_helpers.ts";
import { fixedBackoff } from "../core/client/backoff.ts";

/** A dialer that remembers its streams, so that a test can break the current one. */
function breakableDial(port: number) {
  const streams: ByteStream[] = [];
  return {
    dial: async (signal: AbortSignal) => {
      const stream = await dialTcp("127.0.0.1", port, signal);
      streams.push(stream);
      return stream;
    },
    /** Closes the client's end of the current connection, unannounced: a broken line. */
    breakLine() {
      streams.at(-1)?.close();
    },
    get count() {
      return streams.length;
    },
  };
}

/** `count` numbered lines from `first` on, as one write. */
function numbered(first: number, count: number): string {
  return Array.from({ length: count }, (_, i) => `${first + i}`).join("\n");
}

Deno.test("client: a connection broken mid-flood is resumed; every message is reported once, in order", async () => {
  await using server = await startTestServer({ resumeGrace: 10 });
  await using observer = await connect(server, "observer");
  const line = breakableDial(server.addr.port);
  await using alice = await SwitchboardClient.connect({
    port: server.addr.port,
    dial: line.dial,
    backoff: fixedBackoff(50),
  });
  const seen: number[] = [];
  alice.on("line", ({ event }) => {
    if (event.type === "message" && event.from === "bob") seen.push(Number(event.text));
  });
  assert.ok((await alice.register("alice")).ok);
  assert.equal(await observer.nextLine(), "JOIN alice");
  assert.deepEqual((await alice.request(":group create ops")).final?.line, "OK group create ops");
  await using bob = await connect(server, "bob");
  await bob.send(numbered(1, 2000));
  await eventually(() => seen.length >= 200, 5000, "part of the flood arrived");
  line.breakLine();
  await bob.send(numbered(2001, 1000));
  await eventually(() => seen.at(-1) === 3000, 10_000, "the rest arrived after the resume");
  assert.equal(line.count, 2, "one reconnect");
  assert.deepEqual(seen, Array.from({ length: 3000 }, (_, i) => i + 1));
  // Nobody saw alice leave, and her group is still hers.
  assert.deepEqual(
    observer.buffered.filter((l) => / alice\b/.test(l)),
    [],
    "no LEAVE or JOIN for alice",
  );
  assert.deepEqual(server.console(":group members ops"), [
    "MEMBER #ops alice",
    "OK group members ops 1",
  ]);
});

Deno.test("client: after a server restart there is no session to resume, so it registers again", async () => {
  const first = await startTestServer({ resumeGrace: 10 });
  const port = first.addr.port;
  await using alice = await SwitchboardClient.connect({
    port,
    backoff: fixedBackoff(50),
    reconnectTimeout: 10,
  });
  assert.ok((await alice.register("alice")).ok);
  await alice.request(":group create ops");
  await first.shutdown({ reason: "restarting" });
  await using second = await startTestServer({ port, resumeGrace: 10 });
  await eventually(() => second.stats().online === 1, 10_000, "alice back");
  // Registered first, then the group joined again: the second comes a round trip later.
  await eventually(() => second.stats().groups === 1, 10_000, "#ops back");
  assert.deepEqual(second.console(":group members ops"), [
    "MEMBER #ops alice",
    "OK group members ops 1",
  ]);
  await using bob = await connect(second, "bob");
  const heard = new Promise<string>((resolve) =>
    alice.on("line", ({ event }) => event.type === "message" && resolve(event.text))
  );
  await bob.send("welcome back");
  assert.equal(await heard, "welcome back");
});
