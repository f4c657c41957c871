/**
 * Issue 17: the monitoring HTTP listener (`--http`) over real HTTP on 127.0.0.1, port 0: every
 * endpoint and status code, the admin credentials and the shared lockout, `/connz` paging and
 * sorting, `/healthz` turning 503 during a shutdown, `/metrics` parsed and checked by Prometheus's
 * own `promtool`, the `/events` stream and the kick.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { writeAccountsFile } from "../core/config/accounts_file.ts";
import { parseHostPort } from "../core/config/host_port.ts";
import { loadServerConfig } from "../core/config/config_file.ts";
import type { ServerOptions } from "../core/config/options.ts";
import { buildConnz, connzRow, parseConnzQuery } from "../core/monitor/connz.ts";
import { type MonitorSource, startMonitor } from "../core/monitor/server.ts";
import { writeAll } from "../core/net/stream.ts";
import { SnapshotStreams } from "../core/monitor/sse.ts";
import type { MonitoredConnection } from "../core/monitor/source.ts";
import type { Server } from "../core/server/server.ts";
import { hashPassword } from "../core/util/password_hash.ts";
import { connect, eventually, hangGuard, startTestServer, TestClient } from "./_helpers.ts";
import { runProgram, ServerProcess } from "./_programs.ts";
import { haveOpenssl, makeCerts } from "./_certs.ts";

const TOKEN = "monitor-test-token";
/** A parsed JSON answer: the tests check it field by field. */
// deno-lint-ignore no-explicit-any
type Json = any;
const FAST = { N: 1024 };

/** A server with the monitor on a free port. */
function startMonitored(options: ServerOptions = {}): Promise<Server> {
  return startTestServer({ http: "127.0.0.1:0", adminToken: TOKEN, ...options });
}

function base(server: Server): string {
  const http = server.httpAddr;
  assert.ok(http !== undefined, "the monitor is on");
  return `${http.scheme}://127.0.0.1:${http.port}`;
}

async function getJson(server: Server, path: string): Promise<{ status: number; body: Json }> {
  const response = await fetch(base(server) + path);
  return { status: response.status, body: await response.json() };
}

function kick(server: Server, id: number, authorization?: string): Promise<Response> {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  return fetch(`${base(server)}/connz/${id}/kick`, { method: "POST", headers });
}

/** The id of the connection called `name`, from `/connz`. */
async function idOf(server: Server, name: string): Promise<number> {
  const { body } = await getJson(server, "/connz?limit=1000");
  const row = body.connections.find((c: { name: string }) => c.name === name);
  assert.ok(row !== undefined, `${name} in /connz`);
  return row.id;
}

Deno.test("the monitor is off unless http is set", async () => {
  await using server = await startTestServer();
  assert.equal(server.httpAddr, undefined);
});

Deno.test("http settings: flag, environment, config checks", async () => {
  assert.deepEqual(parseHostPort("[::1]:8222"), { hostname: "::1", port: 8222 });
  assert.equal(parseHostPort("::1:8222"), undefined);
  assert.equal(parseHostPort("example.com:80"), undefined);
  assert.equal(parseHostPort("127.0.0.1:70000"), undefined);
  const flag = await loadServerConfig(["--http", "127.0.0.1:8222"], {});
  assert.equal(flag.options.http, "127.0.0.1:8222");
  const env = await loadServerConfig([], { SWITCHBOARD_HTTP: "[::1]:0" });
  assert.equal(env.options.http, "[::1]:0");
  await assert.rejects(() => loadServerConfig(["--http", "8222"], {}), /host:port/);
  await assert.rejects(
    () => loadServerConfig(["--http", "127.0.0.1:0", "--http-tls"], {}),
    /--http-tls needs --tls-cert/,
  );
});

