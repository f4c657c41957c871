/**
 * The Deno floor (`floor`): `scripts/bench/floor_server.ts`, the least a Deno program must do
 * for each scenario — one task per connection, one pending read, the writes a relay or an echo
 * must make, nothing else. It is no peer a user would pick: it shows, in the same run, how far
 * any single-process Deno server can go (issue 20), so a goal Switchboard misses can be read
 * against it. Not in the TLS, file or cluster scenarios.
 *
 * - `conns-10k`, `churn`: Switchboard's registration (`sb` dialect), first reads of 1024 bytes
 *   as Switchboard's.
 * - fan-out: `--raw`, each read of up to 64 KiB relayed as it is (`raw` dialect).
 * - echo: `--echo`, each read of up to 64 KiB written back as it is (`raw` dialect).
 *
 * The keeping floor (`floor-keeping`) is the same program doing also what Switchboard's default
 * configuration adds to every message: a line in a request log (`--log`) and, relaying, a place in
 * an SQLite history (`--history`) — the goals are measured with both on.
 * @module
 */

import { startServerProcess } from "./server_process.ts";
import type { Dialect, Role, StartContext, System } from "./system.ts";

const SCRIPT = new URL("./floor_server.ts", import.meta.url).pathname;

/** Scenarios the floor speaks Switchboard's registration in; other broker scenarios are raw. */
const SB_SCENARIOS: Readonly<Record<string, Dialect>> = { "conns-10k": "sb", churn: "sb" };

/** floor_server.ts arguments for a role and scenario. */
export function floorArgs(role: Role, scenario: string | undefined): string[] {
  if (role === "echo") return ["--echo", "--read-bytes", "65536"];
  if (scenario !== undefined && scenario in SB_SCENARIOS) return [];
  return ["--raw", "--read-bytes", "65536"];
}

/** floor_server.ts arguments for the keeping floor: the floor's, with a log and a history. */
export function keepingFloorArgs(role: Role, scenario: string | undefined, dir: string): string[] {
  const log = ["--log", `${dir}/floor.log`];
  if (role === "echo") return [...floorArgs(role, scenario), ...log];
  return [...floorArgs(role, scenario), ...log, "--history", `${dir}/floor-history.db`];
}

/** The floor's permissions: the network only. */
const FLOOR_PERMISSIONS = ["--allow-net"];
/** The keeping floor's: also its log and history files. */
export const KEEPING_FLOOR_PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write"];

/** `deno run <permissions> floor_server.ts --port 0 <args>`, as the benchmark starts a floor. */
export function floorCommand(permissions: readonly string[], args: readonly string[]): string[] {
  return [Deno.execPath(), "run", ...permissions, SCRIPT, "--port", "0", ...args];
}

/** Starts a floor command as a server process named `name`; ready once it says its port. */
function startFloor(name: string, cmd: string[], ctx: StartContext) {
  return startServerProcess({
    name,
    cmd,
    pinCpu: ctx.pinCpu,
    ready: { stdout: /listening on (\d+)/ },
    outDir: ctx.outDir,
  });
}

/** The `floor` adapter. */
export const FLOOR: System = {
  id: "floor",
  label: "Deno floor (minimal Deno program)",
  standing: "reference",
  dialects: { echo: "raw", broker: "raw" },
  scenarioDialects: SB_SCENARIOS,
  command:
    "deno run --allow-net scripts/bench/floor_server.ts --port 0 (conns-10k, churn: sb, reads of 1024 B; fan-out: --raw, echo: --echo, reads of 64 KiB)",
  cpuMeaningful: () => true,
  version: () => Promise.resolve(`Deno ${Deno.version.deno}`),
  start(role: Role, ctx: StartContext) {
    return startFloor("floor", floorCommand(FLOOR_PERMISSIONS, floorArgs(role, ctx.scenario)), ctx);
  },
};

/** The `floor-keeping` adapter: the floor with a request log and, relaying, a history. */
export const FLOOR_KEEPING: System = {
  ...FLOOR,
  id: "floor-keeping",
  label: "Deno floor keeping (history + log)",
  command:
    "deno run --allow-net --allow-read --allow-write scripts/bench/floor_server.ts --port 0 (fan-out: --raw --history FILE --log FILE; echo: --echo --log FILE; reads of 64 KiB)",
  start(role: Role, ctx: StartContext) {
    const args = keepingFloorArgs(role, ctx.scenario, ctx.outDir);
    return startFloor("floor-keeping", floorCommand(KEEPING_FLOOR_PERMISSIONS, args), ctx);
  },
};
