import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeText, takeBytes } from "../core/util/byte_slab.ts";

const encoder = new TextEncoder();

Deno.test("byte slab: any text encodes as TextEncoder encodes it, and earlier pieces never change", () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ unit: "binary", maxLength: 900 }), { maxLength: 60 }),
      (texts) => {
        const pieces = texts.map((text) => encodeText(text));
        // Enough after them to fill several slabs: nothing may be written over what was handed out.
        for (let i = 0; i < 200; i++) encodeText("x".repeat(500)).fill(0x21);
        texts.forEach((text, i) => assert.deepEqual(pieces[i], encoder.encode(text)));
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("byte slab: taken bytes are zero, independent, and big ones get arrays of their own", () => {
  const first = takeBytes(10);
  const second = takeBytes(10);
  assert.deepEqual(first, new Uint8Array(10));
  first.fill(7);
  assert.deepEqual(second, new Uint8Array(10), "a neighbour is untouched");
  const big = takeBytes(64 * 1024);
  assert.equal(big.length, 64 * 1024);
  assert.equal(big.byteOffset, 0);
  assert.equal(big.buffer.byteLength, 64 * 1024);
  const long = "é".repeat(2000);
  assert.equal(encodeText(long).buffer.byteLength, 4000, "a long text is encoded on its own");
});