Deno.test("GET /healthz, /varz, unknown paths and wrong methods", async () => {
  await using server = await startMonitored();
  await using _alice = await connect(server, "alice");
  assert.deepEqual(await getJson(server, "/healthz"), { status: 200, body: { status: "ok" } });
  const varz = await getJson(server, "/varz");
  assert.equal(varz.status, 200);
  for (
    const key of [
      "version",
      "mode",
      "started",
      "uptimeS",
      "config",
      "connections",
      "named",
      "groups",
      "messagesIn",
      "deliveries",
      "bytesIn",
      "bytesOut",
      "rssBytes",
      "disconnects",
    ]
  ) assert.ok(key in varz.body, `varz has ${key}`);
  assert.equal(varz.body.mode, "chat");
  assert.equal(varz.body.connections, 1);
  assert.equal(varz.body.named, 1);
  assert.ok(!Number.isNaN(Date.parse(varz.body.started)));
  assert.ok(varz.body.rssBytes > 0);
  assert.ok(!("adminToken" in varz.body.config));
  const raw = await (await fetch(base(server) + "/varz")).text();
  assert.ok(!raw.includes(TOKEN), "no token in /varz");
  assert.equal((await getJson(server, "/nope")).status, 404);
  const post = await fetch(base(server) + "/varz", { method: "POST" });
  await post.body?.cancel();
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  const getKick = await fetch(base(server) + "/connz/1/kick");
  await getKick.body?.cancel();
  assert.equal(getKick.status, 405);
});

Deno.test("the dashboard's files, with their content types and no-cache", async () => {
  await using server = await startMonitored();
  for (
    const [path, type] of [
      ["/", "text/html"],
      ["/dashboard.js", "text/javascript"],
      ["/dashboard.css", "text/css"],
    ]
  ) {
    const response = await fetch(base(server) + path);
    const body = await response.text();
    assert.equal(response.status, 200, path);
    assert.ok(response.headers.get("content-type")!.startsWith(type!), path);
    assert.equal(response.headers.get("cache-control"), "no-cache");
    assert.ok(body.length > 0);
  }
});

Deno.test("/connz: rows, paging, sorting, bad queries, closed connections", async () => {
  await using server = await startMonitored();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await using carol = await connect(server, "carol");
  await alice.send(":group create ops");
  await alice.waitFor("OK group");
  await alice.send("hello everyone");
  await alice.send("and again");
  await bob.waitFor("MSG alice * :and again");
  await carol.waitFor("MSG alice * :and again");
  const all = await getJson(server, "/connz");
  assert.equal(all.status, 200);
  assert.equal(all.body.total, 3);
  assert.equal(all.body.offset, 0);
  assert.equal(all.body.limit, 100);
  assert.deepEqual(all.body.connections.map((c: { name: string }) => c.name), [
    "alice",
    "bob",
    "carol",
  ]);
  const row = all.body.connections[0];
  assert.deepEqual(Object.keys(row).sort(), [
    "address",
    "admin",
    "bytesIn",
    "bytesOut",
    "connectedAt",
    "groups",
    "id",
    "idleS",
    "messagesIn",
    "messagesOut",
    "name",
    "queuedBytes",
    "tls",
  ]);
  assert.deepEqual(row.groups, ["ops"]);
  assert.equal(row.messagesIn, 2);
  assert.equal(all.body.connections[1].messagesOut, 2);
  assert.ok(row.bytesIn > 0 && row.bytesOut > 0);
  assert.equal(row.tls, false);
  assert.equal(row.admin, false);
  const page = await getJson(server, "/connz?offset=1&limit=1");
  assert.deepEqual(page.body.connections.map((c: { name: string }) => c.name), ["bob"]);
  assert.equal(page.body.total, 3);
  const byName = await getJson(server, "/connz?sort=name");
  assert.deepEqual(byName.body.connections.map((c: { name: string }) => c.name), [
    "alice",
    "bob",
    "carol",
  ]);
  const byBytes = await getJson(server, "/connz?sort=bytesOut&limit=1");
  assert.equal(byBytes.body.connections.length, 1);
  const most = Math.max(...all.body.connections.map((c: { bytesOut: number }) => c.bytesOut));
  assert.ok(byBytes.body.connections[0].bytesOut >= most);
  for (const sort of ["idle", "queued"]) {
    assert.equal((await getJson(server, `/connz?sort=${sort}`)).body.connections.length, 3);
  }
  assert.equal((await getJson(server, "/connz?limit=5000")).body.limit, 1000);
  for (const bad of ["limit=0", "limit=-1", "offset=x", "sort=loudest"]) {
    const answer = await getJson(server, `/connz?${bad}`);
    assert.equal(answer.status, 400, bad);
    assert.equal(typeof answer.body.error, "string");
  }
  await carol.send(":quit");
  await eventually(() => server.stats().connections === 2);
  const after = await getJson(server, "/connz");
  assert.equal(after.body.closed.length, 1);
  assert.equal(after.body.closed[0].name, "carol");
  assert.equal(after.body.closed[0].reason, "quit");
  assert.ok(!JSON.stringify(after.body).includes("hello everyone"), "no message text");
});

