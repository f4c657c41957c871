import assert from "node:assert/strict";
import { ReadBuffers } from "../core/server/read_buffers.ts";

Deno.test("read buffers: a buffer is reused while nothing retains it", () => {
  const buffers = new ReadBuffers(1024, 65536);
  const first = buffers.next(0);
  buffers.filled(100);
  assert.equal(buffers.next(0), first);
});

Deno.test("read buffers: a retained buffer comes back only once the queue has written past it", () => {
  const buffers = new ReadBuffers(1024, 65536);
  const first = buffers.next(0);
  buffers.filled(100);
  buffers.retain(500); // echoed: written once the queue's total reaches 500 bytes
  const second = buffers.next(499);
  assert.notEqual(second, first);
  buffers.filled(100);
  buffers.retain(600);
  assert.equal(buffers.next(500), first, "the first is free again, the second is not");
  buffers.filled(100);
  buffers.retain(700);
  const third = buffers.next(550);
  assert.ok(third !== first && third !== second, "both busy: a third buffer");
});

Deno.test("read buffers: grow fourfold while reads fill them, shrink when reads get small", () => {
  const buffers = new ReadBuffers(1024, 65536);
  const sizes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const buffer = buffers.next(0);
    sizes.push(buffer.length);
    buffers.filled(buffer.length);
  }
  assert.deepEqual(sizes, [1024, 4096, 16384, 65536, 65536]);
  buffers.filled(10);
  assert.equal(buffers.next(0).length, 16384);
  buffers.filled(10);
  assert.equal(buffers.next(0).length, 4096);
});
