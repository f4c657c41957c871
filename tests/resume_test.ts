/**
 * Issue 16, session resume: a client whose line breaks comes back with `:resume <token> <last-id>`
 * and gets every message it missed, exactly once and in order, while everyone else sees nothing
 * happen. Over real TCP; the break is a socket closed with unread data, which the kernel turns
 * into a reset, so messages in flight are lost on the way and must be replayed.
 */

import assert from "node:assert/strict";
import { connect, startTestServer, TestClient } from "./_helpers.ts";
import { parseServerLine } from "../core/protocol/server_line.ts";
import type { Server } from "../core/server/server.ts";

const encoder = new TextEncoder();

/** A raw connection that reads lines only when asked, so that it can stop reading at any point. */
class RawClient {
  readonly #conn: Deno.TcpConn;
  readonly #decoder = new TextDecoder();
  readonly #buffer = new Uint8Array(16 * 1024);
  #partial = "";
  readonly #lines: string[] = [];

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async open(server: Server): Promise<RawClient> {
    const client = new RawClient(
      await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
    );
    assert.match(await client.line(), /^HELLO /);
    return client;
  }

  async send(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    for (let at = 0; at < bytes.length;) at += await this.#conn.write(bytes.subarray(at));
  }

  /** The next line; fails after 5 s or at the end of the stream. */
  async line(): Promise<string> {
    const deadline = Date.now() + 5000;
    while (this.#lines.length === 0) {
      const timer = setTimeout(() => this.#conn.close(), Math.max(0, deadline - Date.now()));
      const count = await this.#conn.read(this.#buffer).finally(() => clearTimeout(timer));
      if (count === null) throw new Error("the server closed the connection");
      const text = this.#partial + this.#decoder.decode(this.#buffer.subarray(0, count), {
        stream: true,
      });
      const parts = text.split("\n");
      this.#partial = parts.pop()!;
      this.#lines.push(...parts);
    }
    return this.#lines.shift()!;
  }

  /** Lines up to and including the first that starts with `prefix`. */
  async until(prefix: string): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.line();
      lines.push(line);
      if (line.startsWith(prefix)) return lines;
    }
  }

  /** Closes the socket; with unread data in it the kernel sends a reset, not a FIN. */
  cut(): void {
    this.#conn.close();
  }
}

/** Registers `name` with ids on; returns the session token. */
async function registerWithIds(client: RawClient, name: string): Promise<string> {
  await client.send(`${name}\n:ids on\n`);
  const lines = await client.until("OK ids");
  assert.equal(lines.at(-1), "OK ids on");
  const session = lines.find((line) => line.startsWith("SESSION "));
  assert.ok(session !== undefined, lines.join("\n"));
  return session.slice("SESSION ".length);
}

/** What the lines of `numbers` from `from` say: the sequence numbers and the last id seen. */
function collect(lines: readonly string[], from: string, into: number[]): number {
  let lastId = 0;
  for (const line of lines) {
    const event = parseServerLine(line);
    if (event.type !== "message" || event.from !== from) continue;
    assert.ok(event.id !== undefined, `a message without its id: ${line}`);
    assert.ok(event.id > lastId, "ids grow");
    lastId = event.id;
    into.push(Number(event.text));
  }
  return lastId;
}

/** `count` numbered lines from `first` on, as one write. */
function numbered(first: number, count: number): string {
  return Array.from({ length: count }, (_, i) => `${first + i}\n`).join("");
}

Deno.test("resume: a connection cut mid-flood resumes and gets every message exactly once, in order", async () => {
  await using server = await startTestServer({ resumeGrace: 10, maxQueueBytes: 64 * 1024 });
  await using observer = await connect(server, "observer");
  const alice = await RawClient.open(server);
  const token = await registerWithIds(alice, "alice");
  assert.equal(await observer.nextLine(), "JOIN alice");
  await using bob = await connect(server, "bob");
  const seen: number[] = [];
  // Alice reads part of the flood, then her socket breaks with the rest in flight.
  await bob.send(numbered(1, 2000).trimEnd());
  const before: string[] = [];
  while (before.filter((line) => line.includes(" MSG bob ")).length < 300) {
    before.push(await alice.line());
  }
  const lastId = collect(before, "bob", seen);
  alice.cut();
  // More is said while she is away.
  await bob.send(numbered(2001, 1000).trimEnd());
  assert.deepEqual(await bob.command(":ping"), ["OK ping"]);

  const again = await RawClient.open(server);
  await again.send(`:resume ${token} ${lastId}\n`);
  const resumed = await again.until("OK resume");
  assert.match(resumed[0] ?? "", /^WELCOME alice 3 :/);
  assert.match(resumed[1] ?? "", /^SESSION \S+$/);
  assert.notEqual(resumed[1], `SESSION ${token}`, "a token is good for one resume");
  collect(resumed, "bob", seen);
  while (seen.at(-1) !== 3000) collect([await again.line()], "bob", seen);
  assert.deepEqual(seen, Array.from({ length: 3000 }, (_, i) => i + 1));

  // Nobody noticed: no LEAVE or JOIN for alice, and she is online all along.
  const observed = await observer.command(":list");
  assert.ok(observed.includes("USER alice"), observed.join("\n"));
  const noise = [...observed, ...observer.buffered].filter((line) => / alice\b/.test(line));
  assert.deepEqual(noise.filter((line) => !line.startsWith("USER ")), []);
  again.cut();
});

