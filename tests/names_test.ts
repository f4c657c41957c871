import assert from "node:assert/strict";
import type { Server } from "../mod.ts";
import { nameSkeleton } from "../core/protocol/name_skeleton.ts";
import { connect, eventually, startTestServer, TestClient } from "./_helpers.ts";

/** Opens a connection, offers `name`, and returns the server's answer (the client stays open). */
async function offer(server: Server, name: string): Promise<[TestClient, string]> {
  const client = await TestClient.open(server);
  await client.nextLine(); // HELLO
  await client.send(name);
  return [client, await client.nextLine()];
}

async function answerTo(server: Server, name: string): Promise<string> {
  const [client, answer] = await offer(server, name);
  await client[Symbol.asyncDispose]();
  return answer;
}

Deno.test("skeleton: case and look-alike characters fold together", () => {
  const alike: [string, string][] = [
    ["alice", "ALICE"],
    ["alice", "aIice"],
    ["alice", "a1ice"],
    ["alice", "aiice"],
    ["bob", "b0b"],
    ["BOB", "b0B"],
    ["mallory", "rnallory"],
    ["walter", "vvalter"],
    ["john_doe", "john-doe"],
    ["john_doe", "john.doe"],
    ["root", "r00t"],
    ["admin", "adrnin"],
  ];
  for (const [a, b] of alike) assert.equal(nameSkeleton(a), nameSkeleton(b), `${a} ~ ${b}`);
  const apart: [string, string][] = [
    ["bob", "rob"],
    ["users", "user5"],
    ["alice", "alice2"],
    ["john_doe", "johndoe"],
    ["n", "m"],
    ["v", "w"],
  ];
  for (const [a, b] of apart) assert.notEqual(nameSkeleton(a), nameSkeleton(b), `${a} ≁ ${b}`);
});

Deno.test("skeleton: lower case, i 1 to l, 0 to o, - . to _, then rn to m and vv to w", () => {
  assert.equal(nameSkeleton("aIice"), "allce");
  assert.equal(nameSkeleton("alice"), "allce");
  assert.equal(nameSkeleton("R00T"), "root");
  assert.equal(nameSkeleton("rnvv.x-1"), "mw_x_l");
  // Pairs are replaced left to right, after the single characters.
  assert.equal(nameSkeleton("rrn"), "rm");
  assert.equal(nameSkeleton("vvv"), "wv");
});

Deno.test("a look-alike of an online name is taken until that name leaves", async () => {
  await using server = await startTestServer();
  const alice = await connect(server, "alice");
  assert.match(await answerTo(server, "aIice"), /^ERR name-taken :"aIice" is taken/);
  assert.match(await answerTo(server, "a1ice"), /^ERR name-taken :/);
  await alice.send(":quit");
  await alice.closed();
  await alice[Symbol.asyncDispose]();
  await eventually(() => server.stats().online === 0);
  const [imitator, welcome] = await offer(server, "aIice");
  await using _imitator = imitator;
  assert.match(welcome, /^WELCOME aIice 1 :/);
  // Now alice is the look-alike.
  assert.match(await answerTo(server, "alice"), /^ERR name-taken :/);
});

Deno.test("rn passes for m, vv for w, and a separator for another", async () => {
  await using server = await startTestServer();
  await using _mallory = await connect(server, "mallory");
  await using _walter = await connect(server, "walter");
  await using _jd = await connect(server, "john_doe");
  assert.match(await answerTo(server, "rnallory"), /^ERR name-taken :/);
  assert.match(await answerTo(server, "vvalter"), /^ERR name-taken :/);
  assert.match(await answerTo(server, "john.doe"), /^ERR name-taken :/);
  assert.match(await answerTo(server, "rob"), /^WELCOME rob /);
});

Deno.test("a rename to a look-alike is refused; a look-alike of one's own name is fine", async () => {
  await using server = await startTestServer({ adminToken: "s3cret-token" });
  await using _alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  assert.deepEqual(await bob.command(":name aIice"), [`ERR name-taken :"aIice" is taken`]);
  assert.deepEqual((await bob.command(":name B0b")).at(-1), "OK name B0b");
  await using chief = await connect(server, "chief");
  await chief.command(":auth s3cret-token");
  assert.deepEqual(await chief.command(":rename B0b a1ice"), [`ERR name-taken :"a1ice" is taken`]);
  assert.deepEqual(await chief.command(":rename B0b r00t"), [
    `ERR name-reserved :"r00t" looks like the reserved name "root"`,
  ]);
});

Deno.test(":pm and :kick find a name by its exact spelling (any case), not by its look-alikes", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  assert.equal((await alice.command(":pm ALICE hi")).at(-1), "OK pm alice");
  assert.match((await alice.command(":pm aIice hi"))[0] as string, /^ERR no-such-user /);
});

Deno.test("a group cannot be created as a look-alike of an existing group", async () => {
  await using server = await startTestServer();
  await using alice = await connect(server, "alice");
  await using bob = await connect(server, "bob");
  assert.equal((await alice.command(":group create ops")).at(-1), "OK group create ops");
  assert.deepEqual(await bob.command(":group create 0ps"), [
    "ERR group-exists :#0ps looks like #ops; pick another",
  ]);
  assert.deepEqual(await bob.command(":group create OPS"), [
    "ERR group-exists :#ops exists; use :group join",
  ]);
  assert.deepEqual(await alice.command(":group leave ops"), ["OK group leave ops"]);
  assert.deepEqual(await bob.command(":group create 0ps"), ["OK group create 0ps"]);
});

Deno.test("every default reserved name, and a look-alike of one, gets name-reserved", async () => {
  await using server = await startTestServer();
  for (const name of ["admin", "root", "operator", "server", "system", "ADMIN"]) {
    assert.equal(
      await answerTo(server, name),
      `ERR name-reserved :"${name}" is reserved; try another`,
    );
  }
  assert.equal(
    await answerTo(server, "r00t"),
    `ERR name-reserved :"r00t" looks like the reserved name "root"; try another`,
  );
  await using bob = await connect(server, "bob");
  assert.equal((await bob.command(":name 5ystem")).at(-1), "OK name 5ystem");
  assert.deepEqual(await bob.command(":name Adm1n"), [
    `ERR name-reserved :"Adm1n" looks like the reserved name "admin"`,
  ]);
});

Deno.test("a configured list replaces the defaults; the console's name stays reserved", async () => {
  await using server = await startTestServer({ reservedNames: ["staff"] });
  assert.match(await answerTo(server, "5taff"), /^WELCOME 5taff /);
  assert.match(await answerTo(server, "staf.f"), /^WELCOME staf\.f /);
  assert.match(await answerTo(server, "STAFF"), /^ERR name-reserved :"STAFF" is reserved/);
  assert.match(await answerTo(server, "admin"), /^WELCOME admin /);
  assert.match(await answerTo(server, "serv3r"), /^WELCOME serv3r /);
  assert.match(await answerTo(server, "5erver"), /^WELCOME 5erver /);
  assert.match(await answerTo(server, "SERVER"), /^ERR name-reserved :/);
});

Deno.test("an empty list lets anyone be admin or root", async () => {
  await using server = await startTestServer({ reservedNames: [] });
  await using admin = await connect(server, "admin");
  await using _root = await connect(server, "r00t");
  assert.match(await admin.waitFor("JOIN r00t"), /^JOIN r00t$/);
  assert.match((await admin.command(":whoami"))[0] as string, /^WHOAMI admin \S+ user :$/);
  assert.match(await answerTo(server, "server"), /^ERR name-reserved :/);
});
