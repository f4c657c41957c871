/**
 * A bench run that lost messages to closed subscribers names the limit that closed them, read
 * from the server's console lines.
 * @module
 */

import assert from "node:assert/strict";
import { cutReasons } from "../scripts/bench/cut_reasons.ts";

const LOG = [
  "22:54:01 info  connected 127.0.0.1:54196",
  "22:54:03 info  disconnected 127.0.0.1:54196 s7: slow-consumer (no progress writing to you for 5 s)",
  "22:54:03 info  disconnected 127.0.0.1:54198 s8: slow-consumer (no progress writing to you for 5 s)",
  "22:54:04 info  disconnected 127.0.0.1:54200 s9: stale (no answer to PING within 20 s)",
  "22:54:10 info  disconnected 127.0.0.1:55128 pub: quit (Goodbye!)",
].join("\n");

Deno.test("cut reasons: the server's own disconnects, counted by reason and detail, most first", () => {
  assert.deepEqual(cutReasons(LOG), [
    "2 × slow-consumer (no progress writing to you for 5 s): s7, s8",
    "1 × stale (no answer to PING within 20 s): s9",
  ]);
});

Deno.test("cut reasons: a client's own quit is not a cut", () => {
  assert.deepEqual(cutReasons(LOG.split("\n").slice(-1).join("\n")), []);
});

Deno.test("cut reasons: at most `limit` kinds and five names each", () => {
  const many = Array.from(
    { length: 7 },
    (_, i) => `t info  disconnected 127.0.0.1:${i} s${i}: idle (no activity for 600 s)`,
  ).join("\n");
  assert.deepEqual(cutReasons(`${LOG}\n${many}`, 1), [
    "7 × idle (no activity for 600 s): s0, s1, s2, s3, s4, …",
  ]);
});
