/**
 * The scenarios of issue 6, each as: which systems run it, the load generator command for a
 * given system (full or `--quick` sizes), and how to read its figure and its losses from the
 * generator's JSON line. Message counts differ per system so that every run takes a few seconds
 * (the figure is a rate, so it does not depend on the count as long as the run is long enough).
 *
 * The `cluster-*` scenarios (issue 18) run Switchboard's 3-node cluster against the 3-node
 * `nats-server` cluster under it: sender on node 1, receivers spread over the three nodes.
 * @module
 */

import type { Dialect, Role } from "./system.ts";
import type { ToolRun } from "./tools.ts";

/** Connections per second when opening many: ncat's listen backlog is 10 (see loadgen README). */
export const CONNECT_RATE = 2000;

/** What one run of a scenario measured. */
export interface Outcome {
  /** The scenario's figure (its unit is the scenario's). NaN when the run failed. */
  figure: number;
  /** Latency percentiles in µs, where the scenario has them. */
  p50Us?: number;
  p99Us?: number;
  /** Messages, round trips, bytes, sessions or connections that did not make it (must be 0). */
  lost: number;
  /** The generator's own verdict: everything arrived, nothing closed, no time-out. */
  complete: boolean;
  /** Seconds the measured phase took. */
  elapsedS: number;
  /** CPU seconds of the load generator during the run. */
  generatorCpuS: number | undefined;
  /** CPU seconds of the server during the run (from the generator's `--pid`), if meaningful. */
  serverCpuS: number | undefined;
  /**
   * Server CPU µs per unit of work (delivery, round trip, session: the scenario's `perUnit`):
   * `serverCpuS` ÷ the count the generator reports. Set by the runner.
   */
  cpuUsPerUnit?: number | undefined;
  /** Other figures worth keeping (RSS, connection counts …). */
  extra: Record<string, number>;
  /** What went wrong, in words. */
  problems: string[];
}

/** A benchmark scenario. */
export interface Scenario {
  /** Stable id used in results. */
  readonly id: string;
  /** Title for reports. */
  readonly title: string;
  /** Short name for the headline table. */
  readonly short: string;
  /** Unit of the figure. */
  readonly unit: string;
  /** True for throughput, false for latency and memory. */
  readonly higherIsBetter: boolean;
  /** Role the server is started in. */
  readonly role: Role;
  /** Which generator runs it. */
  readonly tool: "loadgen" | "files";
  /** Server and generator pinned to CPU 0 (single-connection round trips, as in the anchors). */
  readonly pinned: boolean;
  /** Fan-out N, for the chart. */
  readonly subscribers?: number;
  /**
   * Over TLS: the server is started with a certificate from the run's private CA, and the
   * generator connects with `--tls 1` and verifies it (the runner adds both).
   */
  readonly tls?: boolean;
  /** Systems that run it, by id. */
  readonly systems: readonly string[];
  /**
   * The system whose figure is "Switchboard's" (goals, ratios, the exit code).
   * @default {"switchboard"}
   */
  readonly subject?: string;
  /**
   * Report columns filled by another system in this scenario, column → system id: the cluster
   * scenarios show Switchboard's cluster under "Switchboard" and the NATS cluster under
   * "nats-server".
   */
  readonly standIns?: Readonly<Record<string, string>>;
  /**
   * What one unit of work is, for the server's CPU per unit: the generator's JSON key that
   * counts them and its name (`deliveries` → "delivery").
   */
  readonly perUnit?: WorkUnit;
  /** Generator arguments, without `--port`/`--pid`. */
  args(dialect: Dialect, systemId: string, quick: boolean): string[];
  /**
   * Arguments of a warm-up run on the same fresh server before the measured one (not counted,
   * the same for every system), without `--port`.
   */
  warmup?(dialect: Dialect, quick: boolean): string[];
  /**
   * Runs per system in a full run, when more than `--runs`: the scenarios whose runs spread wider
   * than the margin of their goal (the paced p99, echo with 50 connections), so that the median
   * says something.
   */
  readonly minRuns?: number;
  /** Hard bound on one generator run, in seconds. */
  timeoutS(quick: boolean): number;
  /** Reads the generator's output. */
  parse(run: ToolRun): Outcome;
}

