/**
 * Sessions across cluster nodes (docs/cluster.md, "Sessions"): a client resumes its session on
 * another node than the one it was on — that node still running, or killed — and receives every
 * message it had not seen, once, while everyone else sees the user stay. Real `nats-server`
 * cluster with JetStream, Switchboard nodes in this process and one `server` subprocess.
 */

import assert from "node:assert/strict";
import { connect, TestClient } from "./_helpers.ts";
import { NatsCluster } from "./_nats.ts";
import {
  CLUSTER_TEST as options,
  freshClusterName,
  startNode,
  startNodeProcess,
  untilAnswer,
} from "./_cluster.ts";
import { fixedBackoff, type Server, SwitchboardClient } from "../mod.ts";

/** The reply line (`OK …` or `ERR …`) of `command`, skipping the messages that came before it. */
async function answer(client: TestClient, command: string): Promise<string> {
  return (await client.command(command)).at(-1)!;
}

/** The id of an `@<id> …` line. */
function idOf(line: string): number {
  return Number(line.slice(1, line.indexOf(" ")));
}

/** Sends `:resume` and collects the answer up to `OK resume` (or the first `ERR`). */
async function resumeOn(port: number, token: string, lastIds: number[]): Promise<string[]> {
  const client = await TestClient.open(port);
  await client.nextLine();
  await client.send(`:resume ${token} ${lastIds.join(",")}`);
  const lines: string[] = [];
  for (;;) {
    const line = await client.nextLine(10_000);
    lines.push(line);
    if (line.startsWith("OK resume") || line.startsWith("ERR")) break;
  }
  resumed.push(client);
  return lines;
}
const resumed: TestClient[] = [];

/** The replayed lines of a resume, without their ids. */
function replayed(lines: string[]): string[] {
  return lines.filter((l) => l.startsWith("@")).map((l) => l.replace(/^@\d+ /, ""));
}

Deno.test(
  "cluster resume: a session moves to another node with every message it missed, and nobody sees it leave",
  options,
  async (t) => {
    await using nats = await NatsCluster.start(3);
    const name = freshClusterName("r");
    const nodes = [
      await startNode(nats, name),
      await startNode(nats, name),
      await startNode(nats, name),
    ];
    const [n1, n2, n3] = nodes as [Server, Server, Server];
    try {
      await using alice = await connect(n1, "alice");
      await using carol = await connect(n3, "carol");
      await using frank = await connect(n2, "frank");
      await frank.command(":ids on");
      await alice.waitFor("JOIN carol");
      await alice.waitFor("JOIN frank");
      assert.equal(await answer(alice, ":group create ops"), "OK group create ops");
      await untilAnswer(frank, ":groups", "GROUP #ops 1");
      assert.equal(await answer(frank, ":group join ops"), "OK group join ops");
      await untilAnswer(carol, ":group members ops", "MEMBER #ops frank");
      assert.equal(await answer(carol, ":group join ops"), "OK group join ops");
      await untilAnswer(frank, ":group members ops", "MEMBER #ops carol");
      await untilAnswer(alice, ":list", "USER frank");

      // frank sees one message from each of two nodes; ids of nodes 1 and 3 interleave.
      await alice.send("a1");
      const a1 = await frank.waitFor("@");
      await carol.send("c1");
      const c1 = await frank.waitFor("@");
      assert.match(a1, /^@\d+ MSG alice \* :a1$/);
      assert.match(c1, /^@\d+ MSG carol \* :c1$/);
      await carol.waitFor("MSG alice * :a1");
      const token = frank.session;

      // The line breaks; a lobby line, a group line and a private message arrive meanwhile.
      const marks = [alice.received.length, carol.received.length];
      frank.conn.close();
      await new Promise((r) => setTimeout(r, 200));
      await alice.send("a2");
      assert.equal(await answer(carol, ":group send ops c2"), "OK group send ops");
      assert.equal(await answer(alice, ":pm frank p1"), "OK pm frank");
      await carol.waitFor("MSG alice * :a2");
      // The private message is relayed to node 3 as well, which keeps it for a resume there.
      await new Promise((r) => setTimeout(r, 300));

      await t.step(
        "resumed on node 3: WELCOME, the missed messages in order, OK resume",
        async () => {
          const lines = await resumeOn(n3.addr.port, token, [idOf(a1), idOf(c1)]);
          assert.match(lines[0]!, /^WELCOME frank \d+ :Welcome back frank!/);
          assert.match(lines[1]!, /^SESSION \S+$/);
          // In the order they arrived at node 3: each sender's in the order sent.
          assert.deepEqual(replayed(lines).sort(), [
            "MSG alice * :a2",
            "MSG carol #ops :c2",
            "PM alice :p1",
          ]);
          assert.equal(lines.at(-1), "OK resume 3");
        },
      );

      const moved = resumed.at(-1)!;
      await t.step("nobody saw frank leave; he is on node 3 now, in his groups", async () => {
        await untilAnswer(alice, ":list", "USER frank");
        assert.deepEqual((await alice.command(":group members ops")).sort(), [
          "MEMBER #ops alice",
          "MEMBER #ops carol",
          "MEMBER #ops frank",
          "OK group members ops 3",
        ]);
        assert.equal(await answer(alice, ":pm frank p2"), "OK pm frank");
        assert.match(await moved.waitFor("@"), /^@\d+ PM alice :p2$/);
        await carol.send("c3");
        assert.match(await moved.waitFor("@"), /^@\d+ MSG carol \* :c3$/);
        await moved.send("back");
        assert.equal(await alice.waitFor("MSG frank"), "MSG frank * :back");
        // No LEAVE or JOIN about frank reached anyone.
        for (const [i, client] of [alice, carol].entries()) {
          const since = client.received.slice(marks[i]);
          assert.ok(!since.some((l) => /^(LEAVE|JOIN|PART) frank/.test(l)), since.join("\n"));
        }
      });

      await t.step("the old token is spent; the name is held by node 3", async () => {
        const again = await resumeOn(n1.addr.port, token, [idOf(c1)]);
        assert.match(again.at(-1)!, /^ERR bad-session /);
        await using copy = await TestClient.open(n2);
        await copy.nextLine();
        await copy.send("frank");
        assert.match(await copy.nextLine(), /^ERR name-taken /);
      });

      await t.step(
        "a console line reaches each client once (relayed lines are not published again)",
        async () => {
          n1.console("hear ye");
          assert.equal(await carol.waitFor("MSG server"), "MSG server * :hear ye");
          await new Promise((r) => setTimeout(r, 500));
          assert.equal(carol.received.filter((l) => l === "MSG server * :hear ye").length, 1);
        },
      );
    } finally {
      for (const client of resumed.splice(0)) await client[Symbol.asyncDispose]();
      await Promise.all(nodes.map((s) => s.shutdown({ grace: 0.2 })));
    }
  },
);

