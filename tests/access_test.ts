import assert from "node:assert/strict";
import { connect, startTestServer, TestClient } from "./_helpers.ts";

/** Opens a connection and returns everything the server sent before closing it. */
async function refusal(port: number, hostname = "127.0.0.1"): Promise<string[]> {
  await using client = await TestClient.open(port, hostname);
  return await client.closed();
}

Deno.test("access: a denied peer gets exactly one ERR refused line, no HELLO, and is closed", async () => {
  await using server = await startTestServer({ access: { deny: ["127.0.0.0/8"] } });
  const lines = await refusal(server.addr.port);
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? "", /^ERR refused :/);
  assert.equal(server.stats().disconnects.refused, 1);
});

Deno.test("access: a non-empty allow list admits only its members", async () => {
  await using outside = await startTestServer({ access: { allow: ["10.0.0.0/8"] } });
  assert.match((await refusal(outside.addr.port))[0] ?? "", /^ERR refused :/);
  await using inside = await startTestServer({ access: { allow: ["10.0.0.0/8", "127.0.0.1"] } });
  await using alice = await connect(inside, "alice");
  assert.match(await alice.command(":whoami").then((lines) => lines.at(-1) ?? ""), /^OK whoami/);
});

Deno.test("access: deny wins over allow", async () => {
  await using server = await startTestServer({
    access: { allow: ["127.0.0.0/8"], deny: ["127.0.0.1/32"] },
  });
  assert.match((await refusal(server.addr.port))[0] ?? "", /^ERR refused :/);
});

Deno.test("access: IPv6 peers are matched against IPv6 networks", async () => {
  await using denied = await startTestServer({ host: "::1", access: { deny: ["::1/128"] } });
  assert.equal(denied.addr.hostname, "::1");
  assert.match((await refusal(denied.addr.port, "::1"))[0] ?? "", /^ERR refused :/);
  await using allowed = await startTestServer({ host: "::1", access: { allow: ["::/0"] } });
  await using bob = await connect(allowed, "bob", "::1");
  const whoami = await bob.command(":whoami");
  assert.ok(whoami.some((line) => line.includes("[::1]:")), JSON.stringify(whoami));
});

Deno.test("access: on a dual-stack listener an IPv4-mapped peer is matched as IPv4", async () => {
  await using server = await startTestServer({ host: "::", access: { deny: ["127.0.0.1/32"] } });
  assert.match((await refusal(server.addr.port, "127.0.0.1"))[0] ?? "", /^ERR refused :/);
  // The same listener admits IPv6 loopback, which the IPv4 rule does not cover.
  await using carol = await connect(server, "carol", "::1");
  assert.ok(!carol.ended);
});

Deno.test("access: admins are recognised by CIDR, also through IPv4-mapped addresses", async () => {
  await using server = await startTestServer({ host: "::", admins: ["127.0.0.0/8"] });
  await using admin = await connect(server, "chief", "127.0.0.1");
  assert.match((await admin.command(":stats")).at(-1) ?? "", /^OK stats/);
  await using user = await connect(server, "user", "::1");
  assert.match((await user.command(":stats")).at(-1) ?? "", /^ERR not-allowed/);
});
