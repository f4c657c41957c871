/**
 * `deno task bench:monitor`: what the monitoring listener (issue 17) costs the event loop.
 *
 * 1. Unit level: `/connz` for 10 000 fake connection records (each sort, the default page of 100
 *    and the largest of 1000, JSON included), the `/events` snapshot (500 rows) and `/metrics`'
 *    reading; median and worst of many rounds. This is the time the chat's event loop is held.
 * 2. Real: a server with `--http`, 10 000 named TCP connections opened by a child process (its
 *    own file descriptors), then `/connz`, `/metrics` and `/varz` fetched over HTTP; latency from
 *    request to the last byte, and the longest event-loop stall seen meanwhile (a 1 ms timer).
 *
 * ```sh
 * deno task bench:monitor                # both, 10 000 connections
 * deno task bench:monitor --conns 2000 --no-real
 * ```
 * @module
 */

import { parseArgs } from "node:util";
import { buildConnz, type ConnzQuery, parseConnzQuery } from "../core/monitor/connz.ts";
import { buildSnapshot } from "../core/monitor/sse.ts";
import type { MonitoredConnection, MonitorSource } from "../core/monitor/source.ts";
import { startServer } from "../core/server/server.ts";

const opts = parseArgs({
  args: Deno.args,
  options: {
    conns: { type: "string", default: "10000" },
    rounds: { type: "string", default: "50" },
    "no-real": { type: "boolean", default: false },
    "child-connect": { type: "string" },
  },
});
const conns = Number(opts.values.conns);

if (opts.values["child-connect"] !== undefined) {
  await childConnect(Number(opts.values["child-connect"]), conns);
  Deno.exit(0);
}

function fakeConnections(n: number): MonitoredConnection[] {
  const out: MonitoredConnection[] = [];
  const now = performance.now();
  for (let i = 1; i <= n; i++) {
    out.push({
      id: i,
      name: `user${(i * 7919) % n}`,
      address: `10.${i >> 16 & 255}.${i >> 8 & 255}.${i & 255}:${40000 + (i % 20000)}`,
      secure: i % 3 === 0,
      admin: false,
      groups: new Set(i % 5 === 0 ? [{ name: "ops" }, { name: "dev" }] : []),
      connectedAt: Date.now() - i * 1000,
      lastActivity: now - (i * 37) % 100_000,
      messagesIn: i * 3,
      messagesOut: i * 300,
      bytesIn: i * 100,
      outbound: { bytesWritten: (i * 104729) % 10_000_000, queuedBytes: i % 13 * 100 },
    });
  }
  return out;
}

function timeIt(rounds: number, work: () => unknown): { median: number; max: number } {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    work();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, max: times.at(-1)! };
}

const fmt = (t: { median: number; max: number }) =>
  `median ${t.median.toFixed(2)} ms, worst ${t.max.toFixed(2)} ms`;

const rounds = Number(opts.values.rounds);
const records = fakeConnections(conns);
console.log(`unit level: ${conns} fake connection records, ${rounds} rounds each`);
for (
  const q of ["", "limit=1000", "sort=idle", "sort=bytesOut", "sort=queued", "sort=name&limit=1000"]
) {
  const query = parseConnzQuery(new URLSearchParams(q)) as ConnzQuery;
  const t = timeIt(rounds, () => JSON.stringify(buildConnz(records, [], query, performance.now())));
  console.log(`  /connz?${q.padEnd(22)} build + JSON: ${fmt(t)}`);
}
const source = {
  connections: () => records,
  draining: false,
  snapshot: () => ({ connections: conns, online: conns, groups: 2, disconnects: {} }),
} as unknown as MonitorSource;
console.log(
  `  /events snapshot (500 rows) + JSON: ${
    fmt(timeIt(rounds, () => JSON.stringify(buildSnapshot(source))))
  }`,
);
console.log(`  queued-bytes sum over all (for /metrics): ${
  fmt(timeIt(rounds, () => {
    let sum = 0;
    for (const c of records) sum += c.outbound.queuedBytes;
    return sum;
  }))
}`);

if (!opts.values["no-real"]) await real();

async function real(): Promise<void> {
  await using server = await startServer({
    host: "127.0.0.1",
    port: 0,
    logDir: "",
    http: "127.0.0.1:0",
    maxClients: conns + 10,
    idleTimeout: 0,
    pingInterval: 0,
    registerTimeout: 600,
    announceLimit: 0,
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--child-connect",
      String(server.addr.port),
      "--conns",
      String(conns),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const started = performance.now();
  while (server.stats().online < conns) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (performance.now() - started > 120_000) {
      throw new Error(`only ${server.stats().online} online`);
    }
  }
  console.log(
    `real: ${conns} named connections in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const base = `http://127.0.0.1:${server.httpAddr!.port}`;
  let worstStall = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    worstStall = Math.max(worstStall, now - last - 1);
    last = now;
  }, 1);
  for (
    const path of [
      "/connz",
      "/connz?limit=1000&sort=bytesOut",
      "/connz?sort=name",
      "/metrics",
      "/varz",
    ]
  ) {
    const times: number[] = [];
    worstStall = 0;
    let size = 0;
    for (let i = 0; i < 20; i++) {
      const start = performance.now();
      size = (await (await fetch(base + path)).arrayBuffer()).byteLength;
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    console.log(
      `  GET ${path.padEnd(32)} ${size} bytes: median ${times[10]!.toFixed(1)} ms, worst ${
        times.at(-1)!.toFixed(1)
      } ms; longest event-loop stall ${worstStall.toFixed(1)} ms`,
    );
  }
  clearInterval(ticker);
  child.kill();
  await child.status;
  await child.stdout.cancel();
}

async function childConnect(port: number, n: number): Promise<void> {
  const sockets: Deno.TcpConn[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < n; i += 200) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(200, n - i) }, async (_, j) => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(encoder.encode(`u${i + j}\n`));
        return conn;
      }),
    );
    sockets.push(...batch);
  }
  // Drain what the server sends, so queues stay empty; wait to be killed.
  const buffer = new Uint8Array(4096);
  await Promise.all(sockets.map(async (conn) => {
    try {
      while ((await conn.read(buffer)) !== null) { /* discard */ }
    } catch { /* killed */ }
  }));
}
