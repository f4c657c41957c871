/**
 * Issue 14: a handshake that fails or stalls costs the server nothing lasting. It is cut within
 * the register timeout, counted as `tlsFailed`, logged once, and leaves no socket behind; and at
 * most `maxHandshakes` run at once, the rest closed unanswered while honest clients still get in.
 * Real server, real sockets, 127.0.0.1 and port 0.
 * @module
 */

import assert from "node:assert/strict";
import { SwitchboardClient } from "../core/client/client.ts";
import { ConnectError } from "../core/client/errors.ts";
import { listenTls } from "../core/net/tls.ts";
import { type Server, startServer } from "../core/server/server.ts";
import { haveOpenssl, moduleCerts } from "./_certs.ts";
import { eventually, hangGuard, LINE_TIMEOUT_MS, startTestServer } from "./_helpers.ts";
import { withLogFolder } from "./_logs.ts";

/** openssl makes the certificates; CI installs it, so there it must exist. */
const noOpenssl = !haveOpenssl && Deno.env.get("CI") !== "true";
if (noOpenssl) console.warn("tls_handshake_test: openssl is not installed; tests skipped");
/** The socket checks read /proc. */
const ignore = noOpenssl || Deno.build.os !== "linux";

/** The first bytes of a ClientHello, and then nothing. */
const PARTIAL_HELLO = new Uint8Array([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00]);

/** Certificates shared by the tests of this file. */
const certs = moduleCerts();

/**
 * Sockets of this machine whose local port is `port` and that are not listening, by TCP state
 * name: the server's side of the connections to `port` (IPv4, as the tests use 127.0.0.1).
 */
async function socketsOn(port: number): Promise<string[]> {
  const states: Record<string, string> = {
    "01": "ESTABLISHED",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "09": "LAST_ACK",
    "0B": "CLOSING",
  };
  const table = await Deno.readTextFile("/proc/net/tcp");
  const found: string[] = [];
  for (const line of table.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    const state = fields[3];
    if (local === undefined || state === undefined || state === "0A") continue;
    if (parseInt(local.split(":")[1] ?? "", 16) === port) found.push(states[state] ?? state);
  }
  return found;
}

/**
 * TCP sockets to or from `port` this process holds a descriptor of (the server runs in it; other
 * test files may too, under `--parallel`, on other ports).
 */
function tcpDescriptors(port: number): number {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of Deno.readTextFileSync(table).split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const ports = [fields[1], fields[2]].map((a) => parseInt(a?.split(":")[1] ?? "", 16));
      const inode = fields[9];
      if (inode !== undefined && inode !== "0" && ports.includes(port)) {
        inodes.add(`socket:[${inode}]`);
      }
    }
  }
  let count = 0;
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (inodes.has(Deno.readLinkSync(`/proc/self/fd/${entry.name}`))) count++;
    } catch {
      // Closed meanwhile.
    }
  }
  return count;
}

/** Resolves with the milliseconds until the peer ended the stream (EOF or reset). */
/** Milliseconds from `started` (a `performance.now()` taken before connecting) until `conn` ends. */
async function msUntilEnd(conn: Deno.Conn, started: number): Promise<number> {
  const buffer = new Uint8Array(1024);
  for (let reads = 0; reads < 100; reads++) {
    const count = await conn.read(buffer).catch(() => null);
    if (count === null) return performance.now() - started;
  }
  throw new Error("the server kept sending");
}

async function tlsClient(port: number, ca: string): Promise<SwitchboardClient> {
  return await SwitchboardClient.connect({
    hostname: "localhost",
    port,
    tls: { caCerts: [ca] },
    connectTimeout: 5,
  });
}

/** The `errors.log` lines written while `body` ran. */
async function errorLines(body: () => Promise<void>): Promise<string[]> {
  const files = await withLogFolder({}, body);
  const decoder = new TextDecoder();
  return [...files.keys()].filter((name) => name.startsWith("errors.log"))
    .flatMap((name) => decoder.decode(files.get(name)).split("\n").filter((l) => l !== ""));
}

