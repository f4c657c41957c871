/**
 * Reloading the configuration (issue 14): `:reload`, `Server.reload`, SIGHUP. What a reload
 * applies is observed through the behaviour it changes (a cap, an access list, a certificate);
 * what it refuses leaves the old configuration working.
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../core/config/config_file.ts";
import { resolveOptions, type ServerOptions } from "../core/config/options.ts";
import { planReload } from "../core/server/reload.ts";
import type { Server } from "../core/server/server.ts";
import { SwitchboardError } from "../core/protocol/errors.ts";
import { haveOpenssl, makeCerts } from "./_certs.ts";
import { connect, eventually, startTestServer, TestClient } from "./_helpers.ts";
import { withLogFolder } from "./_logs.ts";
import { ServerProcess } from "./_programs.ts";

const decoder = new TextDecoder();

/** A server whose `reloadOptions` returns whatever `next.options` holds at the time. */
async function reloadable(
  initial: ServerOptions,
): Promise<{ server: Server; next: { options: ServerOptions | Error }; calls: () => number }> {
  const next: { options: ServerOptions | Error } = { options: initial };
  let calls = 0;
  const server = await startTestServer({
    ...initial,
    reloadOptions: () => {
      calls++;
      const options = next.options;
      return options instanceof Error
        ? Promise.reject(options)
        : Promise.resolve({ host: "127.0.0.1", port: 0, logDir: "", shutdownGrace: 1, ...options });
    },
  });
  return { server, next, calls: () => calls };
}

/** What the server sends a connection it turns away at once. */
async function turnedAway(port: number, hostname = "127.0.0.1"): Promise<string> {
  await using client = await TestClient.open(port, hostname);
  return (await client.closed())[0] ?? "";
}

/** The first line the server sends a new connection: `HELLO …` when admitted, else the `ERR`. */
async function firstLine(port: number): Promise<string> {
  await using client = await TestClient.open(port);
  return await client.nextLine();
}

Deno.test("reload: planReload keeps restart settings, names changed access lists", () => {
  const old = resolveOptions({ port: 0, maxClients: 5, access: { deny: [] } });
  const fresh = resolveOptions({
    port: 4000,
    maxClients: 6,
    logDir: "elsewhere",
    access: { deny: ["10.0.0.0/8"] },
  });
  const plan = planReload(old, fresh, true);
  assert.deepEqual(plan.applied, ["maxClients", "access.deny"]);
  assert.deepEqual(plan.needsRestart, ["port", "logDir"]);
  assert.equal(plan.next.port, 0);
  assert.equal(plan.next.logDir, "logs");
  assert.equal(plan.next.maxClients, 6);
  // A certificate that cannot be handed over, or TLS switched on, needs a restart.
  const tls = planReload(old, resolveOptions({ port: 0, tlsCert: "c", tlsKey: "k" }), true);
  assert.deepEqual(tls.needsRestart, ["tlsCert", "tlsKey"]);
  assert.equal(tls.next.tlsCert, undefined);
});

Deno.test("reload: :reload applies a new maxClients at once and answers OK reload", async () => {
  const { server, next } = await reloadable({ maxClients: 5, admins: ["127.0.0.1"] });
  await using _server = server;
  await using chief = await connect(server, "chief");
  await using bob = await connect(server, "bob");
  next.options = { maxClients: 2, admins: ["127.0.0.1"] };
  assert.equal((await chief.command(":reload")).at(-1), "OK reload 1 0 0");
  assert.equal(server.options.maxClients, 2);
  assert.match(await turnedAway(server.addr.port), /^ERR server-full :.*\(2 connections\)/);
  // Nobody was dropped.
  await chief.send("still here");
  assert.equal(await bob.waitFor("MSG"), "MSG chief * :still here");
});

Deno.test("reload: :reload needs admin rights", async () => {
  const { server } = await reloadable({});
  await using _server = server;
  await using bob = await connect(server, "bob");
  assert.match((await bob.command(":reload")).at(-1) ?? "", /^ERR not-allowed :/);
});

Deno.test("reload: without reloadOptions a reload is refused as disabled", async () => {
  await using server = await startTestServer({ admins: ["127.0.0.1"] });
  await using chief = await connect(server, "chief");
  assert.match((await chief.command(":reload")).at(-1) ?? "", /^ERR disabled :/);
  await assert.rejects(server.reload(), (e) => e instanceof SwitchboardError);
});

Deno.test("reload: an invalid configuration is not applied, is logged, and :reload says why", async () => {
  const files = await withLogFolder({}, async () => {
    const { server, next } = await reloadable({ maxClients: 2, admins: ["127.0.0.1"] });
    await using _server = server;
    await using chief = await connect(server, "chief");
    next.options = new ConfigError('config file /etc/sb.json: key "maxClients": expected a number');
    const reply = await chief.command(":reload");
    assert.deepEqual(reply, [
      'ERR bad-config :config file /etc/sb.json: key "maxClients": expected a number',
    ]);
    // The old configuration still works: one more fits, the one after is refused.
    await using bob = await connect(server, "bob");
    assert.match(await turnedAway(server.addr.port), /^ERR server-full :/);
    assert.ok(!bob.ended);
  });
  const errors = decoder.decode(files.get("errors.log"));
  assert.match(errors, /reload failed, the configuration in force stays: config file/);
});

