/**
 * The benchmark's goals are ratios of medians from one run: of the figure, or of the server's
 * CPU per unit of work (issue 20), for Switchboard or for the scenario's own subject (the
 * cluster, issue 18). No server runs here: the measurements are made up.
 * @module
 */

import assert from "node:assert/strict";
import { evaluateGoals } from "../scripts/bench/goals.ts";
import type { Measurement } from "../scripts/bench/results.ts";

function measurement(
  scenario: string,
  system: string,
  figure: number,
  extra: Partial<Measurement> = {},
): Measurement {
  return {
    scenario,
    system,
    runs: [],
    figure: { n: 1, median: figure, min: figure, max: figure, spreadPct: 0 },
    lost: 0,
    complete: true,
    generatorBound: false,
    generatorShare: undefined,
    serverCpuS: undefined,
    foreignCpuMax: undefined,
    serverHwmKb: undefined,
    problems: [],
    ...extra,
  };
}

const goal = (results: ReturnType<typeof evaluateGoals>, scenario: string, text: string) =>
  results.find((g) => g.scenario === scenario && g.text.includes(text));

Deno.test("a CPU-per-delivery goal compares server CPU per delivery, not deliveries/s", () => {
  const results = evaluateGoals([
    measurement("fanout-100", "switchboard", 1e6, { cpuUsPerUnit: 0.3 }),
    measurement("fanout-100", "cserver", 9e6, { cpuUsPerUnit: 0.25 }),
  ]);
  const cpu = goal(results, "fanout-100", "CPU/delivery");
  assert.equal(cpu?.measure, "cpu");
  assert.ok(Math.abs((cpu?.ratio ?? 0) - 1.2) < 1e-9);
  assert.equal(cpu?.met, true);
});

Deno.test("a CPU goal without a CPU reading is not measured, and says why", () => {
  const results = evaluateGoals([
    measurement("fanout-10", "switchboard", 1e6, { cpuUsPerUnit: 0.3 }),
    measurement("fanout-10", "cserver", 9e6),
  ]);
  const cpu = goal(results, "fanout-10", "CPU/delivery");
  assert.equal(cpu?.met, undefined);
  assert.match(cpu?.note ?? "", /CPU per unit/);
});

Deno.test("the cluster goal is Switchboard's cluster against the NATS cluster, lossless", () => {
  const met = evaluateGoals([
    measurement("cluster-fanout-100", "switchboard-cluster", 6e6),
    measurement("cluster-fanout-100", "nats-cluster", 5e6),
  ]);
  assert.equal(goal(met, "cluster-fanout-100", "cluster")?.met, true);
  const lossy = evaluateGoals([
    measurement("cluster-fanout-100", "switchboard-cluster", 6e6, { lost: 3 }),
    measurement("cluster-fanout-100", "nats-cluster", 5e6),
  ]);
  assert.equal(goal(lossy, "cluster-fanout-100", "cluster")?.met, false);
});

Deno.test("issue 20's goals replace the older ones for the same scenario and peer", () => {
  const results = evaluateGoals([]);
  const keys = results.map((g) => `${g.scenario}/${g.against}/${g.measure ?? "figure"}`);
  assert.equal(new Set(keys).size, keys.length);
  assert.equal(goal(results, "echo-rtt-1", "C")?.text, "≥ 0.6× C");
  assert.equal(goal(results, "conns-10k", "nats")?.text, "≤ 0.6× nats-server");
  assert.ok(goal(results, "churn", "nats-server"));
  assert.ok(goal(results, "fanout-rate", "1.5× C"));
});

Deno.test("beside each goal, the Deno floor's ratio to the same system, with the same measure", () => {
  const results = evaluateGoals([
    measurement("fanout-10", "switchboard", 1e6, { cpuUsPerUnit: 0.6 }),
    measurement("fanout-10", "cserver", 9e6, { cpuUsPerUnit: 0.2 }),
    measurement("fanout-10", "floor", 3e6, { cpuUsPerUnit: 0.4 }),
    measurement("churn", "switchboard", 700),
    measurement("churn", "nats", 5000),
  ]);
  const cpu = goal(results, "fanout-10", "CPU/delivery");
  assert.equal(cpu?.met, false);
  assert.ok(Math.abs((cpu?.floorRatio ?? 0) - 2) < 1e-9);
  // No floor measured: no floor ratio, and the goal itself is unchanged.
  const churn = goal(results, "churn", "nats-server");
  assert.equal(churn?.floorRatio, undefined);
  assert.ok(Math.abs((churn?.ratio ?? 0) - 0.14) < 1e-9);
});

Deno.test("beside the floor's ratio, the keeping floor's: the floor that also logs and stores every message", () => {
  const results = evaluateGoals([
    measurement("fanout-100", "switchboard", 2e7, { cpuUsPerUnit: 0.03 }),
    measurement("fanout-100", "cserver", 3e7, { cpuUsPerUnit: 0.01 }),
    measurement("fanout-100", "floor", 3e7, { cpuUsPerUnit: 0.012 }),
    measurement("fanout-100", "floor-keeping", 2.5e7, { cpuUsPerUnit: 0.018 }),
    measurement("fanout-rate", "switchboard", 1200),
    measurement("fanout-rate", "cserver", 500),
    measurement("fanout-rate", "floor", 650),
  ]);
  const cpu = goal(results, "fanout-100", "CPU/delivery");
  assert.ok(Math.abs((cpu?.floorRatio ?? 0) - 1.2) < 1e-9);
  assert.ok(Math.abs((cpu?.keepingFloorRatio ?? 0) - 1.8) < 1e-9);
  // The goal's verdict is Switchboard's alone.
  assert.equal(cpu?.met, false);
  // Not measured: absent, not zero.
  assert.equal(goal(results, "fanout-rate", "1.5× C")?.keepingFloorRatio, undefined);
});