Deno.test("resume: groups survive, and group and private messages said meanwhile are replayed", async () => {
  await using server = await startTestServer({ resumeGrace: 10 });
  const alice = await RawClient.open(server);
  const token = await registerWithIds(alice, "alice");
  await alice.send(":group create ops\n");
  await alice.until("OK group");
  await using bob = await connect(server, "bob");
  assert.equal((await bob.command(":group join ops")).at(-1), "OK group join ops");
  await bob.send(":group send ops one");
  await bob.reply();
  const last = parseServerLine((await alice.until("@")).at(-1)!);
  assert.ok(last.type === "message" && last.id !== undefined);
  const lastId = last.id;
  alice.cut();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal((await bob.command(":group send ops two")).at(-1), "OK group send ops");
  assert.equal((await bob.command(":pm alice three")).at(-1), "OK pm alice");
  await bob.send("hello lobby");
  assert.deepEqual(await bob.command(":ping"), ["OK ping"]);
  const again = await RawClient.open(server);
  await again.send(`:resume ${token} ${lastId}\n`);
  const resumed = await again.until("OK resume");
  const messages = resumed.filter((line) => line.startsWith("@"));
  assert.deepEqual(messages.map((line) => line.replace(/^@\d+ /, "")), [
    "MSG bob #ops :two",
    "PM bob :three",
    "MSG bob * :hello lobby",
  ]);
  assert.equal(resumed.at(-1), "OK resume 3");
  await again.send(":groups\n");
  assert.ok((await again.until("OK groups")).includes("GROUP #ops 2"));
  again.cut();
});

Deno.test("resume: after the grace it fails cleanly, the name is free, and others saw the LEAVE", async () => {
  await using server = await startTestServer({ resumeGrace: 0.2 });
  await using observer = await connect(server, "observer");
  const alice = await RawClient.open(server);
  const token = await registerWithIds(alice, "alice");
  assert.equal(await observer.nextLine(), "JOIN alice");
  alice.cut();
  // The LEAVE comes when the grace ends, with the connection's own reason.
  assert.match(await observer.nextLine(1000), /^LEAVE alice (quit|read-error)$/);
  const again = await RawClient.open(server);
  await again.send(`:resume ${token} 0\nalice\n`);
  assert.equal(await again.line(), "ERR bad-session :unknown or expired session");
  assert.match(await again.line(), /^WELCOME alice /);
  again.cut();
});

Deno.test("resume: a client that noticed the break first takes over the connection the server still has", async () => {
  await using server = await startTestServer({ resumeGrace: 10 });
  await using observer = await connect(server, "observer");
  await using old = await connect(server, "alice");
  await old.send(":ids on");
  assert.deepEqual(await old.reply(), ["OK ids on"]);
  const again = await RawClient.open(server);
  await again.send(`:resume ${old.session} 0\n`);
  assert.equal((await again.until("OK resume")).at(-1), "OK resume 0");
  assert.deepEqual(await old.closed(), ["BYE replaced :resumed from another connection"]);
  await observer.send("hi");
  assert.match(await again.line(), /^@\d+ MSG observer \* :hi$/);
  assert.deepEqual(observer.buffered.filter((line) => !line.startsWith("JOIN alice")), []);
  again.cut();
});

Deno.test("resume: without ids on, or after :quit, a connection leaves at once as before", async () => {
  await using server = await startTestServer({ resumeGrace: 10 });
  await using observer = await connect(server, "observer");
  const plain = await connect(server, "plain");
  assert.equal(await observer.nextLine(), "JOIN plain");
  await plain[Symbol.asyncDispose]();
  assert.equal(await observer.nextLine(), "LEAVE plain quit");
  const alice = await RawClient.open(server);
  await registerWithIds(alice, "alice");
  assert.equal(await observer.nextLine(), "JOIN alice");
  await alice.send(":quit\n");
  assert.equal(await observer.nextLine(), "LEAVE alice quit");
  alice.cut();
});

Deno.test("resume: a held session that is sent more than resumeMaxBytes ends, and the LEAVE goes out", async () => {
  await using server = await startTestServer({ resumeGrace: 10, resumeMaxBytes: 4096 });
  await using observer = await connect(server, "observer");
  const alice = await RawClient.open(server);
  const token = await registerWithIds(alice, "alice");
  assert.equal(await observer.nextLine(), "JOIN alice");
  alice.cut();
  await new Promise((resolve) => setTimeout(resolve, 100));
  await observer.send(numbered(1, 5).replaceAll("\n", "x".repeat(1000) + "\n"));
  assert.match(await observer.waitFor("LEAVE alice"), /^LEAVE alice /);
  const again = await RawClient.open(server);
  await again.send(`:resume ${token} 0\n`);
  assert.match(await again.line(), /^ERR bad-session /);
  again.cut();
});

Deno.test("resume: :resume checks its words and comes before a name; :ids answers its state", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  assert.deepEqual(await alice.command(":ids"), ["OK ids off"]);
  assert.deepEqual(await alice.command(":ids on"), ["OK ids on"]);
  assert.deepEqual(await alice.command(":resume abc 1"), [
    "ERR not-allowed :resume a session before registering, as the first line",
  ]);
  await using fresh = await TestClient.open(server);
  await fresh.nextLine();
  assert.deepEqual(await fresh.command(":resume abc"), [
    "ERR bad-args :usage: :resume <token> <last-id>[,<last-id>…]",
  ]);
  assert.deepEqual(await fresh.command(`:resume ${alice.session} 999999`), [
    "ERR bad-session :no message has id 999999 yet",
  ]);
});
