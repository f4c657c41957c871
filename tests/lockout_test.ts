/**
 * Issue 14: failed `:auth` attempts lock their address out, with lockouts that double up to 15
 * minutes. The policy on the class, with a clock the test drives.
 */

import assert from "node:assert/strict";
import {
  AttemptLimiter,
  DEFAULT_LOCKOUT_MS,
  DEFAULT_MAX_LOCKOUT_MS,
} from "../core/server/attempts.ts";
import { attemptKey } from "../core/util/cidr.ts";

const MINUTE = 60_000;

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
