/**
 * Cluster operations (docs/cluster.md, issue 18) over a real 3-node `nats-server` cluster and real
 * TCP: the outbox and `NACK … cluster-unavailable` while the bus is away, offline private messages
 * taken from every node at `:login`, `:shutdown node <slot>`, and rosters sent in chunks. Skipped
 * when `nats-server` is missing, except in CI (CI=true), where that is a failure.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { connect, TestClient } from "./_helpers.ts";
import { NatsCluster } from "./_nats.ts";
import {
  CLUSTER_ADMIN_TOKEN as TOKEN,
  CLUSTER_TEST as options,
  freshClusterName,
  startNode,
  startNodes,
  stopAll,
  untilAnswer,
} from "./_cluster.ts";
import { writeAccountsFile } from "../core/config/accounts_file.ts";
import { hashPassword } from "../core/util/password_hash.ts";
import type { Server } from "../mod.ts";

/** The next `ACK`/`NACK` line, skipping others (`LEAVE … node-lost`, server notices). */
async function nextAck(client: TestClient): Promise<string> {
  for (;;) {
    const line = await client.nextLine(10_000);
    if (line.startsWith("ACK ") || line.startsWith("NACK ")) return line;
  }
}

Deno.test(
  "cluster: with the bus away, lobby lines wait in a bounded outbox (ACK), the rest get NACK cluster-unavailable, and the held ones arrive in order",
  options,
  async () => {
    await using nats = await NatsCluster.start(3);
    // Room for a few batches of about 60 bytes (subject, header and one MSG line).
    const [n1, n2] = await startNodes(nats, 2, { clusterOutboxBytes: 400 });
    try {
      await using alice = await connect(n1!, "alice");
      await using bob = await connect(n2!, "bob");
      await alice.waitFor("JOIN bob");
      assert.deepEqual(await alice.command(":ack on"), ["OK ack on"]);

      await Promise.all([0, 1, 2].map((i) => nats.kill(i)));
      assert.match(await alice.waitFor("MSG server", 10_000), /^MSG server \* :cluster link lost/);
      const acked: string[] = [];
      let nack = "";
      for (let i = 1; i <= 20 && nack === ""; i++) {
        await alice.send(`held ${i}`);
        const answer = await nextAck(alice);
        if (answer === `ACK ${i}`) acked.push(`held ${i}`);
        else nack = answer;
      }
      assert.ok(acked.length >= 2, `some lines fit the outbox: ${acked.length}`);
      assert.match(nack, new RegExp(`^NACK ${acked.length + 1} cluster-unavailable :`));
      // Once full, the outbox stays closed until the link is back: no gaps in what it holds.
      await alice.send("after the first drop");
      assert.match(await nextAck(alice), /^NACK \d+ cluster-unavailable /);
      assert.ok((await alice.command(`:auth ${TOKEN}`)).includes("OK auth admin"));
      assert.ok((await alice.command(":stats")).some((l) => /^STAT node\.\d+\.dropped 2$/.test(l)));

      await Promise.all([0, 1, 2].map((i) => nats.restart(i)));
      assert.equal(await alice.waitFor("MSG server", 30_000), "MSG server * :cluster link back");
      for (const line of acked) {
        assert.equal(await bob.waitFor("MSG alice", 30_000), `MSG alice * :${line}`);
      }
      await alice.send("live again");
      assert.equal(await nextAck(alice), `ACK ${acked.length + 3}`);
      assert.equal(await bob.waitFor("MSG alice", 10_000), "MSG alice * :live again");
      await untilAnswer(alice, ":list", "USER bob");
    } finally {
      await stopAll([n1!, n2!]);
    }
  },
);

const BOB_PASSWORD = "correct horse battery";

