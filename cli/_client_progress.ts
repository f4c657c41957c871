/**
 * How the `client` program shows transfers: sizes, rates and durations for people, the progress
 * line drawn above the prompt on a terminal (bar, bytes, rate, ETA, always one row), the summary
 * line every transfer ends with, and the JSON record of a transfer. Pure functions; private to
 * `cli/`.
 * @module
 */

import { relative } from "node:path";
import type { TransferProgress, TransferResult } from "../core/client/files.ts";
import { neutralize } from "../core/protocol/grammar.ts";

const KiB = 1024;
const UNITS = ["KiB", "MiB", "GiB", "TiB"];

/**
 * A byte count for people: `0 B`, `999 B`, `68.4 KiB`, `64.0 MiB`, `1.00 GiB`.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./_client_progress.ts";
 * console.assert(formatBytes(1536) === "1.5 KiB" && formatBytes(2 ** 30) === "1.00 GiB");
 * ```
 */
export function formatBytes(bytes: number): string {
  if (bytes < KiB) return `${bytes} B`;
  let value = bytes / KiB;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // Three significant digits at most, but GiB keep two decimals (1.00 GiB is a round size).
  const digits = unit >= 2 ? 2 : 1;
  return `${value.toFixed(value >= 100 ? 0 : digits)} ${UNITS[unit]}`;
}

/** A rate in bytes per second for people, e.g. `85.2 MiB/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** A duration: `0.8 s`, `12 s`, `1:05`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const total = Math.round(seconds);
  const two = (n: number) => String(n).padStart(2, "0");
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

/** Columns `text` takes on a terminal: wide (CJK, emoji) characters count two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += charWidth(char);
  return width;
}

/** `text` cut to at most `columns` terminal columns (with `…` when cut). */
export function fitWidth(text: string, columns: number): string {
  if (displayWidth(text) <= columns) return text;
  let out = "";
  let width = 0;
  for (const char of text) {
    const w = charWidth(char);
    if (width + w > columns - 1) break;
    out += char;
    width += w;
  }
  return out + "…";
}

function charWidth(char: string): number {
  const code = char.codePointAt(0) ?? 0;
  if (code < 0x1100) return 1;
  const wide = (code <= 0x115f) || (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) || (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) || code >= 0x1f000;
  return wide ? 2 : 1;
}

/** A bar of `width` cells, `fraction` of them full. */
export function progressBar(fraction: number, width: number): string {
  const full = Math.max(0, Math.min(width, Math.floor(fraction * width)));
  return "█".repeat(full) + "░".repeat(width - full);
}

/** What a progress line needs to know about a transfer. */
export interface ProgressState extends TransferProgress {
  /** `put`, `get`, `send`, `accept`. */
  kind: string;
  /** Milliseconds since this phase began. */
  elapsedMs: number;
}

/**
 * One progress line, at most `columns` wide (it must stay one terminal row): direction, name,
 * bar, percentage, bytes, rate and ETA. Parts are dropped from the right on a narrow terminal.
 *
 * @example
 * ```ts
 * import { progressLine } from "./_client_progress.ts";
 * const line = progressLine({ kind: "get", phase: "receiving", name: "a.bin", bytes: 512, size: 1024, elapsedMs: 1000 }, 80);
 * console.assert(line.includes("50%") && line.includes("ETA 1.0 s"));
 * ```
 */
export function progressLine(state: ProgressState, columns: number): string {
  const arrow = state.phase === "hashing" ? "#" : state.phase === "receiving" ? "⇣" : "⇡";
  const what = state.phase === "hashing" ? "hashing" : state.kind;
  const fraction = state.size > 0 ? Math.min(1, state.bytes / state.size) : 1;
  const seconds = state.elapsedMs / 1000;
  const rate = seconds > 0.2 ? state.bytes / seconds : 0;
  const left = rate > 0 ? (state.size - state.bytes) / rate : Number.NaN;
  const head = `${arrow} ${what} ${fitWidth(neutralize(state.name), 24)}`;
  const parts = [
    `${String(Math.floor(fraction * 100)).padStart(3)}%`,
    `${formatBytes(state.bytes)}/${formatBytes(state.size)}`,
    rate > 0 ? formatRate(rate) : "",
    rate > 0 ? `ETA ${formatDuration(left)}` : "",
  ].filter((part) => part !== "");
  const room = columns - 1;
  let tail = parts.join("  ");
  while (parts.length > 1 && displayWidth(head) + displayWidth(tail) + 6 > room) {
    parts.pop();
    tail = parts.join("  ");
  }
  const barWidth = Math.min(30, room - displayWidth(head) - displayWidth(tail) - 6);
  const bar = barWidth >= 5 ? ` [${progressBar(fraction, barWidth)}]` : "";
  return fitWidth(`${head}${bar}  ${tail}`, room);
}

