/**
 * `deno task bench`: Switchboard's benchmark suite (issues 6, 18, 20). Starts the real server as
 * its own process, drives it with the C load generator of `../shared/loadgen`, runs the same
 * scenarios against `nats-server`, `ncat --broker`, the C reference server (when they are
 * installed) and the Deno floor (`scripts/bench/floor_server.ts`), prints Switchboard's figures as ratios to theirs, writes
 * `bench/results/<date>.json` and regenerates `docs/perf.md` and `docs/perf-fanout.svg`.
 *
 * - Every run is on a fresh server; the round-trip scenarios first give it an uncounted warm-up
 *   (40 000 round trips; 5 000 sessions before `churn`), the same for every system.
 * - The server's CPU per unit of work (µs per delivery, round trip, session) is reported beside
 *   every figure that has one, and some goals are ratios of it.
 * - The `cluster-*` scenarios run Switchboard as a 3-node cluster (`--cluster`) on a fresh 3-node
 *   nats-server cluster against that NATS cluster driven directly, the receivers spread over the
 *   three nodes. Without `nats-server` they are skipped, saying so.
 *
 * ```sh
 * deno task bench                      # full suite, 3 runs per point
 * deno task bench --quick              # smoke run: seconds, Switchboard only, writes nothing
 * deno task bench --quick --scenarios cluster-fanout-100 --peers nats
 * deno task bench --help
 * ```
 *
 * Exit codes: 0 when every Switchboard scenario produced a figure and lost nothing, 1 otherwise
 * (a peer that fails or is missing never fails the run), 2 for bad arguments.
 * @module
 */

import { parseArgs } from "node:util";
import { evaluateGoals } from "./bench/goals.ts";
import { describeMachine, waitForQuiet } from "./bench/machine.ts";
import { CSERVER } from "./bench/peer_cserver.ts";
import { FLOOR, FLOOR_KEEPING } from "./bench/peer_floor.ts";
import { NATS, NATS_CLUSTER } from "./bench/peer_nats.ts";
import { NCAT } from "./bench/peer_ncat.ts";
import { extractNotes, renderPerfMd } from "./bench/perf_md.ts";
import { loadAverage } from "./bench/proc.ts";
import type { ProfileSummary } from "./bench/profile.ts";
import { consoleReport } from "./bench/report.ts";
import {
  type BenchResults,
  type Measurement,
  readResults,
  type SystemRecord,
  writeResults,
} from "./bench/results.ts";
import { runScenario } from "./bench/runner.ts";
import {
  NOT_AVAILABLE,
  type Scenario,
  SCENARIOS,
  subjectOf,
  warmupRoundTrips,
  warmupSessions,
} from "./bench/scenarios.ts";
import { fanoutChart } from "./bench/svg.ts";
import {
  SWITCHBOARD,
  SWITCHBOARD_CLUSTER,
  SWITCHBOARD_META,
  SWITCHBOARD_NOHIST,
  SWITCHBOARD_NOLOG,
  switchboardAt,
} from "./bench/switchboard.ts";
import { dialectOf, type System } from "./bench/system.ts";
import { makeTlsFiles, type TlsFiles, TlsSetupError } from "./bench/tls.ts";
import { buildTools, loadgenSourceDir, ToolsError } from "./bench/tools.ts";

const USAGE = `usage: deno task bench [options]

  --quick              smoke run: small counts, 1 run, Switchboard only unless --peers;
                       writes no results or docs unless --json / --write
  --runs N             runs per scenario and system (default 3; --quick: 1)
  --scenarios LIST     comma-separated scenario ids (default: all):
                       ${SCENARIOS.map((s) => s.id).join(", ")}
                       cluster-*: Switchboard as a 3-node cluster on a 3-node nats-server
                       cluster, receivers spread over the nodes (skipped without nats-server)
  --peers LIST         nats,ncat,cserver,floor, "all" or "none" (default: all; --quick: none);
                       nats also brings the 3-node nats-server cluster to the cluster-* runs;
                       floor is scripts/bench/floor_server.ts, the least a Deno program does
                       for each scenario (not in TLS, files or cluster scenarios), and the
                       same keeping and logging every message (fan-out, echo stream)
  --no-log-variant     skip "Switchboard, log meta" (--log-messages meta) and
                       "Switchboard, no log" (--log-dir "") (default: on unless --quick)
  --log-variant        run it even with --quick
  --no-history-variant skip "Switchboard, no history" (--history "", fan-out N = 100 only)
                       (default: on unless --quick)
  --history-variant    run it even with --quick
  --json PATH          write the results JSON here instead of bench/results/<date>.json
  --write              with --quick: write bench/results/ and docs/perf.md anyway
  --no-docs            do not regenerate docs/perf.md and docs/perf-fanout.svg
  --docs-from PATH     only regenerate the docs from an existing results file
  --profile DIR        run Switchboard under --cpu-prof, write profiles to DIR, summarise them
  --keep               keep each server's output and log folder (in the work folder)
  --wait-quiet S       first wait up to S seconds for a 1-min load average below 0.5
  --max-minutes M      time budget; scenarios not started by then are skipped (default 45)
  --loadgen-dir DIR    sources of the C load generator (default ../shared/loadgen)
  --compare DIRS       also run Switchboard from these checkouts (A/B experiments), interleaved
  --max-others CPUS    repeat a run (up to 3 times) during which other processes used more
                       than this many CPUs (default 0.25; --quick: never)
  --help

Every run is on a fresh server; echo-rtt-* runs first warm it up with 40 000 uncounted round
trips (--quick: 2000), churn runs with 5000 sessions (--quick: 100), the same for every
system. fanout-rate and echo-rtt-50, whose runs spread wider than their goals' margins, get at
least 7 runs (not with --quick). Beside each figure: the server's CPU µs per delivery, round trip
or session (loadgen --pid; for a cluster, all of its processes).`;