const num = (json: Record<string, unknown> | undefined, key: string): number => {
  const value = json?.[key];
  return typeof value === "number" ? value : NaN;
};

function baseOutcome(run: ToolRun, figureKey: string): Outcome {
  const json = run.json;
  const problems: string[] = [];
  if (json === undefined) {
    problems.push(`no result line (exit ${run.code}): ${run.stderr || run.text}`);
  }
  if (run.timedOut) problems.push("killed at the time bound");
  if (typeof json?.error === "string") problems.push(json.error);
  const complete = json?.complete === true && run.code === 0;
  // `conns` has no "complete" field: its parser decides from the connection counts.
  if (json !== undefined && json.complete !== undefined && !complete && problems.length === 0) {
    problems.push(
      `incomplete (exit ${run.code}): ${run.stderr.split("\n").slice(0, 3).join(" | ")}`,
    );
  }
  const serverCpu = num(json, "cpu_server_s");
  const generatorCpu = num(json, "cpu_loadgen_s");
  return {
    figure: json === undefined ? NaN : num(json, figureKey),
    lost: 0,
    complete,
    elapsedS: num(json, "elapsed_s"),
    generatorCpuS: Number.isFinite(generatorCpu) ? generatorCpu : run.cpuS,
    serverCpuS: Number.isFinite(serverCpu) && serverCpu >= 0 ? serverCpu : undefined,
    extra: {},
    problems,
  };
}

const ECHO_SYSTEMS = ["switchboard", "switchboard-nolog", "cserver", "floor"] as const;

/** Runs per system of the scenarios with {@linkcode Scenario.minRuns} in a full run. */
export const NOISY_RUNS = 7;

/** Round trips of the warm-up before every echo round-trip run (all connections together). */
export function warmupRoundTrips(quick: boolean): number {
  return quick ? 2_000 : 40_000;
}

/** Sessions of the warm-up before every churn run. */
export function warmupSessions(quick: boolean): number {
  return quick ? 100 : 5_000;
}

/** A unit of work, for the server's CPU per unit. */
export interface WorkUnit {
  /** The generator's JSON key that counts them. */
  readonly key: string;
  /** Its name, singular. */
  readonly label: string;
}
const ROUND_TRIP: WorkUnit = { key: "round_trips", label: "round trip" };
const DELIVERY: WorkUnit = { key: "deliveries", label: "delivery" };
const SESSION: WorkUnit = { key: "sessions", label: "session" };

function echoRttArgs(dialect: Dialect, conns: number, count: number, timeoutS: number): string[] {
  return [
    "echo-rtt",
    "--conns",
    String(conns),
    "--count",
    String(count),
    "--size",
    "64",
    "--greeting",
    dialect === "sb" ? "1" : "0",
    "--timeout",
    String(timeoutS),
  ];
}
const BROKER_SYSTEMS = [
  "switchboard",
  "switchboard-nolog",
  "nats",
  "ncat",
  "cserver",
  "floor",
  "floor-keeping",
] as const;

function echoRtt(id: string, conns: number, pinned: boolean): Scenario {
  return {
    id,
    short: `echo round trip, ${conns} conn${conns > 1 ? "s" : ""}${pinned ? ", pinned" : ""}`,
    title: `echo round trip, ${conns} connection${conns > 1 ? "s" : ""}${
      pinned ? " (server and generator on CPU 0)" : ""
    }, 64-byte lines`,
    unit: "rt/s",
    higherIsBetter: true,
    role: "echo",
    tool: "loadgen",
    pinned,
    // Bimodal with 50 connections (where the scheduler puts server and generator): 3 runs of the
    // same code gave 49 k, or 56–63 k, round trips.
    ...(conns > 1 ? { minRuns: NOISY_RUNS } : {}),
    // ncat --exec forks a cat per connection: single-connection echo only, as in the anchors.
    systems: conns === 1 ? [...ECHO_SYSTEMS, "ncat"] : ECHO_SYSTEMS,
    perUnit: ROUND_TRIP,
    args(dialect, _system, quick) {
      const count = conns === 1 ? (quick ? 2000 : 20000) : (quick ? 200 : 2000);
      return echoRttArgs(dialect, conns, count, quick ? 20 : 100);
    },
    // JIT and buffers warm, the same number of round trips for every system, then measured.
    warmup(dialect, quick) {
      const count = Math.ceil(warmupRoundTrips(quick) / conns);
      return echoRttArgs(dialect, conns, count, quick ? 20 : 100);
    },
    timeoutS: (quick) => (quick ? 40 : 130),
    parse: (run) => shortfallOutcome(run, "rt_per_s", "expected", "round_trips"),
  };
}

