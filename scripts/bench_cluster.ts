/**
 * `deno task bench:cluster`: the cluster scenarios of `deno task bench` alone (issue 18), kept as
 * a short name for them. Switchboard as three `server` processes with `--cluster` on a fresh
 * 3-node `nats-server` cluster against that NATS cluster driven directly, the sender on node 1
 * and the receivers spread over the three nodes: `cluster-fanout-100`, `cluster-fanout-1000`
 * (deliveries/s) and `cluster-fanout-rate` (N = 100 at 1000 msgs/s, p50/p99). It is
 *
 * ```sh
 * deno task bench --scenarios cluster-fanout-100,cluster-fanout-1000,cluster-fanout-rate \
 *   --peers nats --no-docs [more options]
 * ```
 *
 * so the results file is `deno task bench`'s, docs/perf.md is left alone, and every option of
 * `deno task bench` (`--runs`, `--quick`, `--json` …) works here too; a later `--scenarios` or
 * `--peers` wins.
 * @module
 */

import { main } from "./bench.ts";
import { SCENARIOS } from "./bench/scenarios.ts";

const CLUSTER_SCENARIOS = SCENARIOS.filter((s) => s.role === "cluster").map((s) => s.id);

Deno.exit(
  await main([
    "--scenarios",
    CLUSTER_SCENARIOS.join(","),
    "--peers",
    "nats",
    "--no-docs",
    ...Deno.args,
  ]),
);
