/**
 * The benchmark suite never runs as a timed test; this smoke run only proves it still works:
 * `deno task bench --quick` ends by itself, every Switchboard scenario produced a figure, and
 * nothing was lost. No assertion looks at a speed.
 * @module
 */

import assert from "node:assert/strict";
import { SCENARIOS, subjectOf } from "../scripts/bench/scenarios.ts";
import type { BenchResults } from "../scripts/bench/results.ts";
import { loadgenSourceDir } from "../scripts/bench/tools.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname;
const TIME_BOUND_MS = 180_000;

/** The suite builds its C load generator with gcc; CI must install it (build-essential). */
const gcc = await new Deno.Command("gcc", { args: ["--version"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success, () => false);
const sources = await Deno.stat(`${loadgenSourceDir()}/loadgen.c`).then(() => true, () => false);
if (!sources) console.warn(`bench smoke test skipped: no ${loadgenSourceDir()}/loadgen.c`);

Deno.test({
  name: "deno task bench --quick: every Switchboard scenario gives a figure and loses nothing",
  ignore: !sources || (!gcc && Deno.env.get("CI") !== "true"),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "bench-smoke-" });
    try {
      const json = `${dir}/results.json`;
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "scripts/bench.ts", "--quick", "--json", json],
        cwd: REPO_ROOT,
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(TIME_BOUND_MS),
      }).output();
      const log = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, `bench --quick failed:\n${log}`);

      const results = JSON.parse(await Deno.readTextFile(json)) as BenchResults;
      assert.equal(results.quick, true);
      assert.ok(results.machine.cores > 0);
      for (const scenario of SCENARIOS) {
        const m = results.measurements.find((x) =>
          x.scenario === scenario.id && x.system === subjectOf(scenario)
        );
        // Without OpenSSL (libssl-dev, openssl) the TLS scenarios are skipped, saying so; CI has it.
        if (
          m === undefined && scenario.tls && Deno.env.get("CI") !== "true" &&
          log.includes(`bench: skipping ${scenario.id}:`)
        ) continue;
        // Without nats-server the cluster scenarios are skipped, saying so.
        if (
          m === undefined && scenario.role === "cluster" &&
          log.includes(`bench: skipping ${scenario.id}: nats-server is not installed`)
        ) continue;
        assert.ok(m !== undefined, `no Switchboard measurement for ${scenario.id}`);
        assert.equal(m.runs.length, 1, scenario.id);
        assert.ok(
          Number.isFinite(m.figure.median) && m.figure.median > 0,
          `${scenario.id}: no figure (${m.problems.join("; ")})`,
        );
        assert.equal(m.lost, 0, `${scenario.id} lost ${m.lost}`);
        assert.ok(m.complete, `${scenario.id} incomplete: ${m.problems.join("; ")}`);
        assert.equal(m.runs[0]?.serverDied, false, `${scenario.id}: the server died`);
      }
      // Every scenario of the issue runs now, the file transfer included.
      assert.ok(SCENARIOS.some((scenario) => scenario.id === "files-1g"));
      assert.deepEqual(results.notAvailable, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