/** An accounts file with `bob` in a temp folder, shared by every node. */
async function accountsFile(): Promise<{ path: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-cluster-accounts-" });
  const path = join(dir, "accounts.json");
  await writeAccountsFile(path, {
    users: { bob: { password: await hashPassword(BOB_PASSWORD, { N: 1024 }) } },
  });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** Opens a connection and reads its `HELLO`, without a name. */
async function open(server: Server): Promise<TestClient> {
  const client = await TestClient.open(server);
  assert.match(await client.nextLine(), /^HELLO /);
  return client;
}

Deno.test(
  "cluster: a :pm to an offline account holder, kept on any node, is handed over at the login on another node, oldest first",
  options,
  async () => {
    await using nats = await NatsCluster.start(3);
    await using accounts = await accountsFile();
    const [n1, n2, n3] = await startNodes(nats, 3, { accounts: accounts.path });
    try {
      await using alice = await connect(n1!, "alice");
      await using dave = await connect(n2!, "dave");
      await using carol = await connect(n3!, "carol");
      await alice.waitFor("JOIN carol");
      await dave.waitFor("JOIN carol");
      const pause = () => new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(await alice.command(":pm bob one, from node 1"), ["OK pm bob stored"]);
      await pause();
      assert.deepEqual(await dave.command(":pm bob two, from node 2"), ["OK pm bob stored"]);
      await pause();
      assert.deepEqual(await carol.command(":pm bob three, from node 3"), ["OK pm bob stored"]);
      await pause();
      assert.deepEqual(await alice.command(":pm bob four, from node 1"), ["OK pm bob stored"]);

      await using bob = await open(n2!);
      const reply = await bob.command(`:login bob ${BOB_PASSWORD}`);
      assert.match(reply[0] ?? "", /^WELCOME bob /);
      assert.deepEqual(reply.slice(1), [
        "PM alice :one, from node 1",
        "PM dave :two, from node 2",
        "PM carol :three, from node 3",
        "PM alice :four, from node 1",
        "OK login bob",
      ]);
      // Handed over means deleted everywhere: the next login, on another node, gets none.
      await bob.send(":quit");
      await bob.closed();
      await carol.waitFor("LEAVE bob");
      await using again = await open(n3!);
      const second = await again.command(`:login bob ${BOB_PASSWORD}`);
      assert.equal(second.length, 2, second.join(" | "));
      assert.equal(second[1], "OK login bob");
    } finally {
      await stopAll([n1!, n2!, n3!]);
    }
  },
);

Deno.test(
  "cluster: an admin stops another node by its slot (:shutdown node <slot>): its clients get BYE, the others see them leave",
  options,
  async () => {
    await using nats = await NatsCluster.start(3);
    const [n1, n2] = await startNodes(nats, 2);
    try {
      await using alice = await connect(n1!, "alice");
      await using bob = await connect(n2!, "bob");
      await alice.waitFor("JOIN bob");
      assert.ok((await alice.command(`:auth ${TOKEN}`)).includes("OK auth admin"));
      // Node 2's slot, as an admin finds it: the node with two users.
      await using bea = await connect(n2!, "bea");
      await alice.waitFor("JOIN bea");
      const stats = await alice.command(":stats");
      const slot = stats.map((l) => /^STAT node\.(\d+)\.users 2$/.exec(l)?.[1]).find(Boolean);
      assert.ok(slot !== undefined, stats.join(" | "));

      assert.deepEqual(await alice.command(":shutdown node 4000"), [
        "ERR no-such-node :no node holds slot 4000",
      ]);
      assert.deepEqual(await alice.command(`:shutdown node ${slot} 0.2 maintenance`), [
        `OK shutdown node ${slot}`,
      ]);
      assert.match(await bob.waitFor("BYE ", 10_000), /^BYE \S+ :maintenance/);
      await bob.closed(10_000);
      await bea.closed(10_000);
      assert.match(await alice.waitFor("LEAVE b", 10_000), /^LEAVE (bob|bea) /);
      assert.match(await alice.waitFor("LEAVE b", 10_000), /^LEAVE (bob|bea) /);
      await n2!.finished;
      // Node 1 goes on.
      assert.equal((await alice.command(":list")).at(-1), "OK list 1");
    } finally {
      await stopAll([n1!, n2!]);
    }
  },
);

Deno.test(
  "cluster: a roster of several chunks is applied whole on a node that joins later",
  options,
  async () => {
    await using nats = await NatsCluster.start(3);
    const clusterName = freshClusterName("r");
    // Two users per roster message: node 1's seven users take four.
    const small = { clusterRosterChunk: 2 };
    const n1 = await startNode(nats, clusterName, small);
    let n2: Server | undefined;
    const clients: TestClient[] = [];
    try {
      const names = ["ann", "ben", "cat", "dan", "eve", "fay", "gus"];
      for (const name of names) clients.push(await connect(n1, name));
      await clients[0]!.send(":group create crew");
      await clients[0]!.waitFor("OK group");
      n2 = await startNode(nats, clusterName, small);
      await using zoe = await connect(n2, "zoe");
      const list = await untilAnswer(zoe, ":list", "OK list 8");
      assert.deepEqual(
        list.filter((l) => l.startsWith("USER ")).sort(),
        [...names, "zoe"].map((n) => `USER ${n}`).sort(),
      );
      assert.ok((await zoe.command(":groups")).some((l) => l === "GROUP #crew 1"));
    } finally {
      for (const client of clients) await client[Symbol.asyncDispose]();
      await stopAll(n2 === undefined ? [n1] : [n1, n2]);
    }
  },
);