const REPO = new URL("../", import.meta.url);
const PEERS: Record<string, System[]> = {
  nats: [NATS, NATS_CLUSTER],
  ncat: [NCAT],
  cserver: [CSERVER],
  floor: [FLOOR, FLOOR_KEEPING],
};

function fail(message: string): never {
  console.error(`bench: ${message}`);
  console.error("Run `deno task bench --help` for usage.");
  Deno.exit(2);
}

/** The commit measured, and which server files differ from it (they are what ran). */
async function sourceState(): Promise<{ commit: string; changed: string[] }> {
  const git = async (args: string[]) => {
    try {
      const out = await new Deno.Command("git", {
        args,
        cwd: REPO,
        stdout: "piped",
        stderr: "null",
      })
        .output();
      return out.success ? new TextDecoder().decode(out.stdout).trimEnd() : "";
    } catch {
      return "";
    }
  };
  const commit = (await git(["rev-parse", "--short", "HEAD"])) || "unknown";
  const status = await git(["status", "--porcelain", "--", "core", "cli", "mod.ts", "deno.json"]);
  return { commit, changed: status.split("\n").filter((l) => l !== "").map((l) => l.slice(3)) };
}

/** `switchboard@exp` runs what `switchboard` runs. */
/** The system a variant stands for in the scenario lists: Switchboard from another checkout or
 * with the log's text off runs wherever Switchboard does. */
function baseId(id: string): string {
  return id.startsWith("switchboard@") || id === "switchboard-meta" ? "switchboard" : id;
}

function list(value: string | undefined): string[] | undefined {
  return value?.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

async function writeDocs(results: BenchResults, resultsPath: string): Promise<void> {
  const perfMd = new URL("docs/perf.md", REPO);
  const chart = fanoutChart(results);
  if (chart !== undefined) await Deno.writeTextFile(new URL("docs/perf-fanout.svg", REPO), chart);
  const existing = await Deno.readTextFile(perfMd).catch(() => undefined);
  const relative = resultsPath.startsWith(REPO.pathname)
    ? resultsPath.slice(REPO.pathname.length)
    : resultsPath;
  const text = renderPerfMd(
    results,
    relative,
    extractNotes(existing),
    chart === undefined ? undefined : "perf-fanout.svg",
  );
  await Deno.writeTextFile(perfMd, text);
  // `deno task check` runs `deno fmt --check`, which covers Markdown: leave the file formatted.
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", perfMd.pathname],
    cwd: REPO,
    stdout: "null",
    stderr: "inherit",
  }).output();
  console.log(`bench: wrote docs/perf.md${chart === undefined ? "" : " and docs/perf-fanout.svg"}`);
}

/**
 * Runs the suite with these command-line arguments; resolves with the exit code.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await main(["--quick", "--scenarios", "fanout-10"]));
 * ```
 */
