/**
 * Issue 14, accounts: `:login <name> <password>` takes an account's name, account names (and
 * their look-alikes) are reserved for their holders, `requireLogin` leaves names to accounts
 * only, admin accounts need no token, failed logins count towards the lockout shared with
 * `:auth`, and a second login of an account replaces the first connection. Over real TCP.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { ServerOptions } from "../core/config/options.ts";
import { writeAccountsFile } from "../core/config/accounts_file.ts";
import { Accounts } from "../core/server/accounts.ts";
import { hashPassword } from "../core/util/password_hash.ts";
import { connect, HAS_IPV6_LOOPBACK, startTestServer, TestClient } from "./_helpers.ts";
import { withLogFolder } from "./_logs.ts";

/** Cheap scrypt parameters: the tests check behaviour, not the cost. */
const FAST = { N: 1024 };
const ALICE_PASSWORD = "correct horse battery";
const ROOT_PASSWORD = "staple";

const noIpv6 = !HAS_IPV6_LOOPBACK;
if (noIpv6) console.warn("login_test: no IPv6 loopback here; the ::1 test is skipped");

/** An accounts file with `alice` (user) and `boss` (admin) in a temp folder. */
async function accountsFile(): Promise<{ path: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-accounts-" });
  const path = join(dir, "accounts.json");
  await writeAccountsFile(path, {
    users: {
      alice: { password: await hashPassword(ALICE_PASSWORD, FAST) },
      boss: { password: await hashPassword(ROOT_PASSWORD, FAST), admin: true },
    },
  });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** A server with the test accounts. */
async function serverWithAccounts(options: ServerOptions = {}) {
  const file = await accountsFile();
  const server = await startTestServer({ accounts: file.path, ...options });
  return {
    server,
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      await file[Symbol.asyncDispose]();
    },
  };
}

/** Opens a connection and reads its `HELLO`, without a name. */
async function open(port: number, hostname = "127.0.0.1"): Promise<TestClient> {
  const client = await TestClient.open(port, hostname);
  assert.match(await client.nextLine(), /^HELLO /);
  return client;
}

Deno.test(":login before a name registers under the account's own spelling, and others see it join", async () => {
  await using setup = await serverWithAccounts();
  const port = setup.server.addr.port;
  await using bob = await connect(port, "bob");
  await using alice = await open(port);
  assert.deepEqual(await alice.command(`:login ALICE ${ALICE_PASSWORD}`), [
    "WELCOME alice 2 :Hello alice! 2 online. Type :help for commands",
    "OK login alice",
  ]);
  assert.match(await alice.nextLine(), /^SESSION \S+$/, "the session's token follows");
  assert.equal(await bob.nextLine(), "JOIN alice");
  await alice.send("hi bob");
  assert.equal(await bob.nextLine(), "MSG alice * :hi bob");
  assert.match((await alice.command(":whoami"))[0] ?? "", /^WHOAMI alice \S+ user/);
});

Deno.test("a wrong password and an unknown name get the same ERR login-failed, not before 250 ms", async () => {
  await using setup = await serverWithAccounts();
  await using client = await open(setup.server.addr.port);
  for (const attempt of [`:login alice wrong`, `:login nobody ${ALICE_PASSWORD}`]) {
    const started = performance.now();
    assert.deepEqual(await client.command(attempt), ["ERR login-failed :wrong name or password"]);
    assert.ok(performance.now() - started >= 240, "a failure is answered after the delay");
  }
  // Nothing was granted: still no name.
  assert.match((await client.command(":list"))[0] ?? "", /^ERR not-registered /);
});