Deno.test({
  name: "a silent or stalled TLS peer is cut at the register timeout and leaves no socket behind",
  ignore,
  async fn() {
    const c = await certs();
    const ca = await Deno.readTextFile(c.ca);
    const lines = await errorLines(async () => {
      await using server: Server = await startTestServer({
        tlsCert: c.cert,
        tlsKey: c.key,
        tlsPort: 0,
        tlsOnly: true,
        registerTimeout: 0.4,
      });
      const port = server.addr.port;
      // One honest handshake first, so that whatever TLS opens once is open before counting.
      await (await tlsClient(port, ca))[Symbol.asyncDispose]();
      await eventually(() => server.stats().connections === 0, LINE_TIMEOUT_MS);
      for (let tries = 0; (await socketsOn(port)).includes("ESTABLISHED"); tries++) {
        assert.ok(tries < 500, "the first client's socket did not close");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const before = tcpDescriptors(port);

      // Timed from before the connections: the server's timer cannot start earlier, and waiting
      // below for both to be accepted may take a while on a busy machine.
      const started = performance.now();
      const silent = await Deno.connect({ hostname: "127.0.0.1", port });
      const stalled = await Deno.connect({ hostname: "127.0.0.1", port });
      await stalled.write(PARTIAL_HELLO);
      await eventually(() => tcpDescriptors(port) === before + 4, LINE_TIMEOUT_MS, "both accepted");
      const [silentMs, stalledMs] = await hangGuard(
        Promise.all([msUntilEnd(silent, started), msUntilEnd(stalled, started)]),
        LINE_TIMEOUT_MS,
        "the server did not cut the handshakes",
      );
      // Cut by the timeout, not before it (timers may fire a little early, never much).
      assert.ok(silentMs >= 300 && stalledMs >= 300, `cut after ${silentMs}, ${stalledMs} ms`);
      // The server's side is closed: no socket of its own left but the ones closing, and the
      // process holds only the two client ends.
      await eventually(() => server.stats().tlsFailed === 2, LINE_TIMEOUT_MS, "tlsFailed 2");
      const left = await socketsOn(port);
      assert.ok(
        !left.includes("ESTABLISHED") && !left.includes("CLOSE_WAIT"),
        `server sockets: ${left}`,
      );
      assert.equal(tcpDescriptors(port), before + 2, "only the clients' own ends are open");
      assert.ok(server.console(":stats").includes("STAT tlsFailed 2"));
      assert.equal(server.stats().connections, 0, "a failed handshake is never a connection");
      silent.close();
      stalled.close();
      await eventually(() => tcpDescriptors(port) === before, LINE_TIMEOUT_MS, "descriptors back");
    });
    const failures = lines.filter((line) => line.includes("TLS handshake with"));
    // Same address, so the throttle lets the first through and summarises the rest.
    assert.ok(failures.length >= 1 && failures.length <= 2, failures.join("\n"));
    assert.match(failures[0] ?? "", /did not finish in time/);
  },
});

Deno.test({
  name: "at most maxHandshakes run at once: the next connection is closed, a TLS client gets in " +
    "once a slot is free",
  ignore,
  async fn() {
    const c = await certs();
    const ca = await Deno.readTextFile(c.ca);
    const [cert, key] = await Promise.all([Deno.readTextFile(c.cert), Deno.readTextFile(c.key)]);
    const lines = await errorLines(async () => {
      const listener = listenTls("127.0.0.1", 0, {
        cert,
        key,
        handshakeTimeoutMs: 60_000,
        maxHandshakes: 2,
      });
      await using server = await startServer({ logDir: "", shutdownGrace: 1 }, listener);
      const port = listener.addr.port;
      const first = await Deno.connect({ hostname: "127.0.0.1", port });
      const second = await Deno.connect({ hostname: "127.0.0.1", port });
      // Accepted after the two (the queue is in order), while both handshakes wait: refused.
      const third = await Deno.connect({ hostname: "127.0.0.1", port });
      await hangGuard(msUntilEnd(third, 0), LINE_TIMEOUT_MS, "the third was not closed");
      third.close();
      assert.equal(server.stats().tlsFailed, 1);
      // A real client is refused too while the two hold their slots.
      const refused = await tlsClient(port, ca).then(() => undefined, (e) => e);
      assert.ok(refused instanceof ConnectError, String(refused));
      await eventually(() => server.stats().tlsFailed === 2, LINE_TIMEOUT_MS, "tlsFailed 2");
      assert.deepEqual(await socketsOn(port).then((s) => s.filter((x) => x === "ESTABLISHED")), [
        "ESTABLISHED",
        "ESTABLISHED",
      ], "only the two waiting handshakes hold a socket");
      // One leaves: its handshake fails, its slot is free, and the client gets in.
      first.close();
      await eventually(() => server.stats().tlsFailed === 3, LINE_TIMEOUT_MS, "tlsFailed 3");
      await using alice = await tlsClient(port, ca);
      assert.ok((await alice.register("alice")).ok);
      assert.equal(server.stats().connections, 1);
      second.close();
      await eventually(() => server.stats().tlsFailed === 4, LINE_TIMEOUT_MS, "tlsFailed 4");
    });
    const failures = lines.filter((line) => line.includes("TLS handshake with"));
    assert.ok(failures.length >= 1, "the refusal is logged");
    assert.match(failures[0] ?? "", /too many handshakes in progress \(2\)/);
  },
});

Deno.test({
  name: "a TLS peer that sends to a connection that does not read is held back by TCP",
  ignore: noOpenssl,
  async fn() {
    const c = await certs();
    const ca = await Deno.readTextFile(c.ca);
    const [cert, key] = await Promise.all([Deno.readTextFile(c.cert), Deno.readTextFile(c.key)]);
    const listener = listenTls("127.0.0.1", 0, { cert, key });
    try {
      const accepted = listener.accept();
      const client = await Deno.connectTls({
        hostname: "localhost",
        port: listener.addr.port,
        caCerts: [ca],
      });
      await client.handshake();
      const stream = await accepted; // Never read.
      const chunk = new Uint8Array(64 * 1024);
      let sent = 0;
      // The node:tls socket drains its transport whatever its reader does; the stream must not.
      for (let writes = 0; writes < 1024; writes++) {
        const wrote = await Promise.race([
          client.write(chunk),
          new Promise<null>((resolve) => setTimeout(() => resolve(null), 300)),
        ]);
        if (wrote === null) break;
        sent += wrote;
      }
      assert.ok(sent < 32 * 1024 * 1024, `the peer sent ${sent} bytes unread`);
      // And what was held back still arrives once read.
      const buffer = new Uint8Array(64 * 1024);
      assert.ok((await stream.read(buffer) ?? 0) > 0);
      stream.close();
      client.close();
    } finally {
      listener.close();
    }
  },
});

Deno.test({
  name: "a TLS client that quits reads BYE and a clean TLS end (close_notify), not a truncation",
  ignore: noOpenssl,
  async fn() {
    const c = await certs();
    const ca = await Deno.readTextFile(c.ca);
    await using server = await startTestServer({
      tlsCert: c.cert,
      tlsKey: c.key,
      tlsPort: 0,
      tlsOnly: true,
    });
    for (let round = 0; round < 5; round++) {
      const conn = await Deno.connectTls({
        hostname: "localhost",
        port: server.addr.port,
        caCerts: [ca],
      });
      await conn.write(new TextEncoder().encode(`quitter${round}\n:quit\n`));
      const buffer = new Uint8Array(4096);
      let seen = "";
      for (let reads = 0; reads < 100; reads++) {
        // rustls fails a read with UnexpectedEof when the server ends without close_notify.
        const count = await conn.read(buffer);
        if (count === null) break;
        seen += new TextDecoder().decode(buffer.subarray(0, count));
      }
      assert.match(seen, /^BYE quit /m);
      conn.close();
    }
  },
});
