/** `core/util/latch.ts`: a one-time event waited for before or after it happens. */

import assert from "node:assert/strict";
import { Latch } from "../core/util/latch.ts";

Deno.test("latch: waits before the event resolve when it opens; waits after it resolve at once", async () => {
  const latch = new Latch();
  let early = false;
  const waited = latch.wait().then(() => early = true);
  await Promise.resolve();
  assert.equal(early, false);
  assert.equal(latch.isOpen, false);
  latch.open();
  latch.open();
  await waited;
  assert.equal(early, true);
  assert.equal(latch.isOpen, true);
  await latch.wait();
});
