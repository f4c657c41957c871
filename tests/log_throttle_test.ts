import assert from "node:assert/strict";
import type { Logger } from "@logtape/logtape";
import { LogThrottle, OVERFLOW_SUMMARY, REPEAT_SUMMARY } from "../core/log/throttle.ts";
import { eventually } from "./_helpers.ts";

/** A logger that only records its warnings. */
function recorder(): { log: Logger; warnings: [string, Record<string, unknown>][] } {
  const warnings: [string, Record<string, unknown>][] = [];
  const log = {
    warning: (message: string, properties: Record<string, unknown>) => {
      warnings.push([message, properties]);
    },
  } as unknown as Logger;
  return { log, warnings };
}

const AUTH = "failed :auth from {name} ({peer})";
const UTF8 = "invalid UTF-8 from {name} ({peer})";

Deno.test("log throttle: each kind and address gets its allowance; the rest is one summary", () => {
  const { log, warnings } = recorder();
  using throttle = new LogThrottle({ allowance: 3 });
  for (let i = 0; i < 10; i++) throttle.warning(log, "10.0.0.1", AUTH, { n: i });
  for (let i = 0; i < 4; i++) throttle.warning(log, "10.0.0.2", AUTH, { n: i });
  for (let i = 0; i < 2; i++) throttle.warning(log, "10.0.0.1", UTF8, { n: i });
  assert.deepEqual(warnings.map(([m, p]) => `${m} ${p.n}`), [
    `${AUTH} 0`,
    `${AUTH} 1`,
    `${AUTH} 2`,
    `${AUTH} 0`,
    `${AUTH} 1`,
    `${AUTH} 2`,
    `${UTF8} 0`,
    `${UTF8} 1`,
  ]);
  warnings.length = 0;
  throttle.flush();
  assert.deepEqual(warnings, [
    [REPEAT_SUMMARY, { count: 7, window: "minute", like: AUTH, ip: "10.0.0.1" }],
    [REPEAT_SUMMARY, { count: 1, window: "minute", like: AUTH, ip: "10.0.0.2" }],
  ]);
  // A new window: the allowance starts again.
  warnings.length = 0;
  throttle.warning(log, "10.0.0.1", AUTH, { n: 99 });
  assert.equal(warnings.length, 1);
});

Deno.test("log throttle: a named kind separates causes that share a template", () => {
  const { log, warnings } = recorder();
  using throttle = new LogThrottle({ allowance: 1 });
  for (const code of ["refused", "server-full", "refused", "server-full"]) {
    throttle.warning(log, "::1", "refused {peer}: {code}", { code }, `refused: ${code}`);
  }
  assert.equal(warnings.length, 2);
  throttle.close();
  assert.deepEqual(warnings.slice(2).map(([, p]) => [p.like, p.count]), [
    ["refused: refused", 1],
    ["refused: server-full", 1],
  ]);
});

Deno.test("log throttle: addresses over the cap share one entry per kind", () => {
  const { log, warnings } = recorder();
  using throttle = new LogThrottle({ allowance: 1, maxKeys: 2 });
  for (let round = 0; round < 3; round++) {
    for (let i = 1; i <= 1000; i++) throttle.warning(log, `10.0.${i >> 8}.${i & 255}`, AUTH, {});
  }
  // Two tracked addresses and the shared entry, one warning each.
  assert.equal(warnings.length, 3);
  warnings.length = 0;
  throttle.flush();
  assert.deepEqual(warnings, [
    [REPEAT_SUMMARY, { count: 2, window: "minute", like: AUTH, ip: "10.0.0.1" }],
    [REPEAT_SUMMARY, { count: 2, window: "minute", like: AUTH, ip: "10.0.0.2" }],
    [OVERFLOW_SUMMARY, { count: 3 * 998 - 1, window: "minute", like: AUTH }],
  ]);
});

Deno.test("log throttle: the window ends on its own timer; close flushes and stops throttling", async () => {
  const { log, warnings } = recorder();
  const throttle = new LogThrottle({ windowMs: 30, allowance: 1 });
  for (let i = 0; i < 5; i++) throttle.warning(log, "127.0.0.1", AUTH, {});
  await eventually(() => warnings.length === 2, 2000, "the window's summary");
  assert.deepEqual(warnings[1], [
    REPEAT_SUMMARY,
    { count: 4, window: "0.03 s", like: AUTH, ip: "127.0.0.1" },
  ]);
  for (let i = 0; i < 3; i++) throttle.warning(log, "127.0.0.1", AUTH, {});
  throttle.close();
  assert.equal(warnings.length, 4, "one more line, and the summary of two");
  for (let i = 0; i < 3; i++) throttle.warning(log, "127.0.0.1", AUTH, {});
  assert.equal(warnings.length, 7, "after close, warnings pass through");
});

Deno.test("log throttle: windows say minutes or seconds; bad options throw", () => {
  const { log, warnings } = recorder();
  for (const [windowMs, said] of [[120_000, "2 minutes"], [1500, "1.5 s"]] as const) {
    using throttle = new LogThrottle({ windowMs, allowance: 0 });
    throttle.warning(log, "::1", AUTH, {});
    throttle.flush();
    assert.equal(warnings.pop()?.[1].window, said);
  }
  assert.throws(() => new LogThrottle({ windowMs: 0 }), RangeError);
  assert.throws(() => new LogThrottle({ allowance: -1 }), RangeError);
  assert.throws(() => new LogThrottle({ maxKeys: 0 }), RangeError);
});
