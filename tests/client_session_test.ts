/**
 * The client kept open all day, without a terminal: what scripts keep (the idle cut and a failed
 * command still end them with their codes), a script's own messages in its output and its log,
 * and the library's dormant state (`linger`) behind the interactive behaviour.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startTestServer } from "./_helpers.ts";
import { ClientProcess, lines, runClient, until } from "./client_harness.ts";
import { SwitchboardClient } from "../core/client/client.ts";
import { EXIT } from "../cli/_exit_codes.ts";
import { ansiToSvg } from "../scripts/capture_svg.ts";
import { writeAccountsFile } from "../core/config/accounts_file.ts";
import { hashPassword } from "../core/util/password_hash.ts";

Deno.test("a script cut for inactivity (BYE idle) still exits 11: only a person's client waits", async () => {
  await using server = await startTestServer({ idleTimeout: 0.5 });
  await using client = new ClientProcess(["--port", String(server.addr.port), "--name", "alice"]);
  const result = await client.finished();
  assert.equal(result.code, EXIT.disconnected, result.stderr);
  assert.match(result.stderr, /disconnected by the server: idle \(no activity for 0\.5 s\)/);
});

Deno.test("a script's own lobby and group messages are printed once acknowledged and logged, never as JSON records", async () => {
  await using server = await startTestServer();
  const log = await Deno.makeTempFile({ prefix: "client-own-" });
  try {
    const sends = [
      "--send",
      "hello all",
      "--send",
      ":group create dev",
      "--send",
      ":group send dev hi",
    ];
    const port = String(server.addr.port);
    const result = await runClient([
      "--port",
      port,
      "--name",
      "alice",
      "--log-file",
      log,
      ...sends,
    ]);
    assert.equal(result.code, EXIT.ok, result.stderr);
    const out = lines(result.stdout).map((line) => line.replace(/^\d\d:\d\d:\d\d /, ""));
    assert.deepEqual(out, ["<alice> hello all", "✓ created and joined #dev", "[#dev] <alice> hi"]);
    const logged = await Deno.readTextFile(log);
    assert.match(logged, /Z <alice> hello all\n/);
    assert.match(logged, /Z \[#dev\] <alice> hi\n/);

    const json = await runClient(["--port", port, "--name", "bob", "--json", "--send", "hi"]);
    assert.equal(json.code, EXIT.ok, json.stderr);
    const types = lines(json.stdout).map((line) => JSON.parse(line).type);
    assert.ok(!types.includes("message"), types.join(" "));
    assert.ok(types.includes("ack"), types.join(" "));
  } finally {
    await Deno.remove(log);
  }
});

Deno.test("library: with linger, BYE idle leaves the client dormant until a line wakes it; it comes back with its name and groups", async () => {
  await using server = await startTestServer({ idleTimeout: 0.4 });
  await using client = await SwitchboardClient.connect({
    port: server.addr.port,
    linger: true,
  });
  assert.ok((await client.register("alice")).ok);
  await client.request(":group create dev");
  const dormant: string[] = [];
  client.on("dormant", ({ why, bye }) => dormant.push(`${why} ${bye?.reason}`));
  const sent: string[] = [];
  client.on("sent", ({ line }) => sent.push(line));
  await until(() => client.state === "dormant", 5000, "dormant after BYE idle");
  assert.deepEqual(dormant, ["idle idle"]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(client.state, "dormant", "no reconnect on its own");
  const messages: string[] = [];
  server.on("message", ({ from, text }) => messages.push(`${from} ${text}`));
  assert.equal(client.send("I am back"), "queued");
  assert.ok(await client.ready());
  await until(() => messages.length === 1, 5000, "the waking line delivered");
  assert.deepEqual(messages, ["alice I am back"]);
  assert.deepEqual(sent, ["I am back"]);
  assert.deepEqual(client.groups, ["dev"]);
  assert.equal(client.wake(), false, "wake does nothing when connected");
  await client.quit();
});

Deno.test("library: with linger, a client whose reconnecting gave up waits; wake() tries again", async () => {
  const first = await startTestServer();
  const port = first.addr.port;
  await using client = await SwitchboardClient.connect({
    port,
    linger: true,
    reconnectInterval: 0.1,
    reconnectTimeout: 0.4,
    connectTimeout: 1,
  });
  assert.ok((await client.register("alice")).ok);
  const dormant: string[] = [];
  client.on("dormant", ({ why, detail }) => dormant.push(`${why}: ${detail}`));
  await first.shutdown();
  await until(() => client.state === "dormant", 5000, "dormant after giving up");
  assert.match(
    dormant[0] ?? "",
    /^gave-up: gave up reconnecting after 0\.4 s \(connection refused\)/,
  );
  await using second = await startTestServer({ port });
  assert.equal(client.wake(), true);
  assert.ok(await client.ready());
  assert.equal(client.name, "alice");
  assert.deepEqual(second.console(":list").at(-1), "OK list 1");
  await client.quit();
});

Deno.test("capture_svg: a coloured screen becomes SVG text rows, colours carried across rows, text escaped", () => {
  const svg = ansiToSvg("\x1b[90m12:00:00 gray\nstill gray\x1b[39m <bob> & co\n\n\n");
  const rows = svg.split("\n").filter((line) => line.startsWith("<text y="));
  assert.equal(rows.length, 2, svg);
  assert.match(rows[1] ?? "", /<tspan x="12\.0" fill="#7f848e">still gray<\/tspan>/);
  assert.match(rows[1] ?? "", /fill="#d0d0d0"> &lt;bob&gt; &amp; co</);
});

Deno.test("library: with linger, a client that logged in logs in again when a line wakes it after BYE idle", async () => {
  const folder = await Deno.makeTempDir({ prefix: "client-session-login-" });
  try {
    const accounts = join(folder, "accounts.json");
    const password = await hashPassword("wonderland", { N: 1024 });
    await writeAccountsFile(accounts, { users: { alice: { password } } });
    await using server = await startTestServer({ accounts, idleTimeout: 0.4 });
    await using client = await SwitchboardClient.connect({ port: server.addr.port, linger: true });
    assert.ok((await client.login("alice", "wonderland")).ok);
    await until(() => client.state === "dormant", 5000, "dormant after BYE idle");
    const messages: string[] = [];
    server.on("message", ({ from, text }) => messages.push(`${from} ${text}`));
    client.send("logged in again");
    await until(() => messages.length === 1, 5000, "the waking line delivered");
    assert.deepEqual(messages, ["alice logged in again"]);
    await client.quit();
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});
