/**
 * Escaping of message text in the request log, byte level (`core/log/escape_bytes.ts`): the fast
 * check that lets plain text be copied as it is, and the escapes, which must be exactly those of
 * `escapeUnsafe` in text lines and valid, lossless JSON in JSON lines.
 */
import assert from "node:assert/strict";
import { escapeUnsafe } from "../core/log/escape.ts";
import {
  type EscapeFormat,
  isPlainAscii,
  MAX_ESCAPED_GROWTH,
  writeEscaped,
} from "../core/log/escape_bytes.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const FORMATS: EscapeFormat[] = ["text", "json"];

function escaped(bytes: Uint8Array, format: EscapeFormat): string {
  const out = new Uint8Array(bytes.length * MAX_ESCAPED_GROWTH);
  return decoder.decode(out.subarray(0, writeEscaped(out, 0, bytes, 0, bytes.length, format)));
}

/** Every character the log must make inert, and some it must leave alone. */
const SAMPLES: string[] = [
  ...Array.from({ length: 0x20 }, (_, c) => `a${String.fromCharCode(c)}b`),
  "del\x7f",
  ...Array.from({ length: 0x20 }, (_, c) => `c1 ${String.fromCharCode(0x80 + c)}.`),
  "line\u2028para\u2029",
  "bidi \u202a\u202b\u202c\u202d\u202e \u2066\u2067\u2068\u2069 end",
  "\x1b[2J\x1b[31mred\r2026-01-01T00:00:00.000Z [INF] forged\n",
  'quote " and backslash \\ and tab\t',
  "plain ASCII, nothing to do",
  "héllo wörld, 日本語, emoji 👋🏽, U+2027 \u2027 and U+202F \u202f and U+206A \u206a",
  "\u00a0no-break space and \u00ad soft hyphen",
];

Deno.test("escape bytes: the word-at-a-time check agrees with a byte-by-byte check, at every alignment", () => {
  const bytes = new Uint8Array(24).fill(0x61);
  const words = new Uint32Array(bytes.buffer);
  for (const format of FORMATS) {
    const plain = (b: number) =>
      b >= 0x20 && b < 0x7f && !(format === "json" && (b === 0x22 || b === 0x5c));
    for (let value = 0; value < 256; value++) {
      for (let at = 0; at < 12; at++) {
        bytes.fill(0x61);
        bytes[at] = value;
        for (let start = 0; start <= at + 1; start++) {
          for (let end = start; end <= 20; end++) {
            const expected = !(at >= start && at < end) || plain(value);
            assert.equal(
              isPlainAscii(bytes, words, start, end, format),
              expected,
              `${format} 0x${value.toString(16)} at ${at} in [${start}, ${end})`,
            );
          }
        }
        assert.equal(isPlainAscii(bytes, undefined, 0, 20, format), plain(value));
      }
    }
  }
});

Deno.test("escape bytes: a text line escapes exactly what escapeUnsafe escapes, and nothing else", () => {
  for (const sample of SAMPLES) {
    assert.equal(
      escaped(encoder.encode(sample), "text"),
      escapeUnsafe(sample),
      JSON.stringify(sample),
    );
  }
  assert.equal(escaped(encoder.encode("a\tb"), "text"), "a\tb", "tab passes, as in every line");
});

Deno.test("escape bytes: in a JSON line the text parses back exactly, and nothing unsafe is raw", () => {
  for (const sample of SAMPLES) {
    const json = escaped(encoder.encode(sample), "json");
    assert.equal(JSON.parse(`"${json}"`), sample, json);
    // deno-lint-ignore no-control-regex -- looking for raw control characters is the point
    assert.doesNotMatch(json, /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
  }
  assert.equal(escaped(encoder.encode('say "hi"\n'), "json"), 'say \\"hi\\"\\n');
});

Deno.test("escape bytes: invalid UTF-8 is written as U+FFFD, so a JSON line stays valid", () => {
  const bytes = new Uint8Array([0x61, 0xff, 0x62, 0xc2, 0x1b, 0xe2, 0x80]);
  assert.equal(escaped(bytes, "text"), "a\ufffdb\ufffd\\x1b\ufffd");
  assert.equal(JSON.parse(`"${escaped(bytes, "json")}"`), "a\ufffdb\ufffd\x1b\ufffd");
});

Deno.test("escape bytes: only the given range is written, at the given place", () => {
  const bytes = encoder.encode("xx\x1by\nzz");
  const out = new Uint8Array(64).fill(0x2e);
  const end = writeEscaped(out, 3, bytes, 2, 5, "text");
  assert.equal(decoder.decode(out.subarray(0, end + 1)), "...\\x1by\\n.");
});