Deno.test(
  "cluster resume: the users of a killed node resume on another one with nothing lost",
  options,
  async () => {
    await using nats = await NatsCluster.start(3);
    const name = freshClusterName("r");
    const n1 = await startNode(nats, name);
    await using n2 = await startNodeProcess(nats, name);
    try {
      await using alice = await connect(n1, "alice");
      await using zed = await connect(n2.port, "zed");
      await zed.command(":ids on");
      await alice.waitFor("JOIN zed");
      await alice.send("a1");
      const a1 = await zed.waitFor("@");
      const token = zed.session;

      n2.child.kill("SIGKILL");
      await n2.child.status;
      await alice.send("a2");
      const lines = await resumeOn(n1.addr.port, token, [idOf(a1)]);
      assert.match(lines[0]!, /^WELCOME zed /);
      const moved = resumed.at(-1)!;
      // a2 is replayed if node 1 recorded it before the resume, or delivered live after: once.
      if (lines.at(-1) === "OK resume 0") lines.push(await moved.waitFor("@"));
      else assert.equal(lines.at(-1), "OK resume 1");
      assert.deepEqual(replayed(lines), ["MSG alice * :a2"]);
      // Past the time a lost node's users leave: zed stayed.
      await new Promise((r) => setTimeout(r, 5000));
      assert.ok(!alice.received.some((l) => l.startsWith("LEAVE zed")), alice.received.join("\n"));
      assert.equal(await answer(alice, ":pm zed still there?"), "OK pm zed");
      assert.match(await moved.waitFor("@"), /^@\d+ PM alice :still there\?$/);
      assert.ok(!moved.received.some((l) => l.endsWith("MSG alice * :a1")));
    } finally {
      for (const client of resumed.splice(0)) await client[Symbol.asyncDispose]();
      await n1.shutdown({ grace: 0.2 });
    }
  },
);

Deno.test(
  "cluster resume: a client whose node is killed mid-flood moves to its fallback and reports every message once, in order",
  options,
  async () => {
    await using nats = await NatsCluster.start(3);
    const name = freshClusterName("r");
    const n1 = await startNode(nats, name);
    await using n2 = await startNodeProcess(nats, name);
    try {
      await using bob = await connect(n1, "bob");
      await using alice = await SwitchboardClient.connect({
        port: n2.port,
        fallbacks: [{ hostname: "127.0.0.1", port: n1.addr.port }],
        backoff: fixedBackoff(50),
      });
      const seen: number[] = [];
      let reconnected = 0;
      alice.on("line", ({ event }) => {
        if (event.type === "message" && event.from === "bob") seen.push(Number(event.text));
      });
      alice.on("reconnect", () => reconnected++);
      assert.ok((await alice.register("alice")).ok);
      await bob.waitFor("JOIN alice");
      const marks = bob.received.length;
      await bob.send(numbered(1, 500));
      await eventually(() => seen.length >= 100, 5000, "part of the flood arrived");
      n2.child.kill("SIGKILL");
      await bob.send(numbered(501, 500));
      await eventually(() => seen.at(-1) === 1000, 15_000, "the rest arrived after the move");
      assert.equal(reconnected, 1);
      assert.deepEqual(seen, Array.from({ length: 1000 }, (_, i) => i + 1));
      await new Promise((r) => setTimeout(r, 4500));
      const since = bob.received.slice(marks);
      assert.ok(!since.some((l) => /^(LEAVE|JOIN) alice/.test(l)), since.join("\n"));
      // On node 1 now: its connections are bob's and hers.
      assert.equal(n1.stats().connections, 2);
      const list = await bob.command(":list");
      assert.deepEqual(list.sort(), ["OK list 2", "USER alice", "USER bob"]);
    } finally {
      await n1.shutdown({ grace: 0.2 });
    }
  },
);

/** `first` … `first + count - 1`, one per line. */
function numbered(first: number, count: number): string {
  return Array.from({ length: count }, (_, i) => first + i).join("\n");
}

/** Resolves once `check` holds, polling; rejects with `what` after `ms`. */
async function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
