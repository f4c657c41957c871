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

Deno.test("outbound: a sink that takes a few bytes at a time gets the rest, in order, and every byte is counted", async () => {
  const taken: number[] = [];
  const sink: ByteSink = {
    write: (chunk) => {
      const count = Math.min(7, chunk.length);
      taken.push(...chunk.subarray(0, count));
      return Promise.resolve(count);
    },
  };
  const out = new Outbound(sink, { maxQueueBytes: 1024 * 1024 });
  const sent = [bytes(20, 1), bytes(20 * 1024, 2), bytes(5, 3)];
  for (const chunk of sent) out.enqueue(chunk);
  // Queued while the first ones are still being written: joins the next batch.
  await Promise.resolve();
  out.enqueue(bytes(9, 4));
  await out.flushed();
  assert.deepEqual(taken, [...sent.flatMap((chunk) => [...chunk]), ...bytes(9, 4)]);
  assert.equal(out.queuedBytes, 0);
  assert.equal(out.bytesWritten, 20 + 20 * 1024 + 5 + 9);
});

Deno.test("outbound: a failed write stops the queue once; nothing more is written or queued", async () => {
  let calls = 0;
  let failures = 0;
  const sink: ByteSink = {
    write: (chunk) =>
      ++calls === 2 ? Promise.reject(new Error("reset")) : Promise.resolve(chunk.length),
  };
  const out = new Outbound(sink, {
    maxQueueBytes: 1024 * 1024,
    events: { congestionChanged: () => {}, writeFailed: () => failures++ },
  });
  out.enqueue(bytes(20 * 1024, 1)); // written alone
  out.enqueue(bytes(20 * 1024, 2)); // fails
  out.enqueue(bytes(20 * 1024, 3)); // never written
  await out.flushed();
  assert.equal(calls, 2);
  assert.equal(failures, 1);
  assert.ok(out.failed);
  assert.equal(out.queuedBytes, 0);
  assert.equal(out.enqueue(bytes(1, 4)), false, "a failed queue refuses");
});

Deno.test("outbound: a sink that throws instead of rejecting fails the queue the same way", async () => {
  let failures = 0;
  const out = new Outbound({
    write: () => {
      throw new Error("closed");
    },
  }, {
    maxQueueBytes: 1024,
    events: { congestionChanged: () => {}, writeFailed: () => failures++ },
  });
  out.enqueue(bytes(10, 1));
  await out.flushed();
  assert.equal(failures, 1);
  assert.ok(out.failed);
});
