/**
 * Small statistics for repeated benchmark runs: median, spread and percentiles. The spread is
 * reported the way `../shared/loadgen/anchors.sh` reports it (half the max–min range as a
 * percentage of the median), so the two tables read alike.
 * @module
 */

/** A figure over repeated runs. */
export interface Summary {
  /** Median of the runs (the figure reported). */
  median: number;
  /** Smallest run. */
  min: number;
  /** Largest run. */
  max: number;
  /** Half the max–min range as a percentage of the median; 0 for one run. */
  spreadPct: number;
  /** Number of runs summarised. */
  n: number;
}

/**
 * The `p`-th percentile (0–100) of `values` by linear interpolation between closest ranks.
 *
 * @example
 * ```ts
 * import { percentile } from "./stats.ts";
 * console.assert(percentile([1, 2, 3, 4], 50) === 2.5);
 * ```
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const a = sorted[low] as number;
  const b = sorted[high] as number;
  return a + (b - a) * (rank - low);
}

/** The median (50th percentile). */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/**
 * Median, range and spread of `values`; NaN figures (a failed run) are left out.
 *
 * @example
 * ```ts
 * import { summarize } from "./stats.ts";
 * const s = summarize([90, 100, 110]);
 * console.assert(s.median === 100 && s.spreadPct === 10);
 * ```
 */
export function summarize(values: readonly number[]): Summary {
  const ok = values.filter((v) => Number.isFinite(v));
  if (ok.length === 0) return { median: NaN, min: NaN, max: NaN, spreadPct: NaN, n: 0 };
  const med = median(ok);
  const min = Math.min(...ok);
  const max = Math.max(...ok);
  const spreadPct = med === 0 ? 0 : ((max - min) / 2 / Math.abs(med)) * 100;
  return { median: med, min, max, spreadPct, n: ok.length };
}

/**
 * A number in a short human form: `21.09 M`, `243 k`, `1105`, `0.21`.
 *
 * @example
 * ```ts
 * import { formatNumber } from "./stats.ts";
 * console.assert(formatNumber(4_120_000) === "4.12 M");
 * console.assert(formatNumber(87_400) === "87.4 k");
 * ```
 */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "–";
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${trim(value / 1e6)} M`;
  if (abs >= 1e4) return `${trim(value / 1e3)} k`;
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function trim(value: number): string {
  const abs = Math.abs(value);
  return abs >= 100 ? value.toFixed(0) : abs >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** A ratio as `1.52×`. */
export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return "–";
  return ratio >= 10 ? `${ratio.toFixed(0)}×` : `${ratio.toFixed(2)}×`;
}