Deno.test("the password is the rest of the line: spaces inside count, and it is never logged", async () => {
  const files = await withLogFolder({}, async () => {
    await using setup = await serverWithAccounts();
    await using client = await open(setup.server.addr.port);
    assert.deepEqual(await client.command(`:login alice correct horse`), [
      "ERR login-failed :wrong name or password",
    ]);
    assert.deepEqual(
      (await client.command(`:login alice ${ALICE_PASSWORD}`)).at(-1),
      "OK login alice",
    );
  });
  const everything = [...files.values()].map((bytes) => new TextDecoder().decode(bytes)).join("");
  assert.ok(everything.includes("alice logged in"), "the login is logged");
  assert.ok(!everything.includes("battery"), "the password is not");
  assert.ok(!everything.includes("correct horse"), "nor a wrong one");
});

Deno.test("an account's name and its look-alikes are reserved for the holder: name lines and :name", async () => {
  await using setup = await serverWithAccounts();
  const port = setup.server.addr.port;
  await using guest = await open(port);
  for (const name of ["alice", "Alice", "aIice", "a1ice"]) {
    await guest.send(name);
    assert.match(await guest.nextLine(), /^ERR name-reserved :/, name);
  }
  await guest.send("bob");
  await guest.waitFor("WELCOME bob ");
  await guest.waitFor("SESSION ");
  assert.match(
    (await guest.command(":name ALICE"))[0] ?? "",
    /^ERR name-reserved :"ALICE" belongs/,
  );
  assert.match(
    (await guest.command(":name aIice"))[0] ?? "",
    /^ERR name-reserved :"aIice" looks like/,
  );
});

Deno.test("a guest who logs in is renamed to the account's name", async () => {
  await using setup = await serverWithAccounts();
  const port = setup.server.addr.port;
  await using carol = await connect(port, "carol");
  await using guest = await connect(port, "guest");
  assert.equal(await carol.nextLine(), "JOIN guest");
  assert.deepEqual(await guest.command(`:login alice ${ALICE_PASSWORD}`), [
    "NICK guest alice",
    "OK login alice",
  ]);
  assert.equal(await carol.nextLine(), "NICK guest alice");
  // An account's name stays: neither the holder nor an admin renames it.
  assert.match(
    (await guest.command(":name alice2"))[0] ?? "",
    /^ERR not-allowed :alice is logged in/,
  );
  assert.match(
    (await guest.command(`:login alice ${ALICE_PASSWORD}`))[0] ?? "",
    /^ERR not-allowed :already/,
  );
});

Deno.test("an admin account has admin rights after login, no token; a user account has not", async () => {
  await using setup = await serverWithAccounts();
  const port = setup.server.addr.port;
  await using boss = await open(port);
  assert.equal((await boss.command(`:login boss ${ROOT_PASSWORD}`)).at(-1), "OK login boss");
  assert.equal((await boss.command(":stats")).at(-1), "OK stats");
  assert.match((await boss.command(":whoami"))[0] ?? "", /^WHOAMI boss \S+ admin/);
  await using alice = await open(port);
  await alice.command(`:login alice ${ALICE_PASSWORD}`);
  await alice.waitFor("SESSION ");
  assert.match((await alice.command(":stats"))[0] ?? "", /^ERR not-allowed/);
  // An admin cannot rename an account holder away from the account's name either.
  assert.match(
    (await boss.command(":rename alice eve")).at(-1) ?? "",
    /^ERR not-allowed :alice is logged in/,
  );
});

Deno.test("with requireLogin a name line gets ERR login-required, and :login is the way in", async () => {
  await using setup = await serverWithAccounts({ requireLogin: true });
  await using client = await open(setup.server.addr.port);
  await client.send("carol");
  assert.match(await client.nextLine(), /^ERR login-required :names here belong to accounts/);
  assert.deepEqual(await client.command(":list"), [
    "ERR not-registered :log in first: :login <name> <password>",
  ]);
  assert.equal((await client.command(`:login alice ${ALICE_PASSWORD}`)).at(-1), "OK login alice");
  assert.equal((await client.command(":list")).at(-1), "OK list 1");
});

