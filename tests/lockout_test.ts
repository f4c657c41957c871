/**
 * Issue 14: failed `:auth` attempts lock their address out, with lockouts that double up to 15
 * minutes. The policy on the class with a clock the test drives; the server over real TCP.
 */

import assert from "node:assert/strict";
import {
  AttemptLimiter,
  DEFAULT_LOCKOUT_MS,
  DEFAULT_MAX_LOCKOUT_MS,
} from "../core/server/attempts.ts";
import { attemptKey } from "../core/util/cidr.ts";
import { connect, HAS_IPV6_LOOPBACK, startTestServer, TestClient } from "./_helpers.ts";
import { withLogFolder } from "./_logs.ts";
import { sleep } from "../core/util/time.ts";

const TOKEN = "the-right-token";
const MINUTE = 60_000;

const noIpv6 = !HAS_IPV6_LOOPBACK;
if (noIpv6) console.warn("lockout_test: no IPv6 loopback here; the ::1 tests are skipped");

/** Fails `ip` `count` times at `now`; returns the lockout lengths begun. */
function failTimes(limiter: AttemptLimiter, ip: string, count: number, now: number): number[] {
  const lockouts = [];
  for (let i = 0; i < count; i++) {
    const failure = limiter.fail(ip, now);
    if (failure.locked) lockouts.push(failure.lockoutMs);
  }
  return lockouts;
}