const ECHO_STREAM: Scenario = {
  id: "echo-stream",
  short: "echo stream, 1 KiB lines",
  title: "echo stream, one connection pipelining 1 KiB lines",
  unit: "MB/s",
  higherIsBetter: true,
  role: "echo",
  tool: "loadgen",
  pinned: false,
  // The goal it misses is read against the floor with the same request log (issue 20).
  systems: [...ECHO_SYSTEMS, "floor-keeping"],
  args(dialect, _system, quick) {
    return [
      "echo-stream",
      "--bytes",
      quick ? "5000000" : "200000000",
      "--size",
      "1024",
      "--greeting",
      dialect === "sb" ? "1" : "0",
      "--timeout",
      quick ? "20" : "100",
    ];
  },
  timeoutS: (quick) => (quick ? 40 : 130),
  parse(run) {
    // echo-stream reports no CPU figures: the CPU of the generator process stands in.
    const outcome = baseOutcome(run, "mb_per_s");
    outcome.lost = Math.max(0, num(run.json, "bytes") - num(run.json, "echoed")) || 0;
    outcome.generatorCpuS = run.cpuS;
    return outcome;
  },
};

/** Fan-out messages per run, per system and N: each run takes a few seconds on 2 cores. */
const FANOUT_MSGS: Record<string, Record<number, number>> = {
  "switchboard": { 10: 2_000_000, 100: 600_000, 1000: 80_000 },
  "switchboard-meta": { 10: 2_000_000, 100: 600_000, 1000: 80_000 },
  "switchboard-nolog": { 10: 4_000_000, 100: 600_000, 1000: 80_000 },
  "switchboard-nohist": { 10: 2_000_000, 100: 600_000, 1000: 80_000 },
  "nats": { 10: 4_000_000, 100: 300_000, 1000: 18_000 },
  "ncat": { 10: 10_000_000, 100: 1_000_000, 1000: 120_000 },
  "cserver": { 10: 10_000_000, 100: 1_200_000, 1000: 150_000 },
  // As many as the C server's: with 10 000 messages a floor's run was one or two 10 ms ticks of
  // CPU, so its CPU per delivery was noise (0.0100 and 0.0200 µs in two runs of the same code).
  "floor": { 10: 10_000_000, 100: 1_200_000, 1000: 150_000 },
  "floor-keeping": { 10: 4_000_000, 100: 1_200_000, 1000: 150_000 },
};
const QUICK_FANOUT_MSGS: Record<number, number> = { 10: 3000, 100: 500, 1000: 50 };

/**
 * An outcome with latency percentiles whose losses are how far the count under `doneKey` fell
 * short of the one under `expectedKey` (round trips, churn sessions).
 */
function shortfallOutcome(
  run: ToolRun,
  figureKey: string,
  expectedKey: string,
  doneKey: string,
): Outcome {
  const outcome = baseOutcome(run, figureKey);
  outcome.p50Us = num(run.json, "lat_p50_us");
  outcome.p99Us = num(run.json, "lat_p99_us");
  outcome.lost = Math.max(0, num(run.json, expectedKey) - num(run.json, doneKey)) || 0;
  return outcome;
}

function fanoutOutcome(run: ToolRun, figureKey: string): Outcome {
  const outcome = baseOutcome(run, figureKey);
  outcome.p50Us = num(run.json, "lat_p50_us");
  outcome.p99Us = num(run.json, "lat_p99_us");
  const lost = num(run.json, "lost");
  outcome.lost = Number.isFinite(lost) ? lost : NaN;
  for (const key of ["seq_err", "closed", "deliveries", "expected", "msgs"]) {
    outcome.extra[key] = num(run.json, key);
  }
  if ((outcome.extra.seq_err ?? 0) > 0) outcome.problems.push("sequence errors");
  if ((outcome.extra.closed ?? 0) > 0) outcome.problems.push("the server closed subscribers");
  if (lost > 0) outcome.problems.push(`${lost} messages lost`);
  return outcome;
}

