import assert from "node:assert/strict";
import { connect, eventually, startTestServer, TestClient } from "./_helpers.ts";

const TOKEN = "correct-horse-battery-staple";

Deno.test("admin commands are refused to ordinary clients with ERR not-allowed", async () => {
  await using server = await startTestServer({ adminToken: TOKEN });
  await using alice = await connect(server, "alice");
  for (const command of [":kick bob", ":rename a b", ":shutdown", ":stats"]) {
    const [reply] = await alice.command(command);
    assert.match(reply as string, /^ERR not-allowed :/);
  }
  assert.equal(server.stats().connections, 1);
});

Deno.test(":auth with a wrong token gets ERR not-allowed :wrong token and grants nothing", async () => {
  await using server = await startTestServer({ adminToken: TOKEN });
  await using alice = await connect(server, "alice");
  assert.deepEqual(await alice.command(":auth guess"), ["ERR not-allowed :wrong token"]);
  assert.match((await alice.command(":stats"))[0] as string, /^ERR not-allowed/);
  const [whoami] = await alice.command(":whoami");
  assert.match(whoami as string, / user :$/);
});

Deno.test(":auth with the right token makes the client an admin, also before it has a name", async () => {
  await using server = await startTestServer({ adminToken: TOKEN });
  await using client = await TestClient.open(server);
  await client.nextLine();
  assert.deepEqual(await client.command(`:auth ${TOKEN}`), ["OK auth admin"]);
  const stats = await client.command(":stats");
  assert.equal(stats.at(-1), "OK stats");
  assert.ok(stats.includes("STAT connections 1"));
});

Deno.test("without a configured token, no :auth succeeds", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  assert.deepEqual(await alice.command(":auth "), ["ERR bad-args :usage: :auth <token>"]);
  assert.deepEqual(await alice.command(":auth anything"), ["ERR not-allowed :wrong token"]);
});

Deno.test("clients whose address is in the admins list are admins without :auth", async () => {
  await using server = await startTestServer({ admins: ["127.0.0.0/8"] });
  await using root = await connect(server, "chief");
  const [whoami] = await root.command(":whoami");
  assert.match(whoami as string, /^WHOAMI chief 127\.0\.0\.1:\d+ admin :$/);
  assert.equal((await root.command(":stats")).at(-1), "OK stats");
});

Deno.test(":list shows admins the addresses of everyone", async () => {
  await using server = await startTestServer({ adminToken: TOKEN });
  await using alice = await connect(server, "alice");
  await alice.command(`:auth ${TOKEN}`);
  assert.match((await alice.command(":list"))[0] as string, /^USER alice 127\.0\.0\.1:\d+$/);
});

Deno.test(":kick sends BYE kicked to the user, KICK to the lobby, and OK kick to the admin", async () => {
  await using server = await startTestServer({ adminToken: TOKEN });
  await using admin = await connect(server, "chief");
  await using bob = await connect(server, "bob");
  await using carol = await connect(server, "carol");
  await admin.command(`:auth ${TOKEN}`);
  assert.equal((await admin.command(":kick bob spamming")).at(-1), "OK kick bob");
  assert.equal(await bob.waitFor("BYE"), "BYE kicked :spamming");
  await bob.closed();
  assert.equal(await carol.waitFor("KICK"), "KICK bob :spamming");
  assert.deepEqual(
    (await admin.command(":kick bob")).at(-1),
    `ERR no-such-user :nobody called "bob" is online`,
  );
  await eventually(() => server.stats().disconnects.kicked === 1);
});

Deno.test(":rename renames another user: everyone gets NICK, the admin OK rename", async () => {
  await using server = await startTestServer({ adminToken: TOKEN });
  await using admin = await connect(server, "chief");
  await using bob = await connect(server, "bob");
  await admin.command(`:auth ${TOKEN}`);
  assert.deepEqual((await admin.command(":rename bob robert")).slice(-2), [
    "NICK bob robert",
    "OK rename bob robert",
  ]);
  assert.equal(await bob.waitFor("NICK"), "NICK bob robert");
  assert.match((await bob.command(":whoami"))[0] as string, /^WHOAMI robert /);
  assert.deepEqual(await admin.command(":rename robert chief"), [
    `ERR name-taken :"chief" is taken`,
  ]);
  assert.match(
    (await admin.command(":rename robert bad name"))[0] as string,
    /^ERR bad-name :.*"bad name" is not a valid name$/,
  );
});

Deno.test(":shutdown from an admin stops the server gracefully: OK shutdown, then BYE shutdown to all", async () => {
  const server = await startTestServer({ adminToken: TOKEN });
  await using admin = await connect(server, "chief");
  await using bob = await connect(server, "bob");
  await admin.command(`:auth ${TOKEN}`);
  await admin.send(":shutdown 1 maintenance window");
  assert.equal(await admin.waitFor("OK shutdown"), "OK shutdown 1");
  assert.equal(await admin.waitFor("BYE"), "BYE shutdown :maintenance window");
  assert.equal(await bob.waitFor("BYE"), "BYE shutdown :maintenance window");
  await server.finished;
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }));
});

Deno.test("the operator console broadcasts plain lines as MSG server and runs admin commands", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  assert.deepEqual(server.console("maintenance at noon"), ["OK broadcast 1"]);
  assert.equal(await alice.waitFor("MSG"), "MSG server * :maintenance at noon");
  assert.deepEqual(server.console(":list"), [
    "USER alice 127.0.0.1:" + alice.conn.localAddr.port,
    "OK list 1",
  ]);
  assert.deepEqual(server.console(":pm alice psst"), ["OK pm alice"]);
  assert.equal(await alice.waitFor("PM"), "PM server :psst");
  assert.deepEqual(server.console(":kick alice bye now"), ["OK kick alice"]);
  assert.equal(await alice.waitFor("BYE"), "BYE kicked :bye now");
});

Deno.test("server events let an embedder observe registrations, messages and disconnects", async () => {
  await using server = await startTestServer();
  const seen: string[] = [];
  server.on("register", (e) => seen.push(`register ${e.name}`));
  server.on("message", (e) => seen.push(`message ${e.from}>${e.target}:${e.text}:${e.recipients}`));
  server.on("disconnect", (e) => seen.push(`disconnect ${e.name} ${e.reason}`));
  {
    await using alice = await connect(server, "alice");
    await using bob = await connect(server, "bob");
    await alice.send("hi");
    await bob.waitFor("MSG");
    await alice.command(":pm bob secret");
    await alice.send(":quit");
    await alice.closed();
  }
  await eventually(() => seen.length >= 6);
  assert.deepEqual(seen.slice(0, 5), [
    "register alice",
    "register bob",
    "message alice>*:hi:1",
    "message alice>bob:secret:1",
    "disconnect alice quit",
  ]);
});

Deno.test("a throwing event listener is logged and neither crashes the server nor starves others", async () => {
  await using server = await startTestServer();
  const names: string[] = [];
  server.on("register", () => {
    throw new Error("embedder bug");
  });
  server.on("register", (e) => names.push(e.name));
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  await alice.send("still works");
  assert.equal(await bob.waitFor("MSG"), "MSG alice * :still works");
  assert.deepEqual(names, ["alice", "bob"]);
});