Deno.test("attempt keys: IPv4 as itself, IPv4-mapped as IPv4, IPv6 by its /64", () => {
  assert.equal(attemptKey("10.1.2.3"), "10.1.2.3");
  assert.equal(attemptKey("::ffff:10.1.2.3"), "10.1.2.3");
  assert.equal(attemptKey("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  assert.equal(attemptKey("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
  assert.notEqual(attemptKey("2001:db8:1:3::1"), attemptKey("2001:db8:1:2::1"));
  assert.equal(attemptKey("::1"), "0:0:0:0::/64");
  assert.equal(attemptKey("console"), "console");
});

Deno.test("limiter: the 5th failure within a minute locks out for a minute; other addresses are free", () => {
  const limiter = new AttemptLimiter();
  assert.deepEqual(failTimes(limiter, "10.0.0.1", 4, 0), []);
  assert.ok(limiter.check("10.0.0.1", 1000).allowed);
  assert.deepEqual(failTimes(limiter, "10.0.0.1", 1, 59_999), [DEFAULT_LOCKOUT_MS]);
  assert.deepEqual(limiter.check("10.0.0.1", 60_000), { allowed: false, retryAfterMs: 59_999 });
  assert.ok(limiter.check("10.0.0.2", 60_000).allowed);
  assert.ok(limiter.check("10.0.0.1", 59_999 + MINUTE).allowed, "the lockout ends");
  assert.equal(limiter.lockouts, 1);
  assert.equal(limiter.refused, 1);
});

Deno.test("limiter: failures older than the window do not count", () => {
  const limiter = new AttemptLimiter();
  assert.deepEqual(failTimes(limiter, "10.0.0.1", 4, 0), []);
  assert.deepEqual(failTimes(limiter, "10.0.0.1", 4, MINUTE), []);
  assert.ok(limiter.check("10.0.0.1", MINUTE).allowed);
});

Deno.test("limiter: one failure on probation doubles the lockout, up to 15 minutes", () => {
  const limiter = new AttemptLimiter();
  let now = 0;
  failTimes(limiter, "10.0.0.1", 5, now);
  const lengths = [DEFAULT_LOCKOUT_MS];
  for (let i = 0; i < 6; i++) {
    now += lengths.at(-1)!; // the moment the lockout ends
    assert.ok(limiter.check("10.0.0.1", now).allowed);
    lengths.push(...failTimes(limiter, "10.0.0.1", 1, now));
  }
  assert.deepEqual(lengths.map((ms) => ms / MINUTE), [1, 2, 4, 8, 15, 15, 15]);
  assert.equal(Math.max(...lengths), DEFAULT_MAX_LOCKOUT_MS);
});

Deno.test("limiter: attempts while locked out neither count nor lengthen the lockout", () => {
  const limiter = new AttemptLimiter();
  failTimes(limiter, "10.0.0.1", 5, 0);
  for (let t = 0; t < MINUTE; t += 1000) {
    assert.equal(limiter.check("10.0.0.1", t).allowed, false);
    assert.equal(limiter.fail("10.0.0.1", t).locked, false);
  }
  assert.ok(limiter.check("10.0.0.1", MINUTE).allowed);
  assert.equal(limiter.lockouts, 1);
});

Deno.test("limiter: a quiet probation forgets the address; a success forgets it at once", () => {
  const limiter = new AttemptLimiter();
  failTimes(limiter, "10.0.0.1", 5, 0);
  const afterProbation = MINUTE + DEFAULT_MAX_LOCKOUT_MS;
  assert.deepEqual(failTimes(limiter, "10.0.0.1", 4, afterProbation), []);
  assert.deepEqual(failTimes(limiter, "10.0.0.1", 1, afterProbation), [DEFAULT_LOCKOUT_MS]);
  const fresh = new AttemptLimiter();
  failTimes(fresh, "10.0.0.2", 5, 0);
  fresh.succeed("10.0.0.2");
  assert.deepEqual(failTimes(fresh, "10.0.0.2", 4, MINUTE), [], "failures and history forgotten");
});

Deno.test("limiter: an IPv6 /64 is one address; an IPv4-mapped peer counts with its IPv4 self", () => {
  const limiter = new AttemptLimiter();
  for (let i = 1; i <= 5; i++) limiter.fail(`2001:db8:0:1::${i}`, 0);
  assert.equal(limiter.check("2001:db8:0:1:abcd::9", 1).allowed, false);
  assert.ok(limiter.check("2001:db8:0:2::1", 1).allowed);
  failTimes(limiter, "::ffff:192.0.2.7", 4, 0);
  assert.deepEqual(failTimes(limiter, "192.0.2.7", 1, 0), [DEFAULT_LOCKOUT_MS]);
});

Deno.test("limiter: the table holds at most maxEntries addresses, forgetting the least recently failed", () => {
  const limiter = new AttemptLimiter({ maxEntries: 3 });
  for (let i = 0; i < 1000; i++) failTimes(limiter, `10.0.${i >> 8}.${i & 0xff}`, 1, i);
  assert.equal(limiter.size, 3);
  const bounded = new AttemptLimiter({ maxEntries: 3 });
  failTimes(bounded, "10.0.0.1", 5, 0);
  failTimes(bounded, "10.0.0.2", 1, 1);
  failTimes(bounded, "10.0.0.1", 1, 2); // refreshed: 10.0.0.2 is now the oldest
  failTimes(bounded, "10.0.0.3", 1, 3);
  failTimes(bounded, "10.0.0.4", 1, 4);
  assert.equal(bounded.size, 3);
  assert.equal(bounded.check("10.0.0.1", 5).allowed, false, "the locked-out one was kept");
  assert.deepEqual(failTimes(bounded, "10.0.0.2", 4, 5), [], "10.0.0.2 was forgotten");
});

Deno.test("limiter: maxFailures 0 never locks out; bad options are refused", () => {
  const off = new AttemptLimiter({ maxFailures: 0 });
  assert.deepEqual(failTimes(off, "10.0.0.1", 100, 0), []);
  assert.equal(off.size, 0);
  assert.throws(() => new AttemptLimiter({ lockoutMs: 0 }), RangeError);
  assert.throws(() => new AttemptLimiter({ maxEntries: 0 }), RangeError);
  assert.throws(() => new AttemptLimiter({ maxFailures: -1 }), RangeError);
});

/** The lines of every `errors.log*` file, after the body ran and the logging was disposed. */
async function errorLines(body: (dir: string) => Promise<void>): Promise<string[]> {
  const files = await withLogFolder({}, body);
  const decoder = new TextDecoder();
  return [...files.keys()].filter((name) => name.startsWith("errors.log"))
    .flatMap((name) => decoder.decode(files.get(name)).split("\n").filter((l) => l !== ""));
}

Deno.test({
  name:
    "lockout: an attacker on 127.0.0.1 is locked out after 5 wrong tokens, a user on ::1 is not",
  ignore: noIpv6,
  fn: async () => {
    const lines = await errorLines(async () => {
      await using server = await startTestServer({ host: "::", adminToken: TOKEN });
      await using mallory = await connect(server, "mallory", "127.0.0.1");
      for (let i = 0; i < 5; i++) {
        assert.deepEqual(await mallory.command(`:auth guess-${i}`), [
          "ERR not-allowed :wrong token",
        ]);
      }
      const [refusal = ""] = await mallory.command(`:auth ${TOKEN}`);
      assert.match(refusal, /^ERR too-many-attempts :try again in (60|59) s$/);
      assert.ok((await mallory.command(":stats"))[0]?.startsWith("ERR not-allowed"), "no rights");

      await using alice = await connect(server, "alice", "::1");
      assert.deepEqual(await alice.command(`:auth ${TOKEN}`), ["OK auth admin"]);
      const stats = await alice.command(":stats");
      assert.ok(stats.includes("STAT lockouts 1"), stats.join("\n"));
      assert.ok(stats.includes("STAT attemptsRefused 1"), stats.join("\n"));

      // A new connection from the same address is still locked out.
      await using again = await connect(server, "mallory2", "127.0.0.1");
      assert.match((await again.command(`:auth ${TOKEN}`))[0] ?? "", /^ERR too-many-attempts /);
      assert.equal(server.stats().attemptsRefused, 2);
    });
    const lockouts = lines.filter((line) => line.includes("locked out of :auth"));
    assert.equal(lockouts.length, 1, lines.join("\n"));
    assert.match(
      lockouts[0]!,
      /127\.0\.0\.1 locked out of :auth, :login and HTTP admin requests for 60 s/,
    );
  },
});

Deno.test("lockout: failures from several connections of one address add up", async () => {
  await using server = await startTestServer({ adminToken: TOKEN });
  for (let i = 0; i < 5; i++) {
    await using client = await TestClient.open(server);
    await client.nextLine(); // HELLO
    assert.deepEqual(await client.command(":auth wrong"), ["ERR not-allowed :wrong token"]);
  }
  await using last = await connect(server, "last");
  assert.match((await last.command(`:auth ${TOKEN}`))[0] ?? "", /^ERR too-many-attempts /);
  assert.equal(server.stats().lockouts, 1);
});

Deno.test("lockout: it ends, a failure then locks out for twice as long, and each is one warning", async () => {
  const lines = await errorLines(async () => {
    // 0.5 s instead of a minute, so the test waits for the end of a real lockout.
    await using server = await startTestServer({ adminToken: TOKEN, authLockout: 0.5 });
    await using mallory = await connect(server, "mallory");
    for (let i = 0; i < 5; i++) await mallory.command(":auth wrong");
    assert.match((await mallory.command(`:auth ${TOKEN}`))[0] ?? "", /^ERR too-many-attempts /);
    await sleep(600);
    // On probation: one failure is enough for the second, doubled lockout.
    assert.deepEqual(await mallory.command(":auth wrong"), ["ERR not-allowed :wrong token"]);
    assert.match((await mallory.command(`:auth ${TOKEN}`))[0] ?? "", /^ERR too-many-attempts /);
    await sleep(1100);
    assert.deepEqual(await mallory.command(`:auth ${TOKEN}`), ["OK auth admin"]);
    assert.equal(server.stats().lockouts, 2);
  });
  const lockouts = lines.filter((line) => line.includes("locked out of :auth"));
  assert.equal(lockouts.length, 2, lines.join("\n"));
  assert.match(
    lockouts[0]!,
    /127\.0\.0\.1 locked out of :auth, :login and HTTP admin requests for 0\.5 s/,
  );
  assert.match(
    lockouts[1]!,
    /127\.0\.0\.1 locked out of :auth, :login and HTTP admin requests for 1 s/,
  );
});

Deno.test("lockout: a success resets the address's failures", async () => {
  await using server = await startTestServer({ adminToken: TOKEN });
  await using alice = await connect(server, "alice");
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 4; i++) await alice.command(":auth wrong");
    assert.deepEqual(await alice.command(`:auth ${TOKEN}`), ["OK auth admin"]);
  }
  assert.equal(server.stats().lockouts, 0);
});

Deno.test("lockout: further failures log nothing more; the lockout is one warning", async () => {
  const lines = await errorLines(async () => {
    await using server = await startTestServer({ adminToken: TOKEN });
    await using alice = await connect(server, "alice");
    for (let i = 0; i < 8; i++) await alice.command(":auth wrong");
  });
  assert.equal(lines.filter((line) => line.includes("failed :auth from alice")).length, 5);
  assert.equal(lines.filter((line) => line.includes("locked out of :auth")).length, 1);
});
