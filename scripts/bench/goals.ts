/**
 * The goals of issues 6, 18 and 20, as ratios of Switchboard's figure to another system's figure
 * measured in the same run (never absolute numbers: those only hold on one machine). A goal
 * compares the scenario's figure, or the server's CPU per unit of work (`measure: "cpu"`: CPU µs
 * per delivery, round trip or session, lower is better).
 * @module
 */

import type { GoalResult, Measurement } from "./results.ts";

/**
 * A goal: the subject's median ÷ `against`'s median must be ≥ `atLeast` or ≤ `atMost`. The
 * other median is from the same scenario unless `againstScenario` names another (Switchboard
 * over TLS against itself over plain TCP).
 */
export interface Goal {
  scenario: string;
  against: string;
  againstScenario?: string;
  /** The system measured. @default {"switchboard"} */
  subject?: string;
  /** The figure, or server CPU per unit of work. @default {"figure"} */
  measure?: "figure" | "cpu";
  atLeast?: number;
  atMost?: number;
  text: string;
}

/** The Deno floor's system id (`scripts/bench/peer_floor.ts`): no goals, only a ratio beside them. */
export const FLOOR_ID = "floor";
/** The Deno floor that also keeps and logs every message, as Switchboard's default does. */
export const KEEPING_FLOOR_ID = "floor-keeping";

const cpuPerDelivery = (n: number): Goal => ({
  scenario: `fanout-${n}`,
  against: "cserver",
  measure: "cpu",
  atMost: 1.5,
  text: "CPU/delivery ≤ 1.5× C",
});

/** The goals tables of the issues ("Goals (ratios in one run on this machine …)"). */
export const GOALS: readonly Goal[] = [
  { scenario: "fanout-100", against: "nats", atLeast: 1.5, text: "≥ 1.5× nats-server" },
  { scenario: "fanout-1000", against: "nats", atLeast: 1.5, text: "≥ 1.5× nats-server" },
  { scenario: "fanout-rate", against: "nats", atMost: 1, text: "p99 ≤ nats-server's" },
  // Issue 20: what the C reference server costs per delivery, and its latency at moderate load.
  cpuPerDelivery(10),
  cpuPerDelivery(100),
  cpuPerDelivery(1000),
  { scenario: "fanout-rate", against: "cserver", atMost: 1.5, text: "p99 ≤ 1.5× C" },
  // Issue 20 raised the round-trip goals from 0.5× (after an uncounted warm-up).
  { scenario: "echo-rtt-1", against: "cserver", atLeast: 0.6, text: "≥ 0.6× C" },
  { scenario: "echo-rtt-50", against: "cserver", atLeast: 0.6, text: "≥ 0.6× C" },
  { scenario: "echo-stream", against: "cserver", atLeast: 0.5, text: "≥ 0.5× C" },
  { scenario: "churn", against: "nats", atLeast: 1, text: "≥ 1.0× nats-server" },
  // Issue 20 tightened it from "≤ nats-server".
  { scenario: "conns-10k", against: "nats", atMost: 0.6, text: "≤ 0.6× nats-server" },
  {
    scenario: "fanout-100-tls",
    against: "switchboard",
    againstScenario: "fanout-100",
    atLeast: 0.5,
    text: "≥ 0.5× Switchboard plain fanout-100",
  },
  // Issue 18: the cluster against the NATS cluster it runs on, same spread, nothing lost.
  {
    scenario: "cluster-fanout-100",
    subject: "switchboard-cluster",
    against: "nats-cluster",
    atLeast: 1,
    text: "≥ 1.0× nats-server cluster",
  },
  {
    scenario: "cluster-fanout-1000",
    subject: "switchboard-cluster",
    against: "nats-cluster",
    atLeast: 1,
    text: "≥ 1.0× nats-server cluster",
  },
];

/** The value a goal compares: the figure's median, or the median server CPU per unit. */
function valueOf(m: Measurement | undefined, measure: "figure" | "cpu"): number | undefined {
  return measure === "cpu" ? m?.cpuUsPerUnit : m?.figure.median;
}

/** `subject`'s median ÷ `other`'s median for a scenario, if both were measured. */
export function ratio(
  measurements: readonly Measurement[],
  scenario: string,
  other: string,
  subject = "switchboard",
  otherScenario = scenario,
  measure: "figure" | "cpu" = "figure",
): number | undefined {
  const find = (id: string, system: string) =>
    measurements.find((m) => m.scenario === id && m.system === system);
  const a = valueOf(find(scenario, subject), measure);
  const b = valueOf(find(otherScenario, other), measure);
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) {
    return undefined;
  }
  return a / b;
}

/** Evaluates every goal against one run's measurements. */
export function evaluateGoals(measurements: readonly Measurement[]): GoalResult[] {
  return GOALS.map((goal) => {
    const subjectId = goal.subject ?? "switchboard";
    const measure = goal.measure ?? "figure";
    const r = ratio(
      measurements,
      goal.scenario,
      goal.against,
      subjectId,
      goal.againstScenario,
      measure,
    );
    // What the least Deno program makes of the same scenario, against the same system.
    const floor = ratio(
      measurements,
      goal.scenario,
      goal.against,
      FLOOR_ID,
      goal.againstScenario,
      measure,
    );
    // … and when it also keeps (history) and logs every message, as Switchboard's default does.
    const keepingFloor = ratio(
      measurements,
      goal.scenario,
      goal.against,
      KEEPING_FLOOR_ID,
      goal.againstScenario,
      measure,
    );
    const base = {
      scenario: goal.scenario,
      ...(measure === "figure" ? {} : { measure }),
      text: goal.text,
      against: goal.against,
      ...(floor === undefined ? {} : { floorRatio: floor }),
      ...(keepingFloor === undefined ? {} : { keepingFloorRatio: keepingFloor }),
    };
    if (r === undefined) {
      const missing = goal.againstScenario === undefined
        ? goal.against
        : `${goal.against} ${goal.againstScenario}`;
      const measured = (scenario: string, system: string) =>
        measurements.some((m) => m.scenario === scenario && m.system === system);
      const note = !measured(goal.scenario, subjectId)
        ? `${subjectId} not measured`
        : !measured(goal.againstScenario ?? goal.scenario, goal.against)
        ? `${missing} not measured`
        : measure === "cpu"
        ? "server CPU per unit not measured (under one 10 ms tick, or not readable)"
        : "no figure";
      return { ...base, ratio: undefined, met: undefined, note };
    }
    const subject = measurements.find((m) =>
      m.scenario === goal.scenario && m.system === subjectId
    );
    const met = (goal.atLeast === undefined || r >= goal.atLeast) &&
      (goal.atMost === undefined || r <= goal.atMost);
    const lossy = subject !== undefined && (subject.lost > 0 || !subject.complete);
    return {
      ...base,
      ratio: r,
      met: met && !lossy,
      ...(lossy ? { note: "Switchboard lost messages or did not complete" } : {}),
    };
  });
}