/** loadgen `fanout` arguments: `subs` receivers, `msgs` 64-byte messages, then `extra`. */
function fanoutArgs(
  dialect: Dialect,
  subs: number,
  msgs: number,
  extra: string[],
  timeoutS: number,
): string[] {
  return [
    "fanout",
    "--dialect",
    dialect,
    "--subs",
    String(subs),
    "--msgs",
    String(msgs),
    "--size",
    "64",
    ...extra,
    "--connect-rate",
    String(CONNECT_RATE),
    "--timeout",
    String(timeoutS),
    "--idle",
    "10",
  ];
}

function fanout(n: number): Scenario {
  return {
    id: `fanout-${n}`,
    short: `fan-out N = ${n}`,
    title: `chat fan-out, 1 sender → ${n} named receivers, 64-byte messages, unpaced`,
    unit: "deliveries/s",
    higherIsBetter: true,
    role: "broker",
    tool: "loadgen",
    pinned: false,
    subscribers: n,
    perUnit: DELIVERY,
    // The history's cost (issue 16) is read off N = 100: the same server with `--history ""`.
    systems: n === 100 ? [...BROKER_SYSTEMS, "switchboard-nohist"] : BROKER_SYSTEMS,
    args(dialect, system, quick) {
      const counts = FANOUT_MSGS[system] ?? FANOUT_MSGS[system.replace(/@.*/, "")];
      const msgs = quick ? QUICK_FANOUT_MSGS[n] : counts?.[n];
      return fanoutArgs(dialect, n, msgs ?? 10_000, [], quick ? 30 : 100);
    },
    timeoutS: (quick) => (quick ? 60 : 150),
    parse: (run) => fanoutOutcome(run, "deliveries_per_s"),
  };
}

const FANOUT_RATE: Scenario = {
  id: "fanout-rate",
  short: "N = 100 at 1000 msgs/s",
  title: "fan-out latency, N = 100 receivers, sender paced to 1000 msgs/s",
  unit: "µs p99",
  higherIsBetter: false,
  role: "broker",
  tool: "loadgen",
  pinned: false,
  subscribers: 100,
  perUnit: DELIVERY,
  systems: BROKER_SYSTEMS,
  // A run's p99 spreads ±24–48 % for every system, more than the goal's margin.
  minRuns: NOISY_RUNS,
  args(dialect, _system, quick) {
    return fanoutArgs(dialect, 100, quick ? 300 : 5000, ["--rate", "1000"], quick ? 30 : 40);
  },
  timeoutS: (quick) => (quick ? 60 : 90),
  parse: (run) => fanoutOutcome(run, "lat_p99_us"),
};

const CONNS: Scenario = {
  id: "conns-10k",
  short: "10 000 idle clients",
  title: "10 000 idle named connections: server resident memory per connection",
  unit: "kB/conn",
  higherIsBetter: false,
  role: "broker",
  tool: "loadgen",
  pinned: false,
  systems: ["switchboard", "nats", "ncat", "cserver", "floor"],
  args(dialect, _system, quick) {
    return [
      "conns",
      "--dialect",
      dialect,
      "--n",
      quick ? "300" : "10000",
      "--hold",
      quick ? "1" : "5",
      "--connect-rate",
      String(CONNECT_RATE),
      "--connect-timeout",
      "60",
      "--probe",
      "1",
    ];
  },
  timeoutS: (quick) => (quick ? 60 : 150),
  parse(run) {
    const outcome = baseOutcome(run, "kb_per_conn");
    const json = run.json;
    const n = num(json, "n");
    const alive = num(json, "alive");
    const probeMissed = num(json, "probe_expected") - num(json, "probe_received");
    outcome.lost = (n - alive) + Math.max(0, probeMissed) || 0;
    outcome.complete = run.code === 0 && alive === n && probeMissed === 0;
    for (
      const key of [
        "n",
        "connected",
        "registered",
        "alive",
        "probe_received",
        "probe_expected",
        "rss_before_kb",
        "rss_after_kb",
        "hwm_after_kb",
        "rss_after_probe_kb",
        "connect_s",
      ]
    ) outcome.extra[key] = num(json, key);
    if (!(alive > 0)) outcome.figure = NaN;
    if (alive !== n) outcome.problems.push(`${alive}/${n} connections alive after the hold`);
    if (probeMissed > 0) outcome.problems.push(`probe reached ${num(json, "probe_received")}`);
    // conns reports no CPU: the generator process's own CPU over its whole life stands in.
    outcome.elapsedS = run.wallS;
    outcome.generatorCpuS = run.cpuS;
    return outcome;
  },
};