Deno.test("/metrics: Prometheus text with HELP and TYPE, values read at scrape time", async () => {
  await using server = await startMonitored();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await alice.send("hi bob");
  await bob.waitFor("MSG alice * :hi bob");
  const response = await fetch(base(server) + "/metrics");
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  const body = await response.text();
  const values = new Map<string, number>();
  for (const line of body.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(match !== null, `sample line: ${line}`);
    values.set(match[1]!, Number(match[2]));
  }
  const expected = {
    switchboard_connections: "gauge",
    switchboard_named_clients: "gauge",
    switchboard_messages_received_total: "counter",
    switchboard_deliveries_total: "counter",
    switchboard_bytes_received_total: "counter",
    switchboard_bytes_sent_total: "counter",
    switchboard_disconnects_total: "counter",
    switchboard_queued_bytes: "gauge",
    switchboard_resident_memory_bytes: "gauge",
  };
  for (const [name, type] of Object.entries(expected)) {
    assert.ok(body.includes(`# HELP ${name} `), `HELP ${name}`);
    assert.ok(body.includes(`# TYPE ${name} ${type}\n`), `TYPE ${name}`);
  }
  assert.equal(values.get("switchboard_connections"), 2);
  assert.equal(values.get("switchboard_named_clients"), 2);
  assert.equal(values.get("switchboard_messages_received_total"), 1);
  assert.equal(values.get("switchboard_deliveries_total"), 1);
  assert.ok(values.get("switchboard_bytes_received_total")! > 0);
  assert.ok(values.get("switchboard_resident_memory_bytes")! > 0);
  assert.equal(values.get('switchboard_disconnects_total{reason="kicked"}'), 0);
  // No label names a user or a connection.
  assert.ok(!body.includes("alice") && !body.includes("bob"));
  // Scraped again: the values follow the server.
  await bob.send(":quit");
  await eventually(() => server.stats().connections === 1);
  const again = await (await fetch(base(server) + "/metrics")).text();
  assert.match(again, /^switchboard_connections 1$/m);
  assert.match(again, /^switchboard_disconnects_total\{reason="quit"\} 1$/m);
});

const promtool = await new Deno.Command("promtool", { args: ["--version"], stdout: "null" })
  .output().then((o) => o.success, () => false);
if (!promtool && Deno.env.get("CI") !== "true") {
  console.warn("monitor_test: promtool is not installed (apt-get install prometheus); skipped");
}

Deno.test({
  name: "/metrics passes promtool check metrics",
  ignore: !promtool && Deno.env.get("CI") !== "true",
  async fn() {
    await using server = await startMonitored();
    await using _alice = await connect(server, "alice");
    const body = await (await fetch(base(server) + "/metrics")).text();
    const child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(body));
    await writer.close();
    const out = await child.output();
    const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.ok(out.success, `promtool: ${said}`);
    assert.equal(said.trim(), "", `promtool has no complaint: ${said}`);
  },
});

Deno.test("kick: 401 without or with wrong credentials, 404 unknown id, 200 with the token", async () => {
  await using server = await startMonitored();
  await using alice = await connect(server, "alice");
  const id = await idOf(server, "alice");
  for (const authorization of [undefined, "Bearer wrong-token", "Basic !!!", "Token x"]) {
    const response = await kick(server, id, authorization);
    assert.equal(response.status, 401, String(authorization));
    assert.ok(response.headers.get("www-authenticate")?.startsWith("Bearer"));
    await response.body?.cancel();
  }
  assert.equal(server.stats().connections, 1, "nobody kicked");
  // Four failures so far: a fifth would lock 127.0.0.1 out; a success forgets them.
  const unknown = await kick(server, 999_999, `Bearer ${TOKEN}`);
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();
  const ok = await kick(server, id, `Bearer ${TOKEN}`);
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { kicked: "alice" });
  await alice.waitFor("BYE kicked");
  await eventually(() => server.stats().disconnects.kicked === 1);
  const { body } = await getJson(server, "/connz");
  assert.equal(body.closed[0].reason, "kicked");
});