/** A summary line gives a rate for a transfer of at least this long (seconds)… */
const RATE_MIN_SECONDS = 0.1;
/** …that moved at least this many bytes. */
const RATE_MIN_BYTES = 1024 * 1024;

const DONE_VERB: Record<TransferResult["kind"], string> = {
  put: "put",
  send: "sent",
  get: "got",
  accept: "received",
};

/** A local path shown relative to the working folder when it lies inside it. */
export function showPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel === "" || rel.startsWith("..") ? path : rel;
}

/**
 * The line a transfer ends with, without colour: `✓` with name, size, time, rate, the hash
 * check and where the file went, or `✗` with what went wrong and its code.
 *
 * @example
 * ```ts
 * import { summaryLine } from "./_client_progress.ts";
 * const line = summaryLine({
 *   ok: true, kind: "get", name: "a.bin", path: "/tmp/dl/a.bin", size: 2 ** 21, sha256: "ab",
 *   bytes: 2 ** 21, ms: 500, final: undefined, offer: undefined, error: undefined,
 * }, "/tmp");
 * console.assert(line === "✓ got a.bin (2.0 MiB) in 0.5 s, 4.0 MiB/s, sha256 ok → dl/a.bin");
 * ```
 */
export function summaryLine(result: TransferResult, cwd: string): string {
  const name = neutralize(result.name);
  if (!result.ok) {
    const error = result.error ?? { code: "failed", text: "the transfer failed" };
    return `✗ ${result.kind} ${name}: ${neutralize(error.text)} (${neutralize(error.code)})`;
  }
  const seconds = result.ms / 1000;
  // For a small or very quick transfer the time is round trips, not throughput: no rate then.
  const rate = result.bytes >= RATE_MIN_BYTES && seconds >= RATE_MIN_SECONDS
    ? `, ${formatRate(result.bytes / seconds)}`
    : "";
  const took = seconds < 0.1 ? "<0.1 s" : formatDuration(seconds);
  let line = `✓ ${DONE_VERB[result.kind]} ${name} (${formatBytes(result.size)}) in ` +
    `${took}${rate}, sha256 ok`;
  if ((result.kind === "get" || result.kind === "accept") && result.path !== undefined) {
    line += ` → ${neutralize(showPath(result.path, cwd))}`;
  }
  if (result.kind === "send" && result.offer !== undefined) {
    const n = result.offer.recipients;
    line += `: offer ${result.offer.id} to ${n} recipient${n === 1 ? "" : "s"}`;
  }
  return line;
}

/** The JSON record of a finished transfer (`type: "transfer"`, `event: "done"` or `"failed"`). */
export function transferRecord(result: TransferResult, time: Date): Record<string, unknown> {
  const seconds = result.ms / 1000;
  const record: Record<string, unknown> = {
    type: "transfer",
    time: time.toISOString(),
    event: result.ok ? "done" : "failed",
    kind: result.kind,
    name: result.name,
    size: result.size,
    sha256: result.sha256,
    bytes: result.bytes,
    seconds: Math.round(seconds * 1000) / 1000,
  };
  if (result.bytes > 0 && seconds > 0) record.bytesPerSecond = Math.round(result.bytes / seconds);
  if (result.path !== undefined) record.path = result.path;
  if (result.offer !== undefined) record.offer = result.offer;
  if (result.error !== undefined) {
    record.code = result.error.code;
    record.text = result.error.text;
  }
  return record;
}