/**
 * Churn with loadgen's `churn`: for Switchboard a session is connect, `HELLO`, a fresh name,
 * `WELCOME`, `:quit`, `BYE`; for nats-server connect, `INFO`, `CONNECT` + `PING`, `PONG`, close
 * (one round trip fewer). Its `raw` session (connect, close) means nothing for a relay, so ncat
 * and the C server are not in it.
 */
const CHURN: Scenario = {
  id: "churn",
  short: "churn",
  title: "churn: connect, register, quit (8 sessions in flight)",
  unit: "sessions/s",
  higherIsBetter: true,
  role: "broker",
  tool: "loadgen",
  pinned: false,
  perUnit: SESSION,
  systems: ["switchboard", "switchboard-nolog", "nats", "floor"],
  args(dialect, _system, quick) {
    return [
      "churn",
      "--dialect",
      dialect,
      "--sessions",
      quick ? "300" : "5000",
      "--conns",
      "8",
      "--timeout",
      quick ? "30" : "60",
    ];
  },
  // JIT warm, the same number of sessions for every system, then measured, as the echo runs are:
  // a long-running server is past its warm-up, and 5 000 sessions are one second of it.
  warmup(dialect, quick) {
    return [
      "churn",
      "--dialect",
      dialect,
      "--sessions",
      String(warmupSessions(quick)),
      "--conns",
      "8",
    ];
  },
  timeoutS: (quick) => (quick ? 45 : 90),
  parse: churnOutcome,
};

function churnOutcome(run: ToolRun): Outcome {
  const outcome = baseOutcome(run, "sessions_per_s");
  outcome.p50Us = num(run.json, "session_p50_us");
  outcome.p99Us = num(run.json, "session_p99_us");
  outcome.lost = Math.max(0, num(run.json, "expected") - num(run.json, "sessions")) || 0;
  return outcome;
}

/**
 * Fan-out N = 100 over TLS, Switchboard only: against its plain `fanout-100` in the same run,
 * it is the cost of encryption per delivery (issue 14). The handshakes happen before the
 * measured phase, so this is the steady-state cost of the records alone.
 */
const FANOUT_100_TLS: Scenario = {
  ...fanout(100),
  id: "fanout-100-tls",
  short: "fan-out N = 100, TLS",
  title: "chat fan-out over TLS, 1 sender → 100 named receivers, 64-byte messages, unpaced",
  systems: ["switchboard", "switchboard-nolog"],
  tls: true,
};

/**
 * Churn over TLS with loadgen's `churn` (which times the handshake as part of the session):
 * sessions/s here is TLS handshakes/s, each followed by one registration and `:quit`.
 */
const CHURN_TLS: Scenario = {
  id: "churn-tls",
  short: "churn, TLS",
  title: "churn over TLS: handshake, register, quit (8 sessions in flight)",
  unit: "sessions/s",
  higherIsBetter: true,
  role: "broker",
  tool: "loadgen",
  pinned: false,
  perUnit: SESSION,
  systems: ["switchboard", "switchboard-nolog"],
  tls: true,
  args(dialect, _system, quick) {
    return [
      "churn",
      "--dialect",
      dialect,
      "--sessions",
      quick ? "100" : "3000",
      "--conns",
      "8",
      "--timeout",
      quick ? "30" : "60",
    ];
  },
  timeoutS: (quick) => (quick ? 45 : 90),
  parse: churnOutcome,
};

const GiB = 1024 * 1024 * 1024;