Deno.test("reload: a tightened access list closes the denied connections with BYE denied, only them", async () => {
  const { server, next } = await reloadable({ host: "::", admins: ["127.0.0.1"] });
  await using _server = server;
  await using chief = await connect(server, "chief", "127.0.0.1");
  await using six = await connect(server, "six", "::1");
  next.options = { host: "::", admins: ["127.0.0.1"], access: { deny: ["::1/128"] } };
  assert.equal((await chief.command(":reload")).at(-1), "OK reload 1 0 1");
  assert.match(await six.waitFor("BYE"), /^BYE denied :/);
  await six.closed();
  assert.equal(server.stats().disconnects.denied, 1);
  // The same address is now refused at accept; the others chat on.
  assert.match(await turnedAway(server.addr.port, "::1"), /^ERR refused :/);
  assert.match((await chief.command(":whoami")).at(-1) ?? "", /^OK whoami/);
});

Deno.test("reload: a changed port, mode or log folder is logged as needing a restart and not applied", async () => {
  const files = await withLogFolder({}, async () => {
    const { server, next } = await reloadable({ maxClients: 7 });
    await using _server = server;
    const port = server.addr.port;
    next.options = { port: port + 1, mode: "echo", logDir: "/tmp/elsewhere", maxClients: 8 };
    const result = await server.reload();
    assert.deepEqual(result.applied, ["maxClients"]);
    assert.deepEqual(result.needsRestart, ["port", "mode", "logDir"]);
    assert.equal(server.options.port, 0);
    assert.equal(server.options.mode, "chat");
    assert.equal(server.addr.port, port);
    await using alice = await connect(server, "alice");
    assert.ok(!alice.ended);
  });
  const log = decoder.decode(files.get("server.log"));
  assert.match(log, /reload: "?port"? changed but needs a restart/);
  assert.match(log, /reload: "?mode"? changed but needs a restart/);
  assert.match(log, /configuration reloaded: 1 settings applied \("?maxClients"?\)/);
});

Deno.test("reload: the console runs :reload and gets its answer when it is done", async () => {
  const { server, next } = await reloadable({ announceLimit: 100 });
  await using _server = server;
  next.options = { announceLimit: 3, rateLimit: 10, reservedNames: ["boss"] };
  const late: string[] = [];
  assert.deepEqual(server.console(":reload", (line) => late.push(line)), []);
  await eventually(() => late.length > 0);
  assert.deepEqual(late, ["OK reload 3 0 0"]);
  assert.equal(server.options.rateLimit, 10);
  // The new reserved names hold for the next registration.
  await using client = await TestClient.open(server.addr.port);
  await client.waitFor("HELLO");
  await client.send("B0SS");
  assert.match(await client.nextLine(), /^ERR name-reserved :/);
});

Deno.test("reload: concurrent reloads run one at a time, in order", async () => {
  let running = 0;
  let most = 0;
  let value = 10;
  await using server = await startTestServer({
    maxClients: 10,
    reloadOptions: async () => {
      running++;
      most = Math.max(most, running);
      const maxClients = ++value;
      await new Promise((resolve) => setTimeout(resolve, 20));
      running--;
      return { host: "127.0.0.1", port: 0, logDir: "", maxClients };
    },
  });
  await Promise.all([server.reload(), server.reload(), server.reload()]);
  assert.equal(most, 1);
  assert.equal(server.options.maxClients, 13);
});

