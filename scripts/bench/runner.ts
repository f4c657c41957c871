/**
 * Runs scenarios: for every run and every system, a fresh server process, one load generator
 * process against it, the figures read back, the server stopped by its PID. Runs of different
 * systems are interleaved (run 1 of each, then run 2 …) so a burst of background load hits all
 * of them alike. A scenario with a warm-up runs it on the fresh server first (not counted). A
 * cluster (a server with several `ports`) gets the receivers spread over its nodes
 * (`--sub-ports`), and its CPU is that of all its processes, read from `/proc` around the run.
 * @module
 */

import { cutReasons } from "./cut_reasons.ts";
import { cpuSeconds, loadAverage, machineBusySeconds } from "./proc.ts";
import { formatProfile, profileFiles, type ProfileSummary, summarizeProfile } from "./profile.ts";
import type { Measurement, RunRecord } from "./results.ts";
import type { Outcome, Scenario } from "./scenarios.ts";
import { formatNumber, median, summarize } from "./stats.ts";
import { dialectOf, type System } from "./system.ts";
import type { TlsFiles } from "./tls.ts";
import { runTool, type Tools } from "./tools.ts";

/** The file-transfer generator (see `file_driver.ts`). */
const FILE_DRIVER = new URL("./file_driver.ts", import.meta.url).pathname;

/** A generator using more than this share of one CPU is the bottleneck, not the server. */
export const GENERATOR_BOUND_SHARE = 0.85;

