/**
 * Message history (issue 16): lobby and group messages kept in SQLite, `:history` with paging
 * and members-only groups, ids that continue across restarts, retention by count and age,
 * acknowledged messages that survive a SIGKILL, the offline private messages API, and the
 * `--history` setting of the `server` program.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { connect, startTestServer, type TestClient } from "./_helpers.ts";
import { runProgram, ServerProcess } from "./_programs.ts";
import { HistoryStore } from "../core/server/history/store.ts";
import { parseHistoryArgs } from "../core/server/commands/_history.ts";
import type { ServerOptions } from "../core/config/options.ts";
import { loadServerConfig, PROGRAM_DEFAULTS, SERVER_USAGE } from "../core/config/config_file.ts";

const encoder = new TextEncoder();
const ISO_UTC_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** A server with its history in a fresh temporary folder. */
async function historyServer(dir: string, options: ServerOptions = {}) {
  return await startTestServer({ history: join(dir, "history.db"), ...options });
}

/** The `HISTORY` lines of a `:history` reply, split into their fields, and its `OK` line. */
async function history(client: TestClient, args = "") {
  const reply = await client.command(`:history${args === "" ? "" : " " + args}`);
  const done = reply.pop() as string;
  const rows = reply.filter((line) => line.startsWith("HISTORY ")).map((line) => {
    const [, id, time, from, target] = line.split(" ");
    return { id: Number(id), time, from, target, text: line.slice(line.indexOf(" :") + 2) };
  });
  return { rows, done };
}