const FILE_TRANSFER: Scenario = {
  id: "files-1g",
  short: "files",
  title: "file transfer: 1 GiB :put then :get through the client library, SHA-256 checked",
  unit: "MB/s",
  higherIsBetter: true,
  role: "files",
  tool: "files",
  pinned: false,
  systems: ["switchboard"],
  args(_dialect, _system, quick) {
    return ["--bytes", String(quick ? 16 * 1024 * 1024 : GiB)];
  },
  timeoutS: (quick) => (quick ? 60 : 180),
  parse(run) {
    const outcome = baseOutcome(run, "mb_per_s");
    outcome.lost = num(run.json, "lost") || 0;
    outcome.extra.putMBps = num(run.json, "put_mb_per_s");
    outcome.extra.getMBps = num(run.json, "get_mb_per_s");
    outcome.extra.serverPeakKb = num(run.json, "server_hwm_kb");
    outcome.extra.serverPeakKbBefore = num(run.json, "server_hwm_kb_before");
    outcome.extra.clientPeakKb = num(run.json, "client_hwm_kb");
    return outcome;
  },
};

/** Fan-out messages per cluster run, per N (`--quick`: a fiftieth). */
const CLUSTER_MSGS: Record<number, number> = { 100: 200_000, 1000: 20_000 };

/** The systems of the cluster scenarios, and which report columns they stand in. */
const CLUSTER = {
  systems: ["switchboard-cluster", "nats-cluster"],
  subject: "switchboard-cluster",
  standIns: { switchboard: "switchboard-cluster", nats: "nats-cluster" },
} as const;

/**
 * Fan-out across a 3-node cluster (issue 18): the sender on node 1, the `n` receivers spread
 * round-robin over the three nodes (the runner adds `--sub-ports`), unpaced.
 */
function clusterFanout(n: number): Scenario {
  return {
    id: `cluster-fanout-${n}`,
    short: `cluster fan-out N = ${n}`,
    title:
      `3-node cluster fan-out, 1 sender on node 1 → ${n} receivers spread over 3 nodes, 64-byte messages, unpaced`,
    unit: "deliveries/s",
    higherIsBetter: true,
    role: "cluster",
    tool: "loadgen",
    pinned: false,
    perUnit: DELIVERY,
    ...CLUSTER,
    args(dialect, _system, quick) {
      const msgs = CLUSTER_MSGS[n] ?? 10_000;
      return fanoutArgs(dialect, n, quick ? Math.ceil(msgs / 50) : msgs, [], quick ? 60 : 120);
    },
    timeoutS: (quick) => (quick ? 90 : 150),
    parse: (run) => fanoutOutcome(run, "deliveries_per_s"),
  };
}

const CLUSTER_FANOUT_RATE: Scenario = {
  id: "cluster-fanout-rate",
  short: "cluster, N = 100 at 1000 msgs/s",
  title:
    "3-node cluster fan-out latency, N = 100 receivers over 3 nodes, sender paced to 1000 msgs/s",
  unit: "µs p99",
  higherIsBetter: false,
  role: "cluster",
  tool: "loadgen",
  pinned: false,
  perUnit: DELIVERY,
  ...CLUSTER,
  args(dialect, _system, quick) {
    return fanoutArgs(dialect, 100, quick ? 300 : 5000, ["--rate", "1000"], quick ? 30 : 40);
  },
  timeoutS: (quick) => (quick ? 60 : 90),
  parse: (run) => fanoutOutcome(run, "lat_p99_us"),
};

/** Every scenario, in report order. */
export const SCENARIOS: readonly Scenario[] = [
  echoRtt("echo-rtt-1", 1, true),
  echoRtt("echo-rtt-50", 50, false),
  ECHO_STREAM,
  fanout(10),
  fanout(100),
  fanout(1000),
  FANOUT_RATE,
  CONNS,
  CHURN,
  FANOUT_100_TLS,
  CHURN_TLS,
  FILE_TRANSFER,
  clusterFanout(100),
  clusterFanout(1000),
  CLUSTER_FANOUT_RATE,
];

/** The system whose figure is "Switchboard's" in a scenario. */
export function subjectOf(scenario: Pick<Scenario, "subject">): string {
  return scenario.subject ?? "switchboard";
}

/** Scenarios the issue lists that cannot run yet, with the reason. */
export const NOT_AVAILABLE: readonly { id: string; title: string; reason: string }[] = [];
