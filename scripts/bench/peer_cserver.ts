/**
 * The reference C epoll server from ../shared/loadgen (`cserver`): "the physical limit" of this
 * machine and load generator. The echo goals are ratios to it.
 * @module
 */

import { startServerProcess } from "./server_process.ts";
import type { Role, StartContext, System } from "./system.ts";

/** The `cserver` adapter. */
export const CSERVER: System = {
  id: "cserver",
  label: "C epoll (cserver)",
  standing: "reference",
  dialects: { echo: "raw", broker: "raw" },
  command: "../shared/loadgen/cserver --mode echo|broker --port 0",
  cpuMeaningful: () => true,
  version: () => Promise.resolve("../shared/loadgen"),
  start(role: Role, ctx: StartContext) {
    return startServerProcess({
      name: "cserver",
      cmd: [ctx.tools.cserver, "--mode", role, "--port", "0"],
      pinCpu: ctx.pinCpu,
      ready: { stdout: /listening on (\d+)/ },
      outDir: ctx.outDir,
    });
  },
};
