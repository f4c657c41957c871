import assert from "node:assert/strict";
import { type ByteSink, Outbound } from "../core/server/outbound.ts";

/** A sink that records every write and takes it whole. */
function recordingSink(): ByteSink & { writes: Uint8Array[] } {
  const writes: Uint8Array[] = [];
  return { writes, write: (bytes) => (writes.push(bytes), Promise.resolve(bytes.length)) };
}

const bytes = (length: number, fill: number) => new Uint8Array(length).fill(fill);

Deno.test("outbound: small lines queued together go out in one write, in order", async () => {
  const sink = recordingSink();
  const out = new Outbound(sink, { maxQueueBytes: 1024 * 1024 });
  for (let i = 0; i < 10; i++) out.enqueue(bytes(10, i));
  await out.flushed();
  assert.equal(sink.writes.length, 1);
  assert.deepEqual([...(sink.writes[0] ?? [])], Array.from({ length: 100 }, (_, i) => i / 10 | 0));
});

Deno.test("outbound: a big shared buffer is written as it is, never copied", async () => {
  const sink = recordingSink();
  const out = new Outbound(sink, { maxQueueBytes: 1024 * 1024 });
  const small = bytes(100, 1);
  const big = bytes(64 * 1024, 2); // a broadcast batch, the same object for every recipient
  out.enqueue(small);
  out.enqueue(big);
  out.enqueue(bytes(100, 3));
  out.enqueue(bytes(100, 4));
  await out.flushed();
  assert.equal(sink.writes.length, 3);
  assert.equal(sink.writes[0], small);
  assert.equal(sink.writes[1], big, "the big buffer itself, not a copy");
  assert.deepEqual([...(sink.writes[2] ?? [])], [...bytes(100, 3), ...bytes(100, 4)]);
});
