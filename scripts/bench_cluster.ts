/**
 * `deno task bench:cluster`: the cluster scenarios of issue 18, against a 3-node `nats-server`
 * cluster with the same spread, in the same run and interleaved. Fan-out with the sender on node 1
 * and the receivers spread evenly over three nodes (`loadgen fanout --sub-ports`), N = 100 and
 * 1000 unpaced (deliveries/s), and N = 100 at 1000 msgs/s (p50/p99 latency).
 *
 * Systems: `switchboard-cluster` (three `server` processes with `--cluster` on the NATS cluster)
 * and `nats-cluster` (the same three NATS servers, clients speaking NATS to them directly).
 *
 * ```sh
 * deno task bench:cluster [--runs N] [--quick] [--loadgen-dir DIR] [--json PATH]
 * ```
 * @module
 */

import { parseArgs } from "node:util";
import { buildTools, loadgenSourceDir, runTool } from "./bench/tools.ts";
import { NatsCluster } from "../tests/_nats.ts";

const args = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    quick: { type: "boolean", default: false },
    "loadgen-dir": { type: "string" },
    json: { type: "string" },
    scenarios: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (args.values.help) {
  console.log(
    "usage: deno task bench:cluster [--runs N] [--quick] [--scenarios LIST] [--loadgen-dir DIR] [--json PATH]",
  );
  Deno.exit(0);
}
const runs = Number(args.values.runs);
const quick = args.values.quick;

interface ClusterScenario {
  id: string;
  subs: number;
  msgs: Record<string, number>;
  rate?: number;
}

const SCENARIOS: ClusterScenario[] = [
  { id: "cluster-fanout-100", subs: 100, msgs: { sb: 200_000, nats: 200_000 } },
  { id: "cluster-fanout-1000", subs: 1000, msgs: { sb: 20_000, nats: 20_000 } },
  { id: "cluster-fanout-rate", subs: 100, msgs: { sb: 5000, nats: 5000 }, rate: 1000 },
];

const only = args.values.scenarios?.split(",");
const chosen = SCENARIOS.filter((s) => only === undefined || only.includes(s.id));
const tools = await buildTools(loadgenSourceDir(args.values["loadgen-dir"]));
await using nats = await NatsCluster.start(3);
const clusterName = `bench${Date.now() % 100000}`;
const nodes = await Promise.all([0, 1, 2].map(() => startNode(nats.urls, clusterName)));
console.log(
  `bench: nats ${[0, 1, 2].map((i) => nats.port(i)).join(",")}; switchboard ${
    nodes.map((n) => n.port).join(",")
  }`,
);

interface Row {
  scenario: string;
  system: string;
  run: number;
  deliveriesPerS: number;
  p50Us: number;
  p99Us: number;
  lost: number;
  seqErr: number;
}
const rows: Row[] = [];
try {
  for (const scenario of chosen) {
    for (let run = 1; run <= runs; run++) {
      for (const system of ["switchboard-cluster", "nats-cluster"] as const) {
        const sb = system === "switchboard-cluster";
        const ports = sb ? nodes.map((n) => n.port) : [0, 1, 2].map((i) => nats.port(i));
        const msgs = quick
          ? Math.ceil((scenario.msgs[sb ? "sb" : "nats"] ?? 1000) / 50)
          : scenario.msgs[sb ? "sb" : "nats"] ?? 1000;
        const result = await runTool(tools.loadgen, [
          "fanout",
          "--dialect",
          sb ? "sb" : "nats",
          "--subs",
          String(scenario.subs),
          "--msgs",
          String(msgs),
          "--size",
          "64",
          ...(scenario.rate === undefined ? [] : ["--rate", String(scenario.rate)]),
          "--connect-rate",
          "2000",
          "--timeout",
          "120",
          "--idle",
          "10",
          "--port",
          String(ports[0]),
          "--sub-ports",
          ports.join(","),
        ], { timeoutS: 150 });
        const json = result.json ?? {};
        const n = (key: string) => typeof json[key] === "number" ? json[key] as number : NaN;
        const row: Row = {
          scenario: scenario.id,
          system,
          run,
          deliveriesPerS: n("deliveries_per_s"),
          p50Us: n("lat_p50_us"),
          p99Us: n("lat_p99_us"),
          lost: n("lost"),
          seqErr: n("seq_err"),
        };
        rows.push(row);
        console.log(
          `  ${row.scenario} ${row.system} #${run}: ${fmt(row.deliveriesPerS)} deliveries/s ` +
            `p50/p99 ${fmt(row.p50Us)}/${
              fmt(row.p99Us)
            } µs lost ${row.lost} seq errors ${row.seqErr}` +
            (result.code === 0
              ? ""
              : ` (exit ${result.code}: ${result.stderr.split("\n").at(-1)})`),
        );
        // Names of the run's clients are released before the next one registers them again.
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
} finally {
  for (const node of nodes) {
    try {
      node.child.kill("SIGTERM");
    } catch { /* gone */ }
    await node.child.status;
  }
}

console.log("\nmedians:");
for (const scenario of chosen) {
  for (const system of ["switchboard-cluster", "nats-cluster"]) {
    const mine = rows.filter((r) => r.scenario === scenario.id && r.system === system);
    const median = (key: keyof Row) => {
      const values = mine.map((r) => r[key] as number).sort((a, b) => a - b);
      return values[Math.floor(values.length / 2)] ?? NaN;
    };
    const lost = mine.reduce((sum, r) => sum + (Number.isFinite(r.lost) ? r.lost : 0), 0);
    console.log(
      `| ${scenario.id} | ${system} | ${fmt(median("deliveriesPerS"))} | ${
        fmt(median("p50Us"))
      } | ${fmt(median("p99Us"))} | ${lost} |`,
    );
  }
}
if (args.values.json !== undefined) {
  await Deno.writeTextFile(args.values.json, JSON.stringify(rows, null, 2));
}

function fmt(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(0)} k`;
  return String(Math.round(value));
}

/** A `server` process on the NATS cluster, once it prints `listening on`. */
async function startNode(
  urls: string,
  name: string,
): Promise<{ child: Deno.ChildProcess; port: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      "-P=server",
      "cli/server.ts",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--max-clients",
      "20000",
      "--idle-timeout",
      "600",
      "--log-dir",
      "",
      "--history",
      "off",
      "--cluster",
      urls,
      "--cluster-name",
      name,
    ],
    cwd: new URL("../", import.meta.url).pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited before listening: ${seen}`);
    seen += value;
    const match = /listening on .+:(\d+)/.exec(seen);
    if (match !== null) {
      void (async () => {
        while (!(await reader.read()).done) { /* drain */ }
      })();
      return { child, port: Number(match[1]) };
    }
  }
}