Deno.test("a second login of an account replaces the first connection, which gets BYE replaced", async () => {
  await using setup = await serverWithAccounts();
  const port = setup.server.addr.port;
  await using first = await open(port);
  await first.command(`:login alice ${ALICE_PASSWORD}`);
  await first.waitFor("SESSION ");
  await using second = await open(port);
  assert.deepEqual(
    (await second.command(`:login alice ${ALICE_PASSWORD}`)).at(-1),
    "OK login alice",
  );
  assert.deepEqual(await first.closed(), ["BYE replaced :logged in from another connection"]);
  assert.equal(setup.server.stats().disconnects.replaced, 1);
  assert.equal(setup.server.stats().online, 1);
});

Deno.test({
  name: "lockout: an attacker on 127.0.0.1 is locked out of :login, while a user on ::1 logs in",
  ignore: noIpv6,
  fn: async () => {
    await using setup = await serverWithAccounts({ host: "::", adminToken: "the-token" });
    const port = setup.server.addr.port;
    await using mallory = await open(port, "127.0.0.1");
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await mallory.command(`:login alice guess-${i}`), [
        "ERR login-failed :wrong name or password",
      ]);
    }
    // The right password no longer helps, and the lockout covers :auth too.
    const [refused = ""] = await mallory.command(`:login alice ${ALICE_PASSWORD}`);
    assert.match(refused, /^ERR too-many-attempts :try again in (60|59) s$/);
    assert.match((await mallory.command(":auth the-token"))[0] ?? "", /^ERR too-many-attempts /);

    await using alice = await open(port, "::1");
    assert.equal((await alice.command(`:login alice ${ALICE_PASSWORD}`)).at(-1), "OK login alice");
    assert.equal(setup.server.stats().lockouts, 1);
  },
});

Deno.test("failed logins from parallel connections cannot outrun the lockout", async () => {
  await using setup = await serverWithAccounts();
  const port = setup.server.addr.port;
  const clients = await Promise.all(Array.from({ length: 12 }, () => open(port)));
  try {
    const replies = await Promise.all(clients.map((c) => c.command(":login alice guess")));
    const failed = replies.filter(([line]) => line?.startsWith("ERR login-failed")).length;
    const refused = replies.filter(([line]) => line?.startsWith("ERR too-many-attempts")).length;
    assert.equal(failed + refused, 12, replies.join("\n"));
    // Checks run a few at a time; each asks the lockout again once it has a slot.
    assert.ok(failed <= 5 + 2, `at most the limit plus the checks already running: ${failed}`);
  } finally {
    for (const client of clients) await client[Symbol.asyncDispose]();
  }
});

Deno.test("password checks are bounded: beyond the running and waiting slots, busy at once", async () => {
  const accounts = new Accounts(
    { users: { alice: { password: await hashPassword("pw", FAST) } } },
    { maxRunning: 1, maxWaiting: 1 },
  );
  const outcomes = await Promise.all([
    accounts.verify("alice", "pw"),
    accounts.verify("alice", "nope"),
    accounts.verify("alice", "pw"),
  ]);
  assert.deepEqual(outcomes, [{ name: "alice", admin: false }, undefined, "busy"]);
  // Slots are given back: the next check runs.
  assert.deepEqual(await accounts.verify("ALICE", "pw"), { name: "alice", admin: false });
});

Deno.test("the console does not log in, and a login needs a name and a password", async () => {
  await using setup = await serverWithAccounts();
  assert.deepEqual(setup.server.console(`:login alice ${ALICE_PASSWORD}`), [
    "ERR not-allowed :the console does not log in",
  ]);
  await using client = await open(setup.server.addr.port);
  assert.deepEqual(await client.command(":login alice"), [
    "ERR bad-args :usage: :login <name> <password>",
  ]);
});

