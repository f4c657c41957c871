/**
 * The fan-out chart of `docs/perf.md`: deliveries/s against the number of receivers N, one line
 * per system, both axes logarithmic, whiskers from the slowest to the fastest run. Plain SVG
 * with no script or external reference, so it renders anywhere (GitHub included).
 * @module
 */

import type { BenchResults } from "./results.ts";
import { formatNumber } from "./stats.ts";

const COLORS: Record<string, string> = {
  "switchboard": "#d62728",
  "switchboard-nolog": "#ff9896",
  "nats": "#1f77b4",
  "ncat": "#2ca02c",
  "cserver": "#7f7f7f",
};
const FALLBACK = ["#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf"];

/** An axis label without trailing zeros: `50 M`, `2 M`, `500 k`. */
function axisLabel(value: number): string {
  return formatNumber(value).replace(/\.0+(?= |$)/, "").replace(/(\.\d*?)0+(?= |$)/, "$1");
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Renders the chart for the fan-out scenarios of a run; undefined when none were measured. */
export function fanoutChart(results: BenchResults): string | undefined {
  const scenarios = results.scenarios.filter((s) =>
    s.id.startsWith("fanout-") && s.subscribers !== undefined && s.higherIsBetter
  );
  const series = results.systems.map((system, index) => ({
    system,
    color: COLORS[system.id] ?? FALLBACK[index % FALLBACK.length] ?? "#000",
    points: scenarios.flatMap((s) => {
      const m = results.measurements.find((x) => x.scenario === s.id && x.system === system.id);
      if (m === undefined || m.figure.n === 0) return [];
      return [{ ...m.figure, n: s.subscribers as number, bound: m.generatorBound }];
    }),
  })).filter((s) => s.points.length > 0);
  if (series.length === 0) return undefined;

  const width = 720;
  const height = 440;
  const left = 80;
  const right = 200;
  const top = 40;
  const bottom = 60;
  const ns = [...new Set(series.flatMap((s) => s.points.map((p) => p.n)))].sort((a, b) => a - b);
  const values = series.flatMap((s) => s.points.flatMap((p) => [p.min, p.max]));
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const xMin = Math.log10(ns[0] ?? 10) - 0.15;
  const xMax = Math.log10(ns.at(-1) ?? 1000) + 0.15;
  const x = (n: number) => left + ((Math.log10(n) - xMin) / (xMax - xMin)) * (width - left - right);
  const y = (v: number) =>
    top + (1 - (Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) *
      (height - top - bottom);

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2 - right / 2 + left / 2}" y="22" text-anchor="middle" font-size="15">` +
      `Chat fan-out: deliveries/s vs receivers (64-byte messages)</text>`,
  );
  // Grid and axes.
  for (let decade = yMin; decade <= yMax * 1.0001; decade *= 10) {
    for (const k of [1, 2, 5]) {
      const v = decade * k;
      if (v > yMax * 1.0001) break;
      const yy = y(v).toFixed(1);
      parts.push(
        `<line x1="${left}" x2="${width - right}" y1="${yy}" y2="${yy}" stroke="${
          k === 1 ? "#ccc" : "#eee"
        }"/>`,
        `<text x="${left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="#444">${
          escapeXml(axisLabel(v))
        }</text>`,
      );
    }
  }
  for (const n of ns) {
    const xx = x(n).toFixed(1);
    parts.push(
      `<line x1="${xx}" x2="${xx}" y1="${top}" y2="${height - bottom}" stroke="#eee"/>`,
      `<text x="${xx}" y="${
        height - bottom + 18
      }" text-anchor="middle" fill="#444">N = ${n}</text>`,
    );
  }
  parts.push(
    `<rect x="${left}" y="${top}" width="${width - left - right}" height="${
      height - top - bottom
    }" fill="none" stroke="#888"/>`,
    `<text x="${(left + width - right) / 2}" y="${
      height - 14
    }" text-anchor="middle">receivers N (log scale)</text>`,
    `<text transform="translate(18 ${(top + height - bottom) / 2}) rotate(-90)" ` +
      `text-anchor="middle">deliveries/s (log scale)</text>`,
  );
  // Series.
  series.forEach((s, i) => {
    const path = s.points.map((p, k) =>
      `${k === 0 ? "M" : "L"}${x(p.n).toFixed(1)},${y(p.median).toFixed(1)}`
    )
      .join(" ");
    const dash = s.system.standing === "reference" || s.system.standing === "variant"
      ? ` stroke-dasharray="6 4"`
      : "";
    parts.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2.5"${dash}/>`);
    for (const p of s.points) {
      const xx = x(p.n).toFixed(1);
      parts.push(
        `<line x1="${xx}" x2="${xx}" y1="${y(p.min).toFixed(1)}" y2="${
          y(p.max).toFixed(1)
        }" stroke="${s.color}" stroke-width="1.5"/>`,
        `<circle cx="${xx}" cy="${y(p.median).toFixed(1)}" r="4" fill="${
          p.bound ? "#fff" : s.color
        }" stroke="${s.color}" stroke-width="2"><title>${
          escapeXml(`${s.system.label}, N = ${p.n}: ${formatNumber(p.median)} deliveries/s`)
        }</title></circle>`,
      );
    }
    const ly = top + 10 + i * 22;
    parts.push(
      `<line x1="${width - right + 16}" x2="${width - right + 40}" y1="${ly}" y2="${ly}" ` +
        `stroke="${s.color}" stroke-width="2.5"${dash}/>`,
      `<text x="${width - right + 46}" y="${ly}" dominant-baseline="middle">${
        escapeXml(s.system.label)
      }</text>`,
    );
  });
  const noteY = top + 20 + series.length * 22;
  parts.push(
    `<text x="${width - right + 16}" y="${noteY}" font-size="10" fill="#555">` +
      `hollow point: generator-bound</text>`,
    `<text x="${width - right + 16}" y="${noteY + 14}" font-size="10" fill="#555">` +
      `whiskers: min–max of ${results.runs} run${results.runs > 1 ? "s" : ""}</text>`,
    `<text x="${width - right + 16}" y="${noteY + 28}" font-size="10" fill="#555">` +
      `${escapeXml(results.date.slice(0, 10))}, ${results.machine.cores} cores</text>`,
    "</svg>",
  );
  return parts.join("\n") + "\n";
}
