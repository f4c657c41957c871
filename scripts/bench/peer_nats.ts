/**
 * `nats-server`, the best-in-class message server, as a fan-out peer: started on a free port
 * on 127.0.0.1 with its defaults, driven in its own protocol (the load generator's `nats`
 * dialect: CONNECT, SUB, PUB, MSG).
 * @module
 */

import { freePort, startServerProcess } from "./server_process.ts";
import { programOutput, type Role, type StartContext, type System, withRetries } from "./system.ts";

/** The `nats-server` adapter. */
export const NATS: System = {
  id: "nats",
  label: "nats-server",
  standing: "peer",
  dialects: { broker: "nats" },
  command: "nats-server -a 127.0.0.1 -p <free port>",
  cpuMeaningful: () => true,
  async version() {
    const out = await programOutput("nats-server", ["--version"]);
    return out?.match(/v\d+\.\d+\.\d+/)?.[0];
  },
  start(_role: Role, ctx: StartContext) {
    return withRetries(3, () => {
      // nats-server has no "print the port" for -p 0 on stdout: pick a free port first.
      const port = freePort();
      return startServerProcess({
        name: "nats",
        cmd: ["nats-server", "-a", "127.0.0.1", "-p", String(port)],
        pinCpu: ctx.pinCpu,
        ready: { port },
        outDir: ctx.outDir,
      });
    });
  },
};
