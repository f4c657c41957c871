/**
 * The console report of a run: per scenario, every system's median, spread, latency, losses and
 * generator load and the server's CPU per unit of work, then Switchboard's figure as a ratio to
 * each other system's, then the goals.
 * @module
 */

import type { BenchResults, Measurement } from "./results.ts";
import { formatNumber, formatRatio } from "./stats.ts";
import { ratio } from "./goals.ts";

/** A label for a system id, from the results. */
export function labelOf(results: BenchResults, id: string): string {
  return results.systems.find((s) => s.id === id)?.label ?? id;
}

/** `4.12 M ±1%` */
export function figureText(m: Measurement): string {
  if (m.figure.n === 0) return "failed";
  const spread = m.figure.n > 1 ? ` ±${m.figure.spreadPct.toFixed(0)}%` : "";
  return `${formatNumber(m.figure.median)}${spread}`;
}

/** Server CPU µs per unit of work, three significant digits: `4.21`, `0.0734`. */
export function cpuPerUnitText(us: number): string {
  return us >= 100 ? us.toFixed(0) : us.toPrecision(3);
}

/** Notes for a measurement: losses, generator-bound, problems. */
export function notesOf(m: Measurement): string[] {
  const notes: string[] = [];
  if (m.lost > 0) notes.push(`LOST ${m.lost}`);
  if (m.generatorBound) notes.push("generator-bound");
  if (!m.complete && m.problems.length > 0) notes.push(...m.problems.slice(0, 2));
  return notes;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

/** Formats rows as an aligned plain-text table. */
function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? 0, [...cell].length));
  }
  return rows.map((row) => row.map((cell, i) => pad(cell, widths[i] ?? 0)).join("  ").trimEnd())
    .join("\n");
}

/** The whole console report. */
export function consoleReport(results: BenchResults): string {
  const out: string[] = [];
  const m = results.machine;
  out.push(
    `Switchboard benchmark — ${results.date}${results.quick ? " (quick smoke run)" : ""}`,
    `machine: ${m.cores} cores ${m.cpu}, ${m.memoryGiB} GiB, ${m.os}, kernel ${m.kernel}; ${m.deno}`,
    `code: commit ${results.source?.commit ?? "?"}${
      (results.source?.changed.length ?? 0) > 0
        ? ` + changes to ${results.source?.changed.join(", ")}`
        : ""
    }`,
    `load: start ${m.loadStart.join(" ")}, end ${m.loadEnd?.join(" ") ?? "?"}, ` +
      `max at a run start ${m.loadMax ?? "?"}; runs per point: ${results.runs}`,
  );
  for (const skip of results.skipped) out.push(`skipped ${skip.system}: ${skip.reason}`);
  for (const scenario of results.scenarios) {
    const rows = results.measurements.filter((x) => x.scenario === scenario.id);
    if (rows.length === 0) continue;
    out.push("", `${scenario.title} [${scenario.unit}]`);
    const header = [
      "system",
      scenario.unit,
      "p50/p99 µs",
      "lost",
      "gen CPU",
      "server CPU s",
      `CPU µs/${scenario.perUnit ?? "unit"}`,
      "others CPU",
      "notes",
    ];
    const body = rows.map((x) => [
      labelOf(results, x.system),
      figureText(x),
      x.p99Us === undefined ? "" : `${formatNumber(x.p50Us ?? NaN)}/${formatNumber(x.p99Us)}`,
      String(x.lost),
      x.generatorShare === undefined ? "" : `${(x.generatorShare * 100).toFixed(0)}%`,
      x.serverCpuS === undefined ? "" : x.serverCpuS.toFixed(2),
      x.cpuUsPerUnit === undefined ? "" : cpuPerUnitText(x.cpuUsPerUnit),
      x.foreignCpuMax === undefined ? "" : x.foreignCpuMax.toFixed(2),
      notesOf(x).join("; "),
    ]);
    out.push(table([header, ...body]).replace(/^/gm, "  "));
    const subject = scenario.subject ?? "switchboard";
    const ratios = rows
      .filter((x) => x.system !== subject)
      .map((x) => {
        const r = ratio(results.measurements, scenario.id, x.system, subject);
        return r === undefined ? undefined : `${formatRatio(r)} ${labelOf(results, x.system)}`;
      })
      .filter((x) => x !== undefined);
    if (ratios.length > 0) {
      out.push(`  ${labelOf(results, subject)} ÷ other: ${ratios.join(", ")}`);
    }
  }
  for (const na of results.notAvailable) out.push("", `${na.title}: ${na.reason}`);
  if (results.goals.length > 0) {
    out.push("", "Goals (Switchboard ÷ other, same run):");
    for (const goal of results.goals) {
      const verdict = goal.met === undefined ? "not measured" : goal.met ? "met" : "MISSED";
      out.push(
        `  ${pad(goal.scenario, 19)} ${pad(goal.text, 28)} ratio ${
          goal.ratio === undefined ? "–" : formatRatio(goal.ratio)
        }  ${verdict}${goal.note ? ` (${goal.note})` : ""}${
          goal.floorRatio === undefined ? "" : `  floor ${formatRatio(goal.floorRatio)}`
        }${
          goal.keepingFloorRatio === undefined
            ? ""
            : `  keeping floor ${formatRatio(goal.keepingFloorRatio)}`
        }`,
      );
    }
  }
  return out.join("\n");
}