Deno.test("kick: failures share the lockout with :auth; a locked-out address gets 429", async () => {
  await using server = await startMonitored();
  await using alice = await connect(server, "alice");
  const id = await idOf(server, "alice");
  for (let i = 0; i < 5; i++) {
    const response = await kick(server, id, "Bearer nope-nope");
    assert.equal(response.status, 401);
    await response.body?.cancel();
  }
  const locked = await kick(server, id, `Bearer ${TOKEN}`);
  assert.equal(locked.status, 429, "even the right token waits for the lockout");
  assert.ok(Number(locked.headers.get("retry-after")) > 0);
  await locked.body?.cancel();
  // The same table as :auth on the chat port.
  await alice.send(`:auth ${TOKEN}`);
  assert.match(await alice.waitFor("ERR"), /^ERR too-many-attempts/);
  assert.equal(server.stats().connections, 1);
});

Deno.test("kick with Basic auth: admin accounts only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-monitor-" });
  try {
    const path = join(dir, "accounts.json");
    await writeAccountsFile(path, {
      users: {
        alice: { password: await hashPassword("alice-pass", FAST) },
        boss: { password: await hashPassword("boss-pass", FAST), admin: true },
      },
    });
    await using server = await startMonitored({ accounts: path });
    await using _carol = await connect(server, "carol");
    const id = await idOf(server, "carol");
    const basic = (name: string, password: string) => `Basic ${btoa(`${name}:${password}`)}`;
    const user = await kick(server, id, basic("alice", "alice-pass"));
    assert.equal(user.status, 403, "a right password of a non-admin account");
    await user.body?.cancel();
    const wrong = await kick(server, id, basic("boss", "nope"));
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const admin = await kick(server, id, basic("boss", "boss-pass"));
    assert.equal(admin.status, 200);
    assert.deepEqual(await admin.json(), { kicked: "carol" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("access lists apply to the monitor", async () => {
  await using server = await startMonitored({ access: { deny: ["127.0.0.0/8"] } });
  const answer = await getJson(server, "/healthz");
  assert.equal(answer.status, 403);
});

/** Reads SSE events from `body` until `count` snapshots arrived or the stream ended. */
async function readSnapshots(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  count: number,
): Promise<{ snapshots: Json[]; ended: boolean }> {
  const decoder = new TextDecoder();
  const snapshots: Json[] = [];
  let buffer = "";
  while (snapshots.length < count) {
    const { value, done } = await reader.read();
    if (done) return { snapshots, ended: true };
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const [kind, data] = event.split("\n");
      assert.equal(kind, "event: snapshot");
      assert.ok(data!.startsWith("data: "));
      snapshots.push(JSON.parse(data!.slice("data: ".length)));
    }
  }
  return { snapshots, ended: false };
}

Deno.test("/events: snapshots every 500 ms, the contract's fields, ended by a shutdown", async () => {
  const server = await startMonitored();
  try {
    await using alice = await connect(server, "alice");
    await alice.send("hello");
    await eventually(() => server.stats().messages === 1);
    const response = await fetch(base(server) + "/events");
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type")!, /^text\/event-stream/);
    assert.equal(response.headers.get("cache-control"), "no-cache");
    const reader = response.body!.getReader();
    const started = performance.now();
    const { snapshots } = await hangGuard(readSnapshots(reader, 3), 5000, "three snapshots");
    const took = performance.now() - started;
    assert.ok(took >= 900, `three snapshots take two intervals (${took} ms)`);
    const last = snapshots.at(-1);
    assert.deepEqual(Object.keys(last).sort(), [
      "bytesIn",
      "bytesOut",
      "connections",
      "deliveries",
      "disconnects",
      "draining",
      "groups",
      "messagesIn",
      "named",
      "rows",
      "time",
      "total",
      "version",
    ]);
    assert.equal(last.draining, false);
    assert.equal(last.connections, 1);
    assert.equal(last.total, 1);
    assert.equal(last.rows.length, 1);
    assert.equal(last.rows[0].name, "alice");
    assert.equal(last.messagesIn, 1);
    assert.equal(typeof last.disconnects.quit, "number");
    const shutdown = server.shutdown();
    const rest = await hangGuard(readSnapshots(reader, 1000), 10_000, "the stream to end");
    assert.ok(rest.ended, "the stream ends at shutdown");
    await shutdown;
  } finally {
    await server.shutdown();
  }
});

Deno.test("/events: at most 32 streams at once; one more gets 503", async () => {
  await using server = await startMonitored();
  const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
  try {
    for (let i = 0; i < 32; i++) {
      const response = await fetch(base(server) + "/events");
      assert.equal(response.status, 200);
      readers.push(response.body!.getReader());
    }
    const refused = await fetch(base(server) + "/events");
    assert.equal(refused.status, 503);
    await refused.body?.cancel();
  } finally {
    for (const reader of readers) await reader.cancel();
  }
});

/** A source with `n` fake connections, for the units below. */
function fakeSource(n: number): MonitorSource {
  const connections: MonitoredConnection[] = [];
  const now = performance.now();
  for (let i = 1; i <= n; i++) {
    connections.push({
      id: i,
      name: `user${(i * 7919) % n}`,
      address: `10.0.${i >> 8 & 255}.${i & 255}:40000`,
      secure: false,
      admin: false,
      groups: new Set([{ name: "lobby2" }]),
      connectedAt: Date.now(),
      lastActivity: now - (i * 37) % 1000,
      messagesIn: i,
      messagesOut: i * 2,
      bytesIn: i * 100,
      outbound: { bytesWritten: (i * 104729) % 100_000, queuedBytes: i % 13 },
    });
  }
  const stats = {
    uptime: 0,
    connections: n,
    online: n,
    groups: 1,
    backedUp: 0,
    accepted: n,
    resetBeforeAccept: 0,
    tlsFailed: 0,
    messages: 0,
    deliveries: 0,
    commands: 0,
    lockouts: 0,
    attemptsRefused: 0,
    bytesIn: 0,
    bytesOut: 0,
    disconnects: {} as never,
  };
  return {
    connections: () => connections,
    snapshot: () => stats,
    draining: false,
  } as unknown as MonitorSource;
}

Deno.test("SnapshotStreams: a stream whose client does not read is dropped", async () => {
  const streams = new SnapshotStreams(fakeSource(3), { maxQueued: 2 });
  try {
    const stream = streams.open()!;
    assert.equal(streams.size, 1);
    // Nobody reads: the first snapshot and the next ones queue up to 2, then it is dropped.
    await eventually(() => streams.size === 0, 5000, "the stream dropped");
    assert.equal(streams.dropped, 1);
    await assert.rejects(() => stream.getReader().read(), /does not read/);
  } finally {
    streams.close();
  }
});

Deno.test("connz units: sorted keys, paging past the end, query limits", () => {
  const source = fakeSource(50);
  const query = parseConnzQuery(new URLSearchParams("sort=idle&limit=10"));
  assert.ok(typeof query === "object");
  const page = buildConnz(source.connections(), [], query, performance.now());
  assert.equal(page.connections.length, 10);
  for (let i = 1; i < page.connections.length; i++) {
    assert.ok(page.connections[i - 1]!.idleS >= page.connections[i]!.idleS);
  }
  const past = buildConnz(source.connections(), [], { offset: 60, limit: 10, sort: undefined }, 0);
  assert.equal(past.connections.length, 0);
  assert.equal(past.total, 50);
  const row = connzRow([...source.connections()][0]!, performance.now());
  assert.deepEqual(row.groups, ["lobby2"]);
});

Deno.test("requests in flight are capped: one more gets 503 at once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-monitor-" });
  const path = join(dir, "accounts.json");
  // Slow hashes (N = 2^15, tens of ms each) keep a kick in flight long enough.
  await writeAccountsFile(path, {
    users: { boss: { password: await hashPassword("boss-pass", { N: 32768 }), admin: true } },
  });
  await using server = await startTestServer({ accounts: path });
  const monitor = startMonitor({ address: "127.0.0.1:0", maxRequests: 1 });
  try {
    monitor.attach(server as unknown as MonitorSource);
    const url = `http://127.0.0.1:${monitor.addr.port}`;
    const slow = fetch(`${url}/connz/12345/kick`, {
      method: "POST",
      headers: { authorization: `Basic ${btoa("boss:boss-pass")}` },
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${url}/healthz`);
      statuses.push(response.status);
      await response.body?.cancel();
    }
    const first = await slow;
    await first.body?.cancel();
    assert.equal(first.status, 404);
    assert.ok(statuses.includes(503), `a request beyond the cap is refused: ${statuses}`);
  } finally {
    await monitor.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("/healthz answers 503 from the moment a shutdown starts; the listener closes last", async () => {
  // An echo client that sends without reading: its queue cannot drain, so the shutdown waits
  // (out its grace, or until the client goes), and the monitor must say "draining" all that time.
  // The grace is long so that a busy machine cannot end it between two requests.
  const server = await startMonitored({ mode: "echo", shutdownGrace: 60 });
  const url = base(server);
  const client = await TestClient.open(server);
  // 64 lines of 1 KiB per write: few enough writes that a loaded CI machine still backs the
  // queue up within the wait below (16 384 single-line writes did not, once, in 10 s).
  const lines = new TextEncoder().encode(("x".repeat(1023) + "\n").repeat(64));
  const writing = (async () => {
    try {
      for (let i = 0; i < 256; i++) await writeAll(client.conn, lines);
    } catch {
      // Closed by the shutdown.
    }
  })();
  try {
    await eventually(() => server.stats().backedUp > 0, 30_000, "a backed-up reader");
    assert.deepEqual(await getJson(server, "/healthz"), { status: 200, body: { status: "ok" } });
    const shutdown = server.shutdown();
    const during = await fetch(url + "/healthz");
    assert.equal(during.status, 503);
    assert.deepEqual(await during.json(), { status: "draining" });
    const varz = await getJson(server, "/varz");
    assert.equal(varz.status, 200, "the rest still answers while draining");
    client.conn.close();
    await shutdown;
    await assert.rejects(() => fetch(url + "/healthz"), "closed after the shutdown");
  } finally {
    await server.shutdown();
    try {
      client.conn.close();
    } catch {
      // Closed.
    }
    await writing;
    await client[Symbol.asyncDispose]().catch(() => {});
  }
});

Deno.test("server program: --http prints where the monitor listens; a taken port is one line", async () => {
  const quiet = ["--log-dir", "", "--no-console", "--history", ""];
  const server = await ServerProcess.start(["--port", "0", "--http", "127.0.0.1:0", ...quiet]);
  server.kill("SIGTERM");
  const result = await server.finished();
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^monitoring on http:\/\/127\.0\.0\.1:\d+$/m);
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const busy = await runProgram("server", [
    "--port",
    "0",
    "--http",
    `127.0.0.1:${taken.addr.port}`,
    ...quiet,
  ]);
  assert.equal(busy.code, 1);
  assert.match(
    busy.stderr,
    /^server: cannot serve HTTP on 127\.0\.0\.1:\d+: the port is already in use$/m,
  );
});

Deno.test({
  name: "--http-tls: the monitor serves HTTPS with the chat's certificate",
  ignore: !haveOpenssl && Deno.env.get("CI") !== "true",
  async fn() {
    await using certs = await makeCerts();
    await using server = await startMonitored({
      tlsCert: certs.cert,
      tlsKey: certs.key,
      tlsPort: 0,
      httpTls: true,
    });
    assert.equal(server.httpAddr?.scheme, "https");
    using client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.ca)] });
    const response = await fetch(`https://localhost:${server.httpAddr!.port}/healthz`, { client });
    assert.deepEqual(await response.json(), { status: "ok" });
  },
});
