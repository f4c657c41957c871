/**
 * The shape of `bench/results/<date>.json`, and reading and writing it. One file holds one run
 * of the suite: the machine, the systems and their versions, every run of every scenario
 * (including the generator's raw JSON line) and the summaries the report is made from.
 * @module
 */

import type { Machine } from "./machine.ts";
import type { ProfileSummary } from "./profile.ts";
import type { Outcome } from "./scenarios.ts";
import type { Summary } from "./stats.ts";
import type { Standing } from "./system.ts";

/** One run of one scenario on one system. */
export interface RunRecord {
  /** 1-based run number. */
  run: number;
  /** What the generator measured. */
  outcome: Outcome;
  /** Share of one CPU the generator used during the measured phase (CPU s / elapsed s). */
  generatorShare: number | undefined;
  /** Server resident memory at the end of the run, kB. */
  serverRssKb: number | undefined;
  /** Server peak resident memory (VmHWM) over its life, kB. */
  serverHwmKb: number | undefined;
  /** Bytes the request log wrote (Switchboard with the log on). */
  logBytes: number | undefined;
  /** True when the server process died during the run. */
  serverDied: boolean;
  /** 1-minute load average when the run started. */
  load1: number;
  /**
   * CPUs' worth of work done by other processes during the run: machine busy time minus the
   * server's, the generator's and the benchmark's own, over the wall time. Near 0 on a quiet
   * machine; other people's test suites show up here.
   */
  foreignCpu: number | undefined;
  /** Round trips of the uncounted warm-up on the same server before it, if any. */
  warmup?: number;
  /** Attempts it took (more than 1 when other processes disturbed earlier ones). */
  attempts?: number;
  /** The generator's human-readable line. */
  text: string;
  /** The generator's JSON line. */
  raw: Record<string, unknown> | undefined;
}

/** All runs of one scenario on one system, summarised. */
export interface Measurement {
  /** Scenario id. */
  scenario: string;
  /** System id. */
  system: string;
  /** The runs. */
  runs: RunRecord[];
  /** The figure over the runs. */
  figure: Summary;
  /** Latency p50/p99 medians in µs, where the scenario has them. */
  p50Us?: number;
  p99Us?: number;
  /** Losses over all runs (must be 0). */
  lost: number;
  /** Every run complete. */
  complete: boolean;
  /** The generator used more than 85 % of a CPU in some run: a floor, not the server's limit. */
  generatorBound: boolean;
  /** Median generator CPU share. */
  generatorShare: number | undefined;
  /** Median server CPU seconds per run. */
  serverCpuS: number | undefined;
  /** Median server CPU µs per unit of work (the scenario's `perUnit`: delivery, round trip …). */
  cpuUsPerUnit?: number;
  /** Largest foreign CPU load seen in a run (CPUs). */
  foreignCpuMax: number | undefined;
  /** Largest server peak RSS over the runs, kB. */
  serverHwmKb: number | undefined;
  /** What went wrong, deduplicated. */
  problems: string[];
}

/** A system as recorded in the results. */
export interface SystemRecord {
  id: string;
  label: string;
  standing: Standing;
  command: string;
  version: string;
}

/** A scenario as recorded in the results. */
export interface ScenarioRecord {
  id: string;
  title: string;
  short?: string;
  unit: string;
  higherIsBetter: boolean;
  pinned: boolean;
  subscribers?: number;
  /** The system whose figure is "Switchboard's" here. @default {"switchboard"} */
  subject?: string;
  /** Report columns filled by another system here, column → system id. */
  standIns?: Record<string, string>;
  /** Name of the unit of work of `cpuUsPerUnit` ("delivery", "round trip", "session"). */
  perUnit?: string;
  /** Round trips (sessions for `churn`) of the uncounted warm-up before each measured run. */
  warmup?: number;
  /** Runs per system, where more than the run's `runs` (see `Scenario.minRuns`). */
  runs?: number;
}

/** A goal of the issue, evaluated. */
export interface GoalResult {
  /** Scenario id. */
  scenario: string;
  /** What is compared: the figure, or server CPU per unit of work. @default {"figure"} */
  measure?: "figure" | "cpu";
  /** The goal in words, e.g. "≥ 1.5× nats-server". */
  text: string;
  /** The system the ratio is taken against. */
  against: string;
  /** Switchboard's median ÷ the other's median. */
  ratio: number | undefined;
  /**
   * The Deno floor's median ÷ the other's median, same measure (`floor_server.ts`, issue 20): how
   * close any single-process Deno server can come. Absent when the floor was not measured.
   */
  floorRatio?: number;
  /**
   * The same for the floor that keeps and logs every message as Switchboard's default
   * configuration does (`floor_server.ts --history --log`): the goal's reach with that work done.
   */
  keepingFloorRatio?: number;
  /** Met, missed, or undefined when it could not be measured. */
  met: boolean | undefined;
  /** Why it could not be measured, or a remark. */
  note?: string;
}

/** One run of the suite. */
export interface BenchResults {
  schema: 1;
  /** ISO time the run started. */
  date: string;
  /** ISO time it ended. */
  finishedAt: string;
  /** `--quick` smoke run. */
  quick: boolean;
  /** Runs per scenario and system. */
  runs: number;
  /** Command line of the run. */
  args: string[];
  machine: Machine;
  /** The code measured: git commit and the server files changed since it. */
  source: { commit: string; changed: string[] };
  /** Generator compiler. */
  compiler: string;
  systems: SystemRecord[];
  /** Systems that were asked for but could not run, with why. */
  skipped: { system: string; reason: string }[];
  scenarios: ScenarioRecord[];
  /** Scenarios of the issue that cannot run yet. */
  notAvailable: { id: string; title: string; reason: string }[];
  measurements: Measurement[];
  goals: GoalResult[];
  /** CPU profile summaries, when the run was profiled. */
  profiles?: ProfileSummary[];
}

const RESULTS_DIR = new URL("../../bench/results/", import.meta.url);

/** Writes results to `bench/results/<YYYY-MM-DD>[-k].json` (never overwrites); returns the path. */
export async function writeResults(results: BenchResults, path?: string): Promise<string> {
  const text = JSON.stringify(results, null, 1) + "\n";
  if (path !== undefined) {
    await Deno.writeTextFile(path, text);
    return path;
  }
  await Deno.mkdir(RESULTS_DIR, { recursive: true });
  const day = results.date.slice(0, 10);
  for (let k = 1;; k++) {
    const file = new URL(k === 1 ? `${day}.json` : `${day}-${k}.json`, RESULTS_DIR).pathname;
    try {
      await Deno.writeTextFile(file, text, { createNew: true });
      return file;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
  }
}

/** Reads a results file. */
export async function readResults(path: string): Promise<BenchResults> {
  const results = JSON.parse(await Deno.readTextFile(path)) as BenchResults;
  if (results.schema !== 1) throw new Error(`${path}: unknown results schema ${results.schema}`);
  return results;
}

/** The newest results file in `bench/results/`, if any. */
export async function latestResults(): Promise<string | undefined> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(RESULTS_DIR)) {
      if (entry.isFile && entry.name.endsWith(".json")) names.push(entry.name);
    }
  } catch {
    return undefined;
  }
  const key = (name: string) => {
    const m = /^(\d{4}-\d{2}-\d{2})(?:-(\d+))?\.json$/.exec(name);
    return m ? `${m[1]}-${(m[2] ?? "1").padStart(4, "0")}` : name;
  };
  names.sort((a, b) => key(a).localeCompare(key(b)));
  const last = names.at(-1);
  return last === undefined ? undefined : new URL(last, RESULTS_DIR).pathname;
}