Deno.test("history: lobby messages come back from :history oldest first, with ISO 8601 UTC times", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using server = await historyServer(dir);
    await using alice = await connect(server, "alice");
    for (const text of ["one", "two", "three"]) await alice.send(text);
    const { rows, done } = await history(alice);
    assert.equal(done, "OK history 3");
    assert.deepEqual(rows.map((r) => [r.from, r.target, r.text]), [
      ["alice", "*", "one"],
      ["alice", "*", "two"],
      ["alice", "*", "three"],
    ]);
    assert.ok(rows.every((r) => ISO_UTC_MS.test(r.time ?? "")), JSON.stringify(rows));
    assert.ok(rows[0]!.id < rows[1]!.id && rows[1]!.id < rows[2]!.id);
    assert.deepEqual((await history(alice, "* 2")).rows.map((r) => r.text), ["two", "three"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: survives a restart, and new ids continue after the stored ones", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let lastId: number;
    {
      await using server = await historyServer(dir);
      await using alice = await connect(server, "alice");
      await alice.send("before the restart");
      await alice.command(":pm alice to myself");
      lastId = (await history(alice)).rows.at(-1)!.id;
    }
    await using server = await historyServer(dir);
    await using bob = await connect(server, "bob");
    await bob.send("after the restart");
    const { rows } = await history(bob);
    assert.deepEqual(rows.map((r) => [r.from, r.text]), [
      ["alice", "before the restart"],
      ["bob", "after the restart"],
    ]);
    // The private message used the next id: it is not reused either.
    assert.ok(rows[1]!.id > lastId + 1, `${rows[1]!.id} after ${lastId}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: paging with before <id> walks back without gaps or repeats", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using server = await historyServer(dir);
    await using alice = await connect(server, "alice");
    let burst = "";
    for (let i = 1; i <= 25; i++) burst += `line ${i}\n`;
    await alice.sendRaw(encoder.encode(burst));
    await alice.command(":ping");
    const seen: string[] = [];
    let page = await history(alice, "* 10");
    while (page.rows.length > 0) {
      seen.unshift(...page.rows.map((r) => r.text));
      page = await history(alice, `10 before ${page.rows[0]!.id}`);
    }
    assert.equal(page.done, "OK history 0");
    assert.deepEqual(seen, Array.from({ length: 25 }, (_, i) => `line ${i + 1}`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: a group's history is for its members only, and stays out of the lobby's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using server = await historyServer(dir);
    await using alice = await connect(server, "alice");
    await using bob = await connect(server, "bob");
    await alice.command(":group create ops");
    await alice.command(":group send ops deploy at noon");
    await alice.send("hello lobby");
    const members = await history(alice, "#ops");
    assert.deepEqual(members.rows.map((r) => [r.from, r.target, r.text]), [
      ["alice", "#ops", "deploy at noon"],
    ]);
    assert.match(
      (await bob.command(":history #ops")).at(-1)!,
      /^ERR not-allowed :only members of #ops/,
    );
    assert.match((await bob.command(":history #nosuch")).at(-1)!, /^ERR not-allowed /);
    assert.deepEqual((await history(bob)).rows.map((r) => r.text), ["hello lobby"]);
    await bob.command(":group join ops");
    assert.deepEqual((await history(bob, "#ops")).rows.map((r) => r.text), ["deploy at noon"]);
    // Group names match without regard to case, as everywhere else.
    assert.deepEqual((await history(bob, "#OPS")).rows.map((r) => r.text), ["deploy at noon"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: keeps at most historyMaxMessages, the newest", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using server = await historyServer(dir, { historyMaxMessages: 5 });
    await using alice = await connect(server, "alice");
    for (let i = 1; i <= 8; i++) await alice.send(`m${i}`);
    const { rows } = await history(alice);
    assert.deepEqual(rows.map((r) => r.text), ["m4", "m5", "m6", "m7", "m8"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: messages older than historyDays are deleted in the background", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let skew = 0;
    await using server = await historyServer(dir, {
      historyDays: 1,
      historyNow: () => Date.now() + skew,
      historyRetentionInterval: 0.02,
    });
    await using alice = await connect(server, "alice");
    await alice.send("old news");
    const { rows } = await history(alice);
    assert.equal(rows.length, 1);
    skew = 2 * 24 * 3600 * 1000;
    const deadline = Date.now() + 5000;
    while ((await history(alice)).rows.length > 0) {
      assert.ok(Date.now() < deadline, "the old message was not deleted");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await alice[Symbol.asyncDispose]();
    await server.shutdown();
    // With every message gone, ids still continue after the last one used.
    await using again = await historyServer(dir);
    await using bob = await connect(again, "bob");
    await bob.send("new news");
    assert.ok((await history(bob)).rows[0]!.id > rows[0]!.id);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: off answers ERR disabled; bad arguments get the usage", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  assert.match((await alice.command(":history")).at(-1)!, /^ERR disabled :/);
  const dir = await Deno.makeTempDir();
  try {
    await using on = await historyServer(dir);
    await using bob = await connect(on, "bob");
    for (const bad of ["0", "ten", "* 5 before", "* 5 before x", "#", "* 5 extra"]) {
      assert.match(
        (await bob.command(`:history ${bad}`)).at(-1)!,
        /^ERR bad-args :usage: :history/,
        bad,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: :history arguments, table-driven", () => {
  const cases: [string, ReturnType<typeof parseHistoryArgs>][] = [
    ["", { target: "*", limit: 50, before: undefined }],
    ["*", { target: "*", limit: 50, before: undefined }],
    ["20", { target: "*", limit: 20, before: undefined }],
    ["#ops 5 before 99", { target: "ops", limit: 5, before: 99 }],
    ["before 7", { target: "*", limit: 50, before: 7 }],
    ["* 5000", { target: "*", limit: 1000, before: undefined }],
    ["ops", undefined],
    ["* 0", undefined],
  ];
  for (const [args, want] of cases) assert.deepEqual(parseHistoryArgs(args), want, args);
});

Deno.test("history: 1000 lines go out paced, all of them, to a client that reads slowly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using server = await historyServer(dir, { maxQueueBytes: 64 * 1024 });
    await using alice = await connect(server, "alice");
    const text = "x".repeat(200);
    let burst = "";
    for (let i = 0; i < 1200; i++) burst += `${text}\n`;
    await alice.sendRaw(encoder.encode(burst));
    await alice.command(":ping");
    const { rows, done } = await history(alice, "* 1000");
    assert.equal(done, "OK history 1000");
    assert.equal(rows.length, 1000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: killed with SIGKILL mid-flood, the file is intact and holds every ACKed message", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "history.db");
  try {
    const server = await ServerProcess.start(["--port", "0", "--no-console", "--history", file], {
      env: { SWITCHBOARD_LOG_DIR: join(dir, "logs") },
    });
    let acked = 0;
    try {
      await using alice = await connect(server.port, "alice");
      assert.deepEqual(await alice.command(":ack on"), ["OK ack on"]);
      // Keeps sending until well after the kill; counts the ACKs that arrived before it.
      const sending = (async () => {
        for (let i = 1; i <= 200; i++) {
          let burst = "";
          for (let j = 0; j < 100; j++) burst += `flood ${(i - 1) * 100 + j + 1}\n`;
          await alice.sendRaw(encoder.encode(burst)).catch(() => {});
        }
      })();
      for (;;) {
        const line = await alice.nextLine();
        if (line.startsWith("ACK ")) acked = Number(line.slice(4));
        if (acked >= 3000) break;
      }
      server.kill("SIGKILL");
      // ACKs already on the way were sent before the kill: they count too.
      for (;;) {
        let line: string;
        try {
          line = await alice.nextLine(2000);
        } catch {
          break;
        }
        if (line.startsWith("ACK ")) acked = Number(line.slice(4));
      }
      await sending;
    } finally {
      try {
        server.kill("SIGKILL");
      } catch {
        // Killed already.
      }
      await server.finished();
    }
    const db = new DatabaseSync(file);
    try {
      const check = db.prepare("PRAGMA integrity_check").get() as Record<string, unknown>;
      assert.equal(Object.values(check)[0], "ok");
      const texts = db.prepare("SELECT text FROM messages ORDER BY id").all()
        .map((row) => (row as { text: string }).text);
      assert.ok(texts.length >= acked, `${texts.length} stored, ${acked} acknowledged`);
      for (let i = 0; i < acked; i++) assert.equal(texts[i], `flood ${i + 1}`);
    } finally {
      db.close();
    }
    // And the server starts again on it.
    await using again = await ServerProcess.start([
      "--port",
      "0",
      "--no-console",
      "--history",
      file,
    ], {
      env: { SWITCHBOARD_LOG_DIR: "" },
    });
    await using bob = await connect(again.port, "bob");
    const { rows } = await history(bob, "* 1");
    assert.equal(rows.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: offline private messages are kept per recipient, bounded, and taken once", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "history.db");
  try {
    {
      using store = HistoryStore.open(file, {
        limits: () => ({ maxMessages: 0, days: 0, offlineMax: 2 }),
      });
      assert.equal(store.storeOffline("bob", 10, 1000, "alice", "first"), true);
      assert.equal(store.storeOffline("bob", 11, 2000, "carol", "second"), true);
      assert.equal(store.storeOffline("bob", 12, 3000, "alice", "third"), false);
      assert.equal(store.storeOffline("dave", 13, 3000, "alice", "other"), true);
      assert.equal(store.offlineCount("bob"), 2);
    }
    using store = HistoryStore.open(file);
    assert.equal(store.lastId, 13);
    assert.deepEqual(store.takeOffline("bob"), [
      { id: 10, time: 1000, from: "alice", target: "bob", text: "first" },
      { id: 11, time: 2000, from: "carol", target: "bob", text: "second" },
    ]);
    assert.deepEqual(store.takeOffline("bob"), []);
    assert.equal(store.offlineCount("dave"), 1);
    // Expired with the history: 30 days by default, and these are from 1970.
    store.enforceRetention();
    assert.equal(store.offlineCount("dave"), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: the file and its folder are created private (0600, 0700)", async () => {
  if (Deno.build.os === "windows") return;
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "data", "history.db");
    HistoryStore.open(file).close();
    assert.equal((await Deno.stat(join(dir, "data"))).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server: a --history that is no database, or in a folder that cannot be made, stops it with exit 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const junk = join(dir, "junk.db");
    await Deno.writeTextFile(junk, "this is not a database, just some text\n".repeat(200));
    const notDb = await runProgram("server", ["--port", "0", "--no-console", "--history", junk]);
    assert.equal(notDb.code, 2, notDb.stderr);
    assert.equal(
      notDb.stderr.trim(),
      `server: --history ${junk}: not an SQLite database`,
    );
    const blocked = join(junk, "history.db");
    const noFolder = await runProgram("server", [
      "--port",
      "0",
      "--no-console",
      "--history",
      blocked,
    ]);
    assert.equal(noFolder.code, 2, noFolder.stderr);
    assert.match(
      noFolder.stderr.trim(),
      /^server: --history \S+: cannot create (it|its folder) \(a part of the path is a file\)$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('config: --history from a flag, the environment or the file; off and "" turn it off', async () => {
  assert.equal((await loadServerConfig([], {})).options.history, undefined);
  assert.equal(PROGRAM_DEFAULTS.history, "data/history.db");
  assert.match(SERVER_USAGE, /--history FILE .*\(default data\/history\.db\)/);
  assert.equal((await loadServerConfig(["--history", ""], {})).options.history, "");
  assert.equal((await loadServerConfig(["--history", "off"], {})).options.history, "");
  assert.equal((await loadServerConfig([], { SWITCHBOARD_HISTORY: "off" })).options.history, "");
  const flagged = await loadServerConfig(
    ["--history", "h.db", "--history-max-messages", "10", "--history-days", "2"],
    { SWITCHBOARD_OFFLINE_MAX: "5" },
  );
  assert.deepEqual(
    [flagged.options.history, flagged.options.historyMaxMessages, flagged.options.historyDays],
    ["h.db", 10, 2],
  );
  assert.equal(flagged.options.offlineMax, 5);
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "sb.json");
    await Deno.writeTextFile(file, JSON.stringify({ history: "state/h.db" }));
    const fromFile = await loadServerConfig(["--config", file], {});
    assert.equal(fromFile.options.history, join(dir, "state/h.db"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A recorded batch of alice's lobby lines (`texts`: the lines' texts, each ending in `\n`). */
function lobbyBatch(firstId: number, texts: string) {
  const prefix = "MSG alice * :";
  const lines = texts.split("\n").slice(0, -1);
  return {
    firstId,
    count: lines.length,
    time: Date.now(),
    from: "alice",
    sender: undefined,
    route: { kind: "lobby" } as const,
    target: "*",
    wire: encoder.encode(lines.map((text) => `${prefix}${text}\n`).join("")),
    prefixLength: prefix.length,
  };
}

Deno.test("history: the queue is bounded; a full one commits at once instead of growing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    using store = HistoryStore.open(join(dir, "history.db"), {
      maxPending: 10,
      flushDelay: 60_000,
    });
    const batch = (firstId: number, count: number) => lobbyBatch(firstId, "hi\n".repeat(count));
    store.keep(batch(1, 6));
    assert.equal(store.pendingCount, 6);
    store.keep(batch(7, 6));
    assert.equal(store.pendingCount, 0);
    assert.equal(store.count, 12);
    store.keep(batch(13, 1));
    store.durable();
    assert.deepEqual(store.query("*", 2).map((e) => [e.id, e.text]), [[12, "hi"], [13, "hi"]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: a graceful shutdown commits what is still queued", async () => {
  const dir = await Deno.makeTempDir();
  try {
    {
      await using server = await historyServer(dir);
      await using alice = await connect(server, "alice");
      let burst = "";
      for (let i = 1; i <= 500; i++) burst += `queued ${i}\n`;
      await alice.sendRaw(encoder.encode(burst));
      await alice.command(":ping");
      await server.shutdown();
    }
    using store = HistoryStore.open(join(dir, "history.db"));
    assert.equal(store.count, 500);
    assert.equal(store.query("*", 1)[0]?.text, "queued 500");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: texts are cut from the wire lines right, whatever the characters", async () => {
  const dir = await Deno.makeTempDir();
  try {
    using store = HistoryStore.open(join(dir, "history.db"));
    const keep = (firstId: number, from: string, target: string, texts: string[]) => {
      const prefix = `MSG ${from} ${target} :`;
      store.keep({
        firstId,
        count: texts.length,
        time: 0,
        from,
        sender: undefined,
        route: { kind: "lobby" },
        target,
        wire: encoder.encode(texts.map((text) => `${prefix}${text}\n`).join("")),
        prefixLength: encoder.encode(prefix).length,
      });
    };
    keep(1, "alice", "*", ["héllo wörld", "日本語", ""]);
    keep(4, "zoë", "*", ["naïve", "ok"]);
    assert.deepEqual(store.query("*", 10).map((e) => [e.id, e.from, e.text]), [
      [1, "alice", "héllo wörld"],
      [2, "alice", "日本語"],
      [3, "alice", ""],
      [4, "zoë", "naïve"],
      [5, "zoë", "ok"],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: a quiet store commits a message within its delay; a steady stream shares one transaction per interval", async () => {
  const dir = await Deno.makeTempDir();
  try {
    using store = HistoryStore.open(join(dir, "history.db"), {
      flushDelay: 5,
      flushInterval: 1000,
    });
    const batch = (firstId: number) => lobbyBatch(firstId, `hi ${firstId}\n`);
    const committed = async (count: number, withinMs: number) => {
      const until = performance.now() + withinMs;
      while (store.stored < count && performance.now() < until) await delay(5);
      return store.stored >= count;
    };
    // Quiet: committed after the short delay, long before the interval.
    store.keep(batch(1));
    assert.equal(store.pendingCount, 1);
    assert.ok(await committed(1, 500), "the first message waits only its delay");
    // Right after a transaction, the next ones wait for the interval to pass, then share one.
    store.keep(batch(2));
    await delay(50);
    store.keep(batch(3));
    await delay(50);
    assert.equal(store.pendingCount, 2, "no transaction before the interval has passed");
    assert.ok(await committed(3, 3000), "both committed once the interval passed");
    assert.equal(store.pendingCount, 0);
    // An acknowledged message does not wait for either.
    store.keep(batch(4));
    store.durable();
    assert.equal(store.stored, 4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: retention cuts a batch of messages in part, keeping exactly the newest", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let max = 0;
    using store = HistoryStore.open(join(dir, "history.db"), {
      limits: () => ({ maxMessages: max, days: 0, offlineMax: 10 }),
    });
    // Three batches of three (one read each): ids 1–3, 4–6, 7–9.
    for (const firstId of [1, 4, 7]) {
      store.keep(lobbyBatch(firstId, `a${firstId}\nb${firstId}\nc${firstId}\n`));
    }
    store.durable();
    max = 5;
    assert.equal(store.enforceRetention(), 4);
    assert.equal(store.count, 5);
    const texts = store.query("*", 50).map((entry) => `${entry.id}:${entry.text}`);
    assert.deepEqual(texts, ["5:b4", "6:c4", "7:a7", "8:b7", "9:c7"]);
    // Paging inside the batch that was cut.
    assert.deepEqual(store.query("*", 1, 6).map((entry) => entry.id), [5]);
    // A whole batch at the limit goes whole.
    max = 3;
    assert.equal(store.enforceRetention(), 2);
    assert.deepEqual(store.query("*", 50).map((entry) => entry.id), [7, 8, 9]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: a file from before batches (a messages table) is taken over, messages and ids intact", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "history.db");
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE messages (id INTEGER PRIMARY KEY, time INTEGER NOT NULL,
      sender TEXT NOT NULL, target TEXT NOT NULL COLLATE NOCASE, text TEXT NOT NULL);
      CREATE INDEX group_messages ON messages (target, id) WHERE target <> '*';
      INSERT INTO messages VALUES (1, 1000, 'alice', '*', 'hello'), (2, 2000, 'bob', '#Ops', 'up'),
        (7, 3000, 'alice', '*', 'ünïcode "quoted"');`);
    old.close();
    {
      using store = HistoryStore.open(path);
      assert.equal(store.count, 3);
      assert.equal(store.lastId, 7);
      assert.deepEqual(store.query("*", 10).map((e) => [e.id, e.from, e.text]), [
        [1, "alice", "hello"],
        [7, "alice", 'ünïcode "quoted"'],
      ]);
      assert.deepEqual(store.query("#ops", 10).map((e) => [e.id, e.time, e.text]), [
        [2, 2000, "up"],
      ]);
      store.keep(lobbyBatch(8, "next\n"));
    }
    // Reopened: nothing migrates twice, and the documented query reads one row per message.
    using store = HistoryStore.open(path);
    assert.equal(store.count, 4);
    const db = new DatabaseSync(path);
    try {
      const rows = db.prepare("SELECT id, sender, target, text FROM messages ORDER BY id").all();
      assert.deepEqual(rows.map((r) => [r.id, r.sender, r.target, r.text]), [
        [1, "alice", "*", "hello"],
        [2, "bob", "#Ops", "up"],
        [7, "alice", "*", 'ünïcode "quoted"'],
        [8, "alice", "*", "next"],
      ]);
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: a page gathers its messages from as many batches as it takes, large or small", async () => {
  const dir = await Deno.makeTempDir();
  try {
    using store = HistoryStore.open(join(dir, "history.db"));
    // Batches of one message (ids 1–40), then of five (41–140), then of one again (141–160).
    let id = 1;
    const keep = (count: number) => {
      store.keep(lobbyBatch(id, Array.from({ length: count }, (_, i) => `m${id + i}\n`).join("")));
      id += count;
    };
    for (let i = 0; i < 40; i++) keep(1);
    for (let i = 0; i < 20; i++) keep(5);
    for (let i = 0; i < 20; i++) keep(1);
    const ids = (entries: { id: number; text: string }[]) => {
      for (const entry of entries) assert.equal(entry.text, `m${entry.id}`);
      return entries.map((entry) => entry.id);
    };
    const range = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => from + i);
    assert.deepEqual(ids(store.query("*", 100)), range(61, 160));
    assert.deepEqual(ids(store.query("*", 37, 143)), range(106, 142));
    assert.deepEqual(ids(store.query("*", 500)), range(1, 160));
    assert.deepEqual(ids(store.query("*", 3, 2)), [1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