export async function main(args: readonly string[] = Deno.args): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        "quick": { type: "boolean", default: false },
        "runs": { type: "string" },
        "scenarios": { type: "string" },
        "peers": { type: "string" },
        "no-log-variant": { type: "boolean", default: false },
        "log-variant": { type: "boolean", default: false },
        "no-history-variant": { type: "boolean", default: false },
        "history-variant": { type: "boolean", default: false },
        "json": { type: "string" },
        "write": { type: "boolean", default: false },
        "no-docs": { type: "boolean", default: false },
        "docs-from": { type: "string" },
        "profile": { type: "string" },
        "keep": { type: "boolean", default: false },
        "wait-quiet": { type: "string" },
        "max-minutes": { type: "string" },
        "loadgen-dir": { type: "string" },
        "compare": { type: "string" },
        "max-others": { type: "string" },
        "help": { type: "boolean", default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  const opts = parsed.values;
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  if (opts["docs-from"] !== undefined) {
    await writeDocs(await readResults(opts["docs-from"]), opts["docs-from"]);
    return 0;
  }

  const quick = opts.quick;
  const runs = opts.runs === undefined ? (quick ? 1 : 3) : Number(opts.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) fail("--runs must be 1 to 20");
  const runsOf = (scenario: Scenario) => quick ? runs : Math.max(runs, scenario.minRuns ?? 0);
  const maxMinutes = opts["max-minutes"] === undefined
    ? (quick ? 5 : 45)
    : Number(opts["max-minutes"]);
  if (!(maxMinutes > 0)) fail("--max-minutes must be positive");
  const maxForeignCpu = opts["max-others"] === undefined
    ? (quick ? Infinity : 0.25)
    : Number(opts["max-others"]);
  if (!(maxForeignCpu > 0)) fail("--max-others must be a positive number of CPUs");
  const wantedScenarios = list(opts.scenarios);
  const scenarios = wantedScenarios === undefined
    ? SCENARIOS
    : wantedScenarios.map((id) =>
      SCENARIOS.find((s) => s.id === id) ?? fail(`unknown scenario ${id}`)
    );
  const peerIds = (() => {
    const given = list(opts.peers);
    if (given === undefined) return quick ? [] : Object.keys(PEERS);
    if (given.length === 1 && given[0] === "none") return [];
    if (given.length === 1 && given[0] === "all") return Object.keys(PEERS);
    for (const id of given) {
      if (!(id in PEERS)) fail(`unknown peer ${id} (${Object.keys(PEERS).join(", ")})`);
    }
    return given;
  })();
  const logVariant = opts["log-variant"] || (!quick && !opts["no-log-variant"]);
  const historyVariant = opts["history-variant"] || (!quick && !opts["no-history-variant"]);
  const writeRepo = !quick || opts.write;

  let tools;
  try {
    tools = await buildTools(loadgenSourceDir(opts["loadgen-dir"]));
  } catch (error) {
    if (!(error instanceof ToolsError)) throw error;
    console.error(`bench: ${error.message}`);
    return 1;
  }
  console.log(`bench: load generators in ${tools.dir}`);

  // Only what the chosen scenarios run: a cluster takes seconds to start.
  const wanted = (system: System) =>
    scenarios.some((s) => s.systems.includes(baseId(system.id)) && dialectOf(system, s));
  const candidates: System[] = [
    SWITCHBOARD,
    ...(logVariant ? [SWITCHBOARD_META, SWITCHBOARD_NOLOG] : []),
    ...(historyVariant ? [SWITCHBOARD_NOHIST] : []),
    ...(list(opts.compare) ?? []).map((dir) => switchboardAt(dir)),
    SWITCHBOARD_CLUSTER,
    ...peerIds.flatMap((id) => PEERS[id] ?? []),
  ].filter(wanted);
  const systems: System[] = [];
  const records: SystemRecord[] = [];
  const skipped: { system: string; reason: string }[] = [];
  for (const system of candidates) {
    const version = await system.version();
    if (version === undefined) {
      const reason = system.dialects.cluster === undefined
        ? `${system.label} is not installed`
        : system.standing === "peer"
        ? "nats-server is not installed"
        : `nats-server is not installed (the ${system.label} runs on a nats-server cluster)`;
      skipped.push({ system: system.id, reason });
      console.log(`bench: skipping ${system.label}: ${reason}`);
      continue;
    }
    systems.push(system);
    records.push({
      id: system.id,
      label: system.label,
      standing: system.standing,
      command: system.command,
      version,
    });
  }

  if (opts["wait-quiet"] !== undefined) {
    await waitForQuiet(0.5, Number(opts["wait-quiet"]), (line) => console.log(line));
  }
  const machine = describeMachine();
  const source = await sourceState();
  const date = new Date().toISOString();
  const workDir = await Deno.makeTempDir({ prefix: "switchboard-bench-" });
  const profileDir = opts.profile === undefined ? undefined : await Deno.realPath(
    await Deno.mkdir(opts.profile, { recursive: true }).then(() => opts.profile as string),
  );
  const deadline = performance.now() + maxMinutes * 60_000;
  const measurements: Measurement[] = [];
  const profiles: ProfileSummary[] = [];
  /**
   * Scenarios skipped for want of OpenSSL (TLS) or of nats-server (cluster): said so, not
   * counted as failures.
   */
  const unavailable: string[] = [];
  let loadMax = machine.loadStart[0];
  console.log(
    `bench: ${scenarios.length} scenarios × ${
      systems.map((s) => s.id).join(", ")
    } × ${runs} run(s);` +
      ` load ${machine.loadStart.join(" ")}; work dir ${workDir}`,
  );
  try {
    // The TLS scenarios share one private CA and server certificate, made here once.
    let tls: TlsFiles | undefined;
    let noTls: string | undefined;
    if (scenarios.some((s) => s.tls)) {
      if (!tools.tls) {
        noTls = "loadgen was built without OpenSSL (Debian: apt-get install -y libssl-dev)";
      } else {
        try {
          tls = await makeTlsFiles(workDir);
        } catch (error) {
          if (!(error instanceof TlsSetupError)) throw error;
          noTls = error.message;
        }
      }
    }
    for (const scenario of scenarios) {
      const these = systems.filter((s) =>
        scenario.systems.includes(baseId(s.id)) && dialectOf(s, scenario)
      );
      const subjectSkipped = skipped.find((s) => s.system === subjectOf(scenario));
      if (subjectSkipped !== undefined) {
        console.log(`bench: skipping ${scenario.id}: ${subjectSkipped.reason}`);
        unavailable.push(scenario.id);
        continue;
      }
      if (these.length === 0) continue;
      if (scenario.tls && tls === undefined) {
        console.log(`bench: skipping ${scenario.id}: ${noTls}`);
        unavailable.push(scenario.id);
        continue;
      }
      console.log(`bench: ${scenario.id}: ${scenario.title}`);
      const result = await runScenario(scenario, these, {
        tools,
        runs: runsOf(scenario),
        quick,
        workDir,
        keep: opts.keep,
        profileDir,
        deadline,
        maxForeignCpu,
        retries: 3,
        tls,
        log: (line) => console.log(line),
      });
      measurements.push(...result.measurements);
      profiles.push(...result.profiles);
      for (const m of result.measurements) {
        for (const r of m.runs) loadMax = Math.max(loadMax, r.load1);
      }
    }
  } finally {
    if (!opts.keep) await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
  machine.loadEnd = loadAverage();
  machine.loadMax = loadMax;

  const results: BenchResults = {
    schema: 1,
    date,
    finishedAt: new Date().toISOString(),
    quick,
    runs,
    args: [...Deno.args],
    machine,
    source,
    compiler: tools.compiler,
    systems: records,
    skipped,
    scenarios: scenarios.map((s) => ({
      id: s.id,
      title: s.title,
      short: s.short,
      unit: s.unit,
      higherIsBetter: s.higherIsBetter,
      pinned: s.pinned,
      ...(s.subscribers === undefined ? {} : { subscribers: s.subscribers }),
      ...(s.subject === undefined ? {} : { subject: s.subject }),
      ...(s.standIns === undefined ? {} : { standIns: { ...s.standIns } }),
      ...(s.perUnit === undefined ? {} : { perUnit: s.perUnit.label }),
      ...(runsOf(s) === runs ? {} : { runs: runsOf(s) }),
      ...(s.warmup === undefined
        ? {}
        : { warmup: s.id === "churn" ? warmupSessions(quick) : warmupRoundTrips(quick) }),
    })),
    notAvailable: [...NOT_AVAILABLE],
    measurements,
    // Goals of scenarios not chosen for this run are not shown as "not measured".
    goals: evaluateGoals(measurements).filter((g) => scenarios.some((s) => s.id === g.scenario)),
    ...(profiles.length > 0 ? { profiles } : {}),
  };
  console.log("");
  console.log(consoleReport(results));
  console.log("");

  if (opts.json !== undefined || writeRepo) {
    const path = await writeResults(results, opts.json);
    console.log(`bench: wrote ${path}`);
    if (writeRepo && !opts["no-docs"]) await writeDocs(results, path);
  }

  const ours = measurements.filter((m) =>
    scenarios.some((s) => s.id === m.scenario && subjectOf(s) === m.system)
  );
  const missing = scenarios.filter((s) =>
    !ours.some((m) => m.scenario === s.id) && !unavailable.includes(s.id)
  );
  const bad = ours.filter((m) => m.figure.n === 0 || m.lost > 0 || !m.complete);
  for (const s of missing) console.error(`bench: no Switchboard figure for ${s.id}`);
  for (const m of bad) {
    console.error(`bench: Switchboard ${m.scenario}: lost ${m.lost}; ${m.problems.join("; ")}`);
  }
  return missing.length === 0 && bad.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
