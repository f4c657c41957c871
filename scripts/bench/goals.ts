/**
 * The goals of issue 6, as ratios of Switchboard's figure to another system's figure measured
 * in the same run (never absolute numbers: those only hold on one machine).
 * @module
 */

import type { GoalResult, Measurement } from "./results.ts";

/**
 * A goal: Switchboard's median ÷ `against`'s median must be ≥ `atLeast` or ≤ `atMost`. The
 * other median is from the same scenario unless `againstScenario` names another (Switchboard
 * over TLS against itself over plain TCP).
 */
export interface Goal {
  scenario: string;
  against: string;
  againstScenario?: string;
  atLeast?: number;
  atMost?: number;
  text: string;
}

/** The goals table of the issue ("Goals (ratios in one run on this machine …)"). */
export const GOALS: readonly Goal[] = [
  { scenario: "fanout-100", against: "nats", atLeast: 1.5, text: "≥ 1.5× nats-server" },
  { scenario: "fanout-1000", against: "nats", atLeast: 1.5, text: "≥ 1.5× nats-server" },
  { scenario: "fanout-rate", against: "nats", atMost: 1, text: "p99 ≤ nats-server's" },
  { scenario: "echo-rtt-1", against: "cserver", atLeast: 0.5, text: "≥ 0.5× C" },
  { scenario: "echo-rtt-50", against: "cserver", atLeast: 0.5, text: "≥ 0.5× C" },
  { scenario: "echo-stream", against: "cserver", atLeast: 0.5, text: "≥ 0.5× C" },
  { scenario: "conns-10k", against: "nats", atMost: 1, text: "≤ nats-server" },
  {
    scenario: "fanout-100-tls",
    against: "switchboard",
    againstScenario: "fanout-100",
    atLeast: 0.5,
    text: "≥ 0.5× Switchboard plain fanout-100",
  },
];

/** Switchboard's median ÷ `other`'s median for a scenario, if both were measured. */
export function ratio(
  measurements: readonly Measurement[],
  scenario: string,
  other: string,
  subject = "switchboard",
  otherScenario = scenario,
): number | undefined {
  const find = (id: string, system: string) =>
    measurements.find((m) => m.scenario === id && m.system === system);
  const a = find(scenario, subject)?.figure.median;
  const b = find(otherScenario, other)?.figure.median;
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) {
    return undefined;
  }
  return a / b;
}

/** Evaluates every goal against one run's measurements. */
export function evaluateGoals(measurements: readonly Measurement[]): GoalResult[] {
  return GOALS.map((goal) => {
    const r = ratio(
      measurements,
      goal.scenario,
      goal.against,
      "switchboard",
      goal.againstScenario,
    );
    const base = { scenario: goal.scenario, text: goal.text, against: goal.against };
    if (r === undefined) {
      const missing = goal.againstScenario === undefined
        ? goal.against
        : `${goal.against} ${goal.againstScenario}`;
      return { ...base, ratio: undefined, met: undefined, note: `${missing} not measured` };
    }
    const subject = measurements.find((m) =>
      m.scenario === goal.scenario && m.system === "switchboard"
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
