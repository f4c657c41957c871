import assert from "node:assert/strict";
import { LineParser, TOO_LONG } from "../core/protocol/line_parser.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Feeds `input` in pieces of `size` bytes; returns lines as strings and "<too-long>". */
function parse(input: string | Uint8Array, size: number, max = 1024): string[] {
  const bytes = typeof input === "string" ? encoder.encode(input) : input;
  const parser = new LineParser(max);
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    // Copy each piece, as a reused read buffer would be overwritten.
    parser.push(bytes.slice(i, i + size));
    for (let line = parser.next(); line !== null; line = parser.next()) {
      out.push(line === TOO_LONG ? "<too-long>" : decoder.decode(line.slice()));
    }
  }
  const tail = parser.takePartial();
  if (tail !== null) {
    out.push(tail === TOO_LONG ? "<too-long>" : `<partial>${decoder.decode(tail)}`);
  }
  return out;
}

const cases: [string, string, number, string[]][] = [
  ["one line", "hello\n", 1024, ["hello"]],
  ["several lines", "a\nb\nc\n", 1024, ["a", "b", "c"]],
  ["crlf endings", "a\r\nb\r\n", 1024, ["a", "b"]],
  ["a lone cr stays", "a\rb\n", 1024, ["a\rb"]],
  ["empty lines", "\n\n", 1024, ["", ""]],
  ["exactly the limit", "12345\n", 5, ["12345"]],
  ["exactly the limit with crlf", "12345\r\n", 5, ["12345"]],
  ["one over the limit", "123456\nok\n", 5, ["<too-long>", "ok"]],
  ["no final newline", "abc", 1024, ["<partial>abc"]],
  ["utf-8 split anywhere", "日本語 🎉\n", 1024, ["日本語 🎉"]],
];

for (const [name, input, max, expected] of cases) {
  Deno.test(`parser: ${name}, in every chunk size from 1 byte up`, () => {
    const length = encoder.encode(input).length;
    for (let size = 1; size <= length + 1; size++) {
      assert.deepEqual(parse(input, size, max), expected, `chunk size ${size}`);
    }
  });
}

Deno.test("parser: an endless line is reported once, and the line after it arrives whole", () => {
  const parser = new LineParser(100);
  let reports = 0;
  for (let i = 0; i < 1000; i++) {
    parser.push(encoder.encode("x".repeat(64)));
    for (let line = parser.next(); line !== null; line = parser.next()) {
      assert.equal(line, TOO_LONG);
      reports++;
    }
    assert.equal(parser.hasPartialLine, true);
  }
  parser.push(encoder.encode("\nnext\n"));
  const line = parser.next();
  assert.ok(line instanceof Uint8Array);
  assert.equal(decoder.decode(line), "next");
  assert.equal(reports, 1);
});

Deno.test("parser: lines inside one chunk are views into it, carried lines are copies", () => {
  const parser = new LineParser(100);
  parser.push(encoder.encode("ab"));
  assert.equal(parser.next(), null);
  const chunk = encoder.encode("c\nde\n");
  parser.push(chunk);
  const carried = parser.next() as Uint8Array;
  assert.equal(decoder.decode(carried), "abc");
  assert.equal(parser.carried, true);
  const view = parser.next() as Uint8Array;
  assert.equal(decoder.decode(view), "de");
  assert.equal(parser.carried, false);
  assert.equal(view.buffer, chunk.buffer);
  assert.equal(parser.position, chunk.length);
});

Deno.test("parser: a sized payload is returned raw, then line framing resumes", () => {
  const parser = new LineParser(100);
  parser.push(encoder.encode("PUT 5\nab\ncdrest\n"));
  assert.equal(decoder.decode(parser.next() as Uint8Array), "PUT 5");
  parser.expectPayload(5);
  assert.equal(parser.next(), null);
  assert.equal(decoder.decode(parser.nextPayload() as Uint8Array), "ab\ncd");
  assert.equal(parser.payloadRemaining, 0);
  assert.equal(decoder.decode(parser.next() as Uint8Array), "rest");
});

/** Splits `bytes` at every `\n` the simple way: the reference the parser must agree with. */
function referenceLines(bytes: Uint8Array, max: number): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x0a) continue;
    let end = i;
    if (end > start && bytes[end - 1] === 0x0d) end--;
    out.push(end - start > max ? "<too-long>" : decoder.decode(bytes.slice(start, end)));
    start = i + 1;
  }
  if (start < bytes.length) out.push(`<partial>${decoder.decode(bytes.slice(start))}`);
  return out;
}

Deno.test("parser: big chunks split the same whatever bytes they hold", () => {
  // Big chunks are scanned in a decoded copy; ASCII, multi-byte text, invalid bytes, a byte-order
  // mark and over-long lines must all come out exactly as a byte-by-byte split gives them.
  const pieces = [
    "plain ascii line",
    "日本語 🎉",
    "\xff\x80 lone",
    "\ufeffbom",
    "crlf\r",
    "x".repeat(3000),
  ];
  let seed = 7;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (const mix of [[0], [0, 4], [0, 1], [0, 2], [0, 3], [0, 5], [0, 1, 2, 3, 4, 5]]) {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 400; i++) {
      const text = pieces[mix[random(mix.length)]!]!;
      parts.push(
        text.startsWith("\xff")
          ? Uint8Array.from([0xff, 0x80, ...encoder.encode(text.slice(2)), 0x0a])
          : encoder.encode(`${text}\n`),
      );
    }
    const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    parts.reduce((offset, part) => (bytes.set(part, offset), offset + part.length), 0);
    for (const size of [1000, 1024, 4096, 65536]) {
      assert.deepEqual(
        parse(bytes, size, 2048),
        referenceLines(bytes, 2048),
        `pieces ${mix}, chunks of ${size}`,
      );
    }
  }
});

Deno.test("parser: lines after a payload in the same big chunk are found", () => {
  const parser = new LineParser(100);
  const payload = new Uint8Array(3000).fill(0x0a);
  const chunk = new Uint8Array([
    ...encoder.encode("PUT 3000\n"),
    ...payload,
    ...encoder.encode("after\n"),
  ]);
  parser.push(chunk);
  assert.equal(decoder.decode(parser.next() as Uint8Array), "PUT 3000");
  parser.expectPayload(payload.length);
  assert.equal((parser.nextPayload() as Uint8Array).length, payload.length);
  assert.equal(decoder.decode(parser.next() as Uint8Array), "after");
  assert.equal(parser.next(), null);
});