Deno.test("reload: SIGHUP makes the server program re-read its config file", {
  ignore: Deno.build.os === "windows",
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-reload-" });
  const file = join(dir, "sb.json");
  try {
    await Deno.writeTextFile(file, JSON.stringify({ maxClients: 5, admins: ["127.0.0.1"] }));
    await using server = await ServerProcess.start([
      "--port",
      "0",
      "--config",
      file,
      "--log-dir",
      "",
      "--no-console",
    ]);
    await using alice = await connect(server.port, "alice");
    // A bad file is refused and changes nothing.
    await Deno.writeTextFile(file, JSON.stringify({ maxClients: "one" }));
    assert.match(
      (await alice.command(":reload")).at(-1) ?? "",
      /^ERR bad-config :config file .*sb\.json: key "maxClients": expected a whole number/,
    );
    // The port in the file needs a restart; --port from the command line still wins anyway.
    await Deno.writeTextFile(
      file,
      JSON.stringify({ maxClients: 1, admins: ["127.0.0.1"], logFormat: "json" }),
    );
    server.kill("SIGHUP");
    let refusal = "";
    for (let i = 0; i < 100 && !refusal.startsWith("ERR server-full"); i++) {
      refusal = await firstLine(server.port).catch(() => "");
      if (!refusal.startsWith("ERR server-full")) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    assert.match(refusal, /^ERR server-full :/);
    assert.ok(!alice.ended);
    server.kill("SIGTERM");
    const result = await server.finished();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /logFormat"? changed but needs a restart/);
    assert.match(result.stderr, /configuration reloaded/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const noOpenssl = !haveOpenssl && Deno.env.get("CI") !== "true";

/** Tries TLS connections to `port` one after another until stopped, tallying the outcomes. */
function connectLoop(port: number, caCerts: string[]) {
  const tally = { served: 0, refused: 0, other: [] as string[] };
  let stopped = false;
  const done = (async () => {
    const buffer = new Uint8Array(256);
    while (!stopped) {
      try {
        const conn = await Deno.connectTls({ hostname: "localhost", port, caCerts });
        try {
          await conn.handshake();
          // The server's HELLO: the connection was accepted and served.
          const count = await conn.read(buffer);
          if (count === null) throw new Error("closed before HELLO");
          tally.served++;
        } finally {
          conn.close();
        }
      } catch (error) {
        if (error instanceof Deno.errors.ConnectionRefused) tally.refused++;
        else tally.other.push(String(error));
      }
    }
  })();
  return {
    tally,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/** Whether a TLS client trusting only `ca` completes a handshake with the server on `port`. */
async function trusts(port: number, ca: string): Promise<boolean> {
  try {
    const conn = await Deno.connectTls({ hostname: "localhost", port, caCerts: [ca] });
    try {
      await conn.handshake();
      return true;
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "reload: a renewed TLS certificate serves new connections, none is refused, old ones chat on",
  ignore: noOpenssl,
  fn: async () => {
    await using first = await makeCerts();
    await using second = await makeCerts();
    const dir = await Deno.makeTempDir({ prefix: "switchboard-reload-tls-" });
    try {
      const cert = join(dir, "cert.pem");
      const key = join(dir, "key.pem");
      const use = async (certs: { cert: string; key: string }) => {
        await Deno.copyFile(certs.cert, cert);
        await Deno.copyFile(certs.key, key);
      };
      await use(first);
      const caFirst = await Deno.readTextFile(first.ca);
      const caSecond = await Deno.readTextFile(second.ca);
      const { server } = await reloadable({ tlsCert: cert, tlsKey: key, tlsPort: 0 });
      await using _server = server;
      const port = server.addrs[1]!.port;
      await using old = await TestClient.openTls("localhost", port, [caFirst]);
      await old.waitFor("HELLO");
      await old.send("old");
      await old.waitFor("WELCOME old ");
      await using bob = await connect(server, "bob");

      const loop = connectLoop(port, [caFirst, caSecond]);
      try {
        // Back and forth a few times, the files renewed under the same paths, while a client
        // keeps connecting: every attempt must be served.
        for (const [round, certs] of [second, first, second].entries()) {
          const before = loop.tally.served;
          await eventually(() => loop.tally.served >= before + 3, 5000, `round ${round} traffic`);
          await use(certs);
          const result = await server.reload();
          assert.deepEqual(result.applied, ["tlsCert"]);
          assert.equal(server.addrs[1]!.port, port);
        }
        const before = loop.tally.served;
        await eventually(() => loop.tally.served >= before + 3, 5000, "traffic after the reloads");
      } finally {
        await loop.stop();
      }
      assert.equal(loop.tally.refused, 0, "no connection refused during the handovers");
      assert.deepEqual(loop.tally.other, [], "no connection failed during the handovers");
      // New connections get the new certificate: only its CA's clients can connect.
      assert.ok(await trusts(port, caSecond), "the new certificate is served");
      assert.ok(!(await trusts(port, caFirst)), "the old certificate is gone");
      // The connection from before the reloads is still open, with the old certificate.
      await old.send("still here");
      assert.equal(await bob.waitFor("MSG"), "MSG old * :still here");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "reload: a key that does not match the new certificate is bad-config; the old one stays",
  ignore: noOpenssl,
  fn: async () => {
    await using certs = await makeCerts();
    const dir = await Deno.makeTempDir({ prefix: "switchboard-reload-tls-" });
    try {
      const key = join(dir, "key.pem");
      await Deno.copyFile(certs.key, key);
      const ca = await Deno.readTextFile(certs.ca);
      const { server, next } = await reloadable({
        tlsCert: certs.cert,
        tlsKey: key,
        tlsPort: 0,
        admins: ["127.0.0.1"],
      });
      await using _server = server;
      await using chief = await connect(server, "chief");
      await Deno.copyFile(certs.otherKey, key);
      next.options = { tlsCert: certs.cert, tlsKey: key, tlsPort: 0, admins: ["127.0.0.1"] };
      assert.match(
        (await chief.command(":reload")).at(-1) ?? "",
        /^ERR bad-config :tlsKey .*key\.pem: the key does not match the certificate$/,
      );
      assert.ok(await trusts(server.addrs[1]!.port, ca), "the old certificate is still served");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
