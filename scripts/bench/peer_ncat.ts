/**
 * `ncat --broker`, what a user would pick for a quick chat relay: every line from one client
 * goes to all the others (the load generator's `raw` dialect). As an echo server it is
 * `ncat -k --exec /bin/cat`, which forks one `cat` per connection (single-connection echo only).
 * ncat takes no port 0 and listens with a backlog of 10, so the benchmark picks a free port and
 * paces connects (see ../shared/loadgen/README.md).
 * @module
 */

import { freePort, startServerProcess } from "./server_process.ts";
import { programOutput, type Role, type StartContext, type System, withRetries } from "./system.ts";

/** The `ncat` adapter. */
export const NCAT: System = {
  id: "ncat",
  label: "ncat --broker",
  standing: "peer",
  dialects: { echo: "raw", broker: "raw" },
  command: "ncat -l 127.0.0.1 <free port> --broker -m 20000 (echo: -k --exec /bin/cat)",
  // With --exec the work happens in forked children, not in the listening process.
  cpuMeaningful: (role: Role) => role === "broker",
  async version() {
    const out = await programOutput("ncat", ["--version"]);
    return out?.match(/Version ([\d.]+)/)?.[1];
  },
  start(role: Role, ctx: StartContext) {
    return withRetries(3, () => {
      const port = freePort();
      const mode = role === "broker" ? ["--broker", "-m", "20000"] : ["-k", "--exec", "/bin/cat"];
      return startServerProcess({
        name: "ncat",
        cmd: ["ncat", "-l", "127.0.0.1", String(port), ...mode],
        pinCpu: ctx.pinCpu,
        ready: { port },
        outDir: ctx.outDir,
      });
    });
  },
};