Deno.test("reload: a changed accounts file applies to the next login; a broken one changes nothing", async () => {
  await using file = await accountsFile();
  const options: ServerOptions = { accounts: file.path, logDir: "" };
  await using server = await startTestServer({
    ...options,
    reloadOptions: () => Promise.resolve({ host: "127.0.0.1", port: 0, ...options }),
  });
  const port = server.addr.port;
  // A guest takes a look-alike of carol's name before carol has an account.
  await using guest = await connect(port, "caroI");
  await writeAccountsFile(file.path, {
    users: {
      alice: { password: await hashPassword(ALICE_PASSWORD, FAST) },
      carol: { password: await hashPassword("carol's", FAST) },
    },
  });
  assert.equal((await server.reload()).applied.includes("accounts"), true);
  await using carol = await open(port);
  assert.equal((await carol.command(":login carol carol's")).at(-1), "OK login carol");
  assert.deepEqual(await guest.closed(), ["BYE replaced :logged in from another connection"]);
  // boss was removed: its login fails like any unknown name.
  await using boss = await open(port);
  assert.deepEqual(await boss.command(`:login boss ${ROOT_PASSWORD}`), [
    "ERR login-failed :wrong name or password",
  ]);

  await Deno.writeTextFile(file.path, `{"users": {"alice": {"password": "hunter2"}}}`);
  await assert.rejects(server.reload(), /"password" is not a hash/);
  await using alice = await open(port);
  assert.equal((await alice.command(`:login alice ${ALICE_PASSWORD}`)).at(-1), "OK login alice");
  await using dave = await open(port);
  await dave.send("carol");
  assert.match(await dave.nextLine(), /^ERR name-reserved :/, "the old table is still in force");
});

Deno.test("offline: a :pm to an account that is offline waits for its next login, then is gone", async () => {
  await using setup = await serverWithAccounts();
  const port = setup.server.addr.port;
  await using bob = await connect(port, "bob");
  assert.deepEqual(await bob.command(":pm ALICE are you there?"), ["OK pm alice stored"]);
  assert.deepEqual(await bob.command(":pm alice \x1b[31mred"), ["OK pm alice stored"]);
  assert.match((await bob.command(":pm nobody hi"))[0] ?? "", /^ERR no-such-user /);
  await using alice = await open(port);
  assert.deepEqual(await alice.command(`:login alice ${ALICE_PASSWORD}`), [
    "WELCOME alice 2 :Hello alice! 2 online. Type :help for commands",
    "PM bob :are you there?",
    "PM bob :\uFFFD[31mred",
    "OK login alice",
  ]);
  await alice.send(":quit");
  await alice.closed();
  await using again = await open(port);
  const lines = await again.command(`:login alice ${ALICE_PASSWORD}`);
  assert.deepEqual(lines.filter((line) => line.startsWith("PM ")), [], "handed over once");
});

Deno.test("offline: at most 1000 messages wait for one account; one more is ERR mailbox-full", async () => {
  await using setup = await serverWithAccounts();
  await using bob = await connect(setup.server.addr.port, "bob");
  await bob.send(Array.from({ length: 1000 }, (_, i) => `:pm alice ${i}`).join("\n"));
  for (let i = 0; i < 1000; i++) assert.equal(await bob.nextLine(), "OK pm alice stored");
  assert.deepEqual(await bob.command(":pm alice one too many"), [
    "ERR mailbox-full :alice has too many messages waiting; try later",
  ]);
});

Deno.test("offline: with the history on, waiting messages survive a restart of the server", async () => {
  await using file = await accountsFile();
  const history = file.path.replace(/accounts\.json$/, "history.db");
  const options: ServerOptions = { accounts: file.path, history };
  const first = await startTestServer(options);
  const port = first.addr.port;
  {
    await using bob = await connect(port, "bob");
    assert.deepEqual(await bob.command(":pm alice kept on disk"), ["OK pm alice stored"]);
  }
  await first.shutdown({ grace: 1 });
  await using _second = await startTestServer({ ...options, port });
  await using alice = await open(port);
  const lines = await alice.command(`:login alice ${ALICE_PASSWORD}`);
  assert.deepEqual(lines.slice(1), ["PM bob :kept on disk", "OK login alice"]);
});