/** What the runner needs. */
export interface RunnerOptions {
  tools: Tools;
  /** Runs per scenario and system. */
  runs: number;
  /** Smoke sizes. */
  quick: boolean;
  /** Scratch folder (server output, logs). */
  workDir: string;
  /** Keep each server's output folder (logs) instead of removing it after the run. */
  keep: boolean;
  /** Profile Switchboard (`--cpu-prof`) into this folder. */
  profileDir?: string | undefined;
  /** `performance.now()` after which nothing new starts. */
  deadline: number;
  /**
   * A run during which other processes used more than this many CPUs is repeated (after waiting
   * for them to calm down), up to {@linkcode RunnerOptions.retries} times; the least disturbed
   * attempt is kept. Infinity turns this off.
   */
  maxForeignCpu: number;
  /** Extra attempts for a disturbed run. */
  retries: number;
  /** The run's certificates; scenarios with `tls` fail without them. */
  tls?: TlsFiles | undefined;
  /** Progress output. */
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPUs' worth of work other processes do right now, over `ms` while we run nothing. */
async function foreignCpuNow(ms = 2000): Promise<number | undefined> {
  const busy0 = machineBusySeconds();
  const self0 = cpuSeconds(Deno.pid);
  await sleep(ms);
  const busy1 = machineBusySeconds();
  const self1 = cpuSeconds(Deno.pid);
  if (busy0 === undefined || busy1 === undefined || self0 === undefined || self1 === undefined) {
    return undefined;
  }
  return Math.max(0, busy1 - busy0 - (self1 - self0)) / (ms / 1000);
}

/** Waits (at most `maxS`) until other processes use less than `threshold` CPUs. */
async function waitForCalm(threshold: number, maxS: number): Promise<number | undefined> {
  const deadline = performance.now() + maxS * 1000;
  for (;;) {
    const foreign = await foreignCpuNow();
    if (foreign === undefined || foreign < threshold || performance.now() > deadline) {
      return foreign;
    }
  }
}

async function directorySize(path: string): Promise<number | undefined> {
  let total = 0;
  try {
    for await (const entry of Deno.readDir(path)) {
      if (entry.isFile) total += (await Deno.stat(`${path}/${entry.name}`)).size;
    }
  } catch {
    return undefined;
  }
  return total;
}

/** CPU seconds of all `pids` together (with their reaped children), or undefined. */
function groupCpuSeconds(pids: readonly number[], children = false): number | undefined {
  let total = 0;
  for (const pid of pids) {
    const cpu = cpuSeconds(pid, children);
    if (cpu === undefined) return undefined;
    total += cpu;
  }
  return total;
}

function failedOutcome(problem: string): Outcome {
  return {
    figure: NaN,
    lost: NaN,
    complete: false,
    elapsedS: NaN,
    generatorCpuS: undefined,
    serverCpuS: undefined,
    extra: {},
    problems: [problem],
  };
}

/** One run: fresh server, one generator process, server stopped. Never throws. */
async function runOnce(
  scenario: Scenario,
  system: System,
  run: number,
  options: RunnerOptions,
): Promise<{ record: RunRecord; profiles: ProfileSummary[] }> {
  const dialect = dialectOf(system, scenario);
  const outDir = `${options.workDir}/${scenario.id}-${system.id}-${run}`;
  await Deno.mkdir(outDir, { recursive: true });
  const profileDir = options.profileDir !== undefined && system.id.startsWith("switchboard")
    ? `${options.profileDir}/${scenario.id}-${system.id}-${run}`
    : undefined;
  const pinCpu = scenario.pinned ? 0 : undefined;
  const load1 = loadAverage()[0];
  const base = {
    run,
    generatorShare: undefined,
    serverRssKb: undefined,
    serverHwmKb: undefined,
    logBytes: undefined,
    serverDied: false,
    load1,
    foreignCpu: undefined,
    text: "",
    raw: undefined,
  };
  if (dialect === undefined) {
    return {
      record: { ...base, outcome: failedOutcome(`${system.label} cannot serve ${scenario.role}`) },
      profiles: [],
    };
  }
  const tls = scenario.tls ? options.tls : undefined;
  if (scenario.tls && tls === undefined) {
    return {
      record: { ...base, outcome: failedOutcome("no TLS certificates (openssl missing?)") },
      profiles: [],
    };
  }
  let server;
  try {
    server = await system.start(scenario.role, {
      tools: options.tools,
      outDir,
      pinCpu,
      profileDir,
      tls,
      scenario: scenario.id,
    });
  } catch (error) {
    return { record: { ...base, outcome: failedOutcome(String(error)) }, profiles: [] };
  }
  try {
    await sleep(200);
    // The file scenario's generator is a Deno script on the client library, not a C program.
    const binary = scenario.tool === "loadgen" ? options.tools.loadgen : Deno.execPath();
    const tlsArgs = tls === undefined
      ? []
      : ["--tls", "1", "--tls-ca", tls.ca, "--tls-name", tls.name];
    const pids = server.pids ?? [server.pid];
    const cluster = (server.ports?.length ?? 0) > 1;
    const subPorts = cluster ? ["--sub-ports", server.ports?.join(",") ?? ""] : [];
    let warmedUp: number | undefined;
    if (scenario.warmup !== undefined) {
      const warm = await runTool(
        binary,
        [...scenario.warmup(dialect, options.quick), "--port", String(server.port), ...tlsArgs],
        { timeoutS: scenario.timeoutS(options.quick), pinCpu },
      );
      if (warm.code !== 0 || warm.json?.complete !== true) {
        return {
          record: {
            ...base,
            outcome: failedOutcome(
              `warm-up failed (exit ${warm.code}): ${
                warm.stderr.split("\n").slice(0, 2).join(" | ") || warm.text
              }`,
            ),
          },
          profiles: [],
        };
      }
      warmedUp = Number(warm.json?.round_trips ?? warm.json?.sessions);
    }
    const args = [
      ...(scenario.tool === "files" ? ["run", "-A", FILE_DRIVER] : []),
      ...scenario.args(dialect, system.id, options.quick),
      "--port",
      String(server.port),
      ...subPorts,
      "--pid",
      String(server.pid),
      ...tlsArgs,
    ];
    const busy0 = machineBusySeconds();
    const server0 = groupCpuSeconds(pids);
    const family0 = groupCpuSeconds(pids, true);
    const self0 = cpuSeconds(Deno.pid);
    const result = await runTool(binary, args, {
      timeoutS: scenario.timeoutS(options.quick),
      pinCpu,
    });
    await sleep(100); // lets a forking server reap the children of the closed connections
    const busy1 = machineBusySeconds();
    const server1 = groupCpuSeconds(pids);
    const family1 = groupCpuSeconds(pids, true);
    const self1 = cpuSeconds(Deno.pid);
    // The server's reaped children count as the server (ncat --exec forks one per connection).
    const foreignCpu = busy0 === undefined || busy1 === undefined || family0 === undefined ||
        family1 === undefined || self0 === undefined || self1 === undefined ||
        result.cpuS === undefined || result.wallS <= 0
      ? undefined
      : Math.max(0, (busy1 - busy0) - (family1 - family0) - result.cpuS - (self1 - self0)) /
        result.wallS;
    const outcome = scenario.parse(result);
    // Generators that do not measure the server (echo-stream, conns), and clusters (the
    // generator's --pid sees one process of several): our own reading stands in.
    if (
      (outcome.serverCpuS === undefined || pids.length > 1) && server0 !== undefined &&
      server1 !== undefined
    ) {
      outcome.serverCpuS = server1 - server0;
    }
    if (!system.cpuMeaningful(scenario.role)) outcome.serverCpuS = undefined;
    const units = scenario.perUnit === undefined
      ? NaN
      : Number(result.json?.[scenario.perUnit.key]);
    // /proc and getrusage count in 10 ms ticks: a run that used none says nothing per unit.
    if (outcome.serverCpuS !== undefined && outcome.serverCpuS > 0 && units > 0) {
      outcome.cpuUsPerUnit = outcome.serverCpuS * 1e6 / units;
    }
    const mem = server.memory();
    const died = server.exited();
    if (died) {
      const err = await Deno.readTextFile(server.errPath).catch(() => "");
      const last = err.trim().split("\n").slice(-2).join(" | ").slice(0, 300);
      outcome.problems.push(`the server process died${last === "" ? "" : `: ${last}`}`);
    }
    await server.stop();
    // Subscribers closed by the server: say which limit closed them (its console lines).
    if ((outcome.extra.closed ?? 0) > 0) {
      const log = await Deno.readTextFile(server.errPath).catch(() => "");
      for (const reason of cutReasons(log)) outcome.problems.push(`cut: ${reason}`);
    }
    const share = outcome.generatorCpuS !== undefined && outcome.elapsedS > 0
      ? outcome.generatorCpuS / outcome.elapsedS
      : undefined;
    const logBytes = system.id === "switchboard"
      ? await directorySize(`${outDir}/logs`)
      : undefined;
    const profiles: ProfileSummary[] = [];
    if (profileDir !== undefined) {
      for (const file of await profileFiles(profileDir)) {
        profiles.push(await summarizeProfile(file, scenario.id, system.id));
      }
    }
    return {
      record: {
        ...base,
        outcome,
        generatorShare: share,
        serverRssKb: mem?.rssKb,
        serverHwmKb: mem?.hwmKb,
        logBytes,
        serverDied: died,
        foreignCpu,
        ...(warmedUp === undefined ? {} : { warmup: warmedUp }),
        text: result.text,
        raw: result.json,
      },
      profiles,
    };
  } finally {
    await server.stop();
    if (!options.keep) await Deno.remove(outDir, { recursive: true }).catch(() => {});
  }
}

function dedupe(items: string[]): string[] {
  return [...new Set(items)];
}

/** Summarises the runs of one scenario on one system. */
export function summarizeRuns(scenario: Scenario, system: System, runs: RunRecord[]): Measurement {
  const finite = (values: (number | undefined)[]) =>
    values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  const p50 = finite(runs.map((r) => r.outcome.p50Us));
  const p99 = finite(runs.map((r) => r.outcome.p99Us));
  const shares = finite(runs.map((r) => r.generatorShare));
  const cpu = finite(runs.map((r) => r.outcome.serverCpuS));
  const perUnit = finite(runs.map((r) => r.outcome.cpuUsPerUnit));
  const hwm = finite(runs.map((r) => r.serverHwmKb));
  const foreign = finite(runs.map((r) => r.foreignCpu));
  const lost = runs.reduce((n, r) => n + (Number.isFinite(r.outcome.lost) ? r.outcome.lost : 0), 0);
  return {
    scenario: scenario.id,
    system: system.id,
    runs,
    figure: summarize(runs.map((r) => r.outcome.figure)),
    ...(p50.length > 0 ? { p50Us: median(p50) } : {}),
    ...(p99.length > 0 ? { p99Us: median(p99) } : {}),
    lost,
    complete: runs.length > 0 && runs.every((r) => r.outcome.complete && !r.serverDied),
    // Pinned runs share CPU 0 with the server by design; their share says nothing about who limits.
    generatorBound: !scenario.pinned && shares.some((s) => s > GENERATOR_BOUND_SHARE),
    generatorShare: shares.length > 0 ? median(shares) : undefined,
    serverCpuS: cpu.length > 0 ? median(cpu) : undefined,
    ...(perUnit.length > 0 ? { cpuUsPerUnit: median(perUnit) } : {}),
    foreignCpuMax: foreign.length > 0 ? Math.max(...foreign) : undefined,
    serverHwmKb: hwm.length > 0 ? Math.max(...hwm) : undefined,
    problems: dedupe(runs.flatMap((r) => r.outcome.problems.map((p) => `run ${r.run}: ${p}`))),
  };
}

/** Runs one scenario on every given system, `options.runs` times each. */
export async function runScenario(
  scenario: Scenario,
  systems: readonly System[],
  options: RunnerOptions,
): Promise<{ measurements: Measurement[]; profiles: ProfileSummary[] }> {
  const records = new Map<string, RunRecord[]>(systems.map((s) => [s.id, []]));
  const profiles: ProfileSummary[] = [];
  for (let run = 1; run <= options.runs; run++) {
    for (const system of systems) {
      if (performance.now() > options.deadline) {
        options.log(`  ${scenario.id} ${system.id} #${run}: skipped (time budget used up)`);
        continue;
      }
      let { record, profiles: found } = await runOnce(scenario, system, run, options);
      for (
        let attempt = 1;
        attempt <= options.retries && (record.foreignCpu ?? 0) > options.maxForeignCpu &&
        performance.now() < options.deadline;
        attempt++
      ) {
        options.log(
          `  ${scenario.id} ${system.id} #${run}: other processes used ${
            record.foreignCpu?.toFixed(2)
          } CPUs meanwhile; waiting for them, then again (attempt ${attempt + 1})`,
        );
        await waitForCalm(options.maxForeignCpu, 120);
        const again = await runOnce(scenario, system, run, options);
        again.record.attempts = attempt + 1;
        if ((again.record.foreignCpu ?? 0) <= (record.foreignCpu ?? 0)) {
          ({ record, profiles: found } = again);
        }
      }
      records.get(system.id)?.push(record);
      profiles.push(...found);
      const o = record.outcome;
      const latency = o.p99Us !== undefined && Number.isFinite(o.p99Us)
        ? ` p50/p99 ${formatNumber(o.p50Us ?? NaN)}/${formatNumber(o.p99Us)} µs`
        : "";
      const share = record.generatorShare === undefined
        ? ""
        : ` gen ${(record.generatorShare * 100).toFixed(0)}% CPU`;
      const perUnit = o.cpuUsPerUnit === undefined || scenario.perUnit === undefined
        ? ""
        : ` server CPU ${o.cpuUsPerUnit.toPrecision(3)} µs/${scenario.perUnit.label}`;
      const foreign = record.foreignCpu === undefined
        ? ""
        : ` others ${record.foreignCpu.toFixed(2)} CPU`;
      const warm = record.warmup === undefined ? "" : ` (after ${record.warmup} warm-up)`;
      const status = o.problems.length > 0 ? ` !! ${o.problems.join("; ")}` : "";
      options.log(
        `  ${scenario.id} ${system.id} #${run}: ${formatNumber(o.figure)} ${scenario.unit}` +
          `${warm}${latency} lost ${o.lost}${perUnit}${share}${foreign} load ${record.load1}${status}`,
      );
      for (const p of found) options.log(formatProfile(p, 10).replace(/^/gm, "    "));
    }
  }
  const measurements = systems
    .map((system) => summarizeRuns(scenario, system, records.get(system.id) ?? []))
    .filter((m) => m.runs.length > 0);
  return { measurements, profiles };
}
