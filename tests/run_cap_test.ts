/**
 * The server-wide cap on `:run` programs (`maxRunning`) over real TCP: past it `:run` is answered
 * `ERR busy` at once, and a slot frees up when its program has ended — by itself, by its timeout,
 * or killed when its client left.
 */

import assert from "node:assert/strict";
import type { RemoteCommand, ServerOptions } from "../core/config/options.ts";
import { connect, LINE_TIMEOUT_MS, startTestServer, type TestClient } from "./_helpers.ts";

const unix = Deno.build.os !== "windows";

const COMMANDS: Record<string, RemoteCommand> = {
  hello: { argv: ["echo", "hello"] },
  hold: { argv: ["sh", "-c", "echo $$; exec sleep 30"], timeout: 60 },
  slow: { argv: ["sleep", "30"], timeout: 0.3 },
};

function runServer(options: ServerOptions = {}) {
  return startTestServer({ commands: COMMANDS, ...options });
}

/** A command's reply lines, skipping lobby announcements. */
async function run(client: TestClient, line: string): Promise<string[]> {
  return (await client.command(line)).filter((l) => !/^(JOIN|LEAVE) /.test(l));
}

/** Starts `:run hold` and returns once the program runs (it printed its pid). */
async function hold(client: TestClient): Promise<void> {
  await client.send(":run hold");
  await client.waitFor("STDOUT hold :");
}

/** Repeats `:run hello` while the answer is `ERR busy`, for a bounded time; returns the answer. */
async function runWhenFree(client: TestClient): Promise<string[]> {
  const deadline = Date.now() + LINE_TIMEOUT_MS;
  for (;;) {
    const lines = await run(client, ":run hello");
    if (!lines[0]?.startsWith("ERR busy ") || Date.now() > deadline) return lines;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const BUSY = (limit: number) =>
  `ERR busy :too many commands running on the server (limit ${limit}); try again later`;

Deno.test({
  name: "run cap: past --max-running :run is ERR busy; a slot frees when a client leaves",
  ignore: !unix,
  async fn() {
    await using server = await runServer({ maxRunning: 2 });
    await using carol = await connect(server, "carol");
    {
      await using alice = await connect(server, "alice");
      await using bob = await connect(server, "bob");
      await hold(alice);
      await hold(bob);
      // Refused at once, not queued: the connection goes on with its next line.
      assert.deepEqual(await run(carol, ":run hello"), [BUSY(2)]);
      assert.deepEqual(await run(carol, ":ping"), ["OK ping"]);
      // The cap is server-wide: the same client may not go past it either.
      assert.deepEqual(await run(carol, ":run hold"), [BUSY(2)]);
    }
    // alice and bob left: their programs are killed, and the slots come back once they ended.
    assert.deepEqual(await runWhenFree(carol), ["STDOUT hello :hello", "OK run hello 0"]);
    await using dave = await connect(server, "dave");
    await hold(carol);
    await hold(dave);
    await using erin = await connect(server, "erin");
    assert.deepEqual(await run(erin, ":run hello"), [BUSY(2)]);
  },
});

Deno.test({
  name: "run cap: a program that ends, or is killed at its timeout, gives its slot back",
  ignore: !unix,
  async fn() {
    await using server = await runServer({ maxRunning: 1 });
    await using alice = await connect(server, "alice");
    await using bob = await connect(server, "bob");
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await run(alice, ":run hello"), ["STDOUT hello :hello", "OK run hello 0"]);
    }
    assert.deepEqual(await run(alice, ":run slow"), [
      "ERR timeout :slow ran longer than 0.3 s and was killed",
    ]);
    assert.deepEqual(await run(bob, ":run hello"), ["STDOUT hello :hello", "OK run hello 0"]);
    // A refused :run takes no slot.
    await hold(alice);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await run(bob, ":run hello"), [BUSY(1)]);
    }
  },
});

Deno.test({
  name: "run cap: --max-running 0 means no limit",
  ignore: !unix,
  async fn() {
    await using server = await runServer({ maxRunning: 0 });
    const clients = await Promise.all(["a", "b", "c", "d", "e"].map((n) => connect(server, n)));
    try {
      for (const client of clients) await hold(client);
    } finally {
      for (const client of clients) await client[Symbol.asyncDispose]();
    }
  },
});
