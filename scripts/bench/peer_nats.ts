/**
 * `nats-server`, the best-in-class message server, as a fan-out peer: started on a free port
 * on 127.0.0.1 with its defaults, driven in its own protocol (the load generator's `nats`
 * dialect: CONNECT, SUB, PUB, MSG). `nats-cluster` is three of them routed into one cluster, the
 * peer of Switchboard's cluster in the `cluster-*` scenarios.
 * @module
 */

import {
  freePort,
  serverGroup,
  type ServerProcess,
  startServerProcess,
  stopAll,
} from "./server_process.ts";
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

/** What {@linkcode startNatsCluster} may turn on. */
export interface NatsClusterOptions {
  /**
   * JetStream on every node (`-js`, store in the run's folder), and wait until it answers:
   * Switchboard's cluster keeps its names and rosters in JetStream key-value buckets.
   * @default {false}
   */
  jetStream?: boolean;
}

/**
 * A fresh `size`-node `nats-server` cluster on free ports, every node routed to the others,
 * as one {@linkcode ServerProcess} whose `ports` are the nodes' client ports.
 */
export async function startNatsCluster(
  size: number,
  ctx: StartContext,
  options: NatsClusterOptions = {},
): Promise<ServerProcess> {
  return await withRetries(3, async () => {
    const ports = Array.from({ length: size }, () => freePort());
    const routePorts = Array.from({ length: size }, () => freePort());
    const clusterName = `bench${ports[0]}`;
    const nodes: ServerProcess[] = [];
    try {
      for (let i = 0; i < size; i++) {
        const routes = routePorts.filter((_, j) => j !== i)
          .map((p) => `nats-route://127.0.0.1:${p}`).join(",");
        nodes.push(
          await startServerProcess({
            name: `nats-node${i + 1}`,
            cmd: [
              "nats-server",
              "-a",
              "127.0.0.1",
              "-p",
              String(ports[i]),
              "-n",
              `n${i + 1}`,
              ...(options.jetStream ? ["-js", "-sd", `${ctx.outDir}/nats-n${i + 1}`] : []),
              "--cluster_name",
              clusterName,
              "--cluster",
              `nats://127.0.0.1:${routePorts[i]}`,
              "--routes",
              routes,
            ],
            pinCpu: ctx.pinCpu,
            ready: { port: ports[i] as number },
            outDir: ctx.outDir,
          }),
        );
      }
      if (options.jetStream) await waitForJetStream(ports, size);
      return serverGroup(nodes, nodes);
    } catch (error) {
      await stopAll(nodes);
      throw error;
    }
  });
}

/** Waits until a replicated key-value bucket can be written (a meta leader is elected). */
async function waitForJetStream(ports: readonly number[], replicas: number): Promise<void> {
  const { connect } = await import("@nats-io/transport-node");
  const { Kvm } = await import("@nats-io/kv");
  const servers = ports.map((p) => `nats://127.0.0.1:${p}`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const nc = await connect({ servers, timeout: 1000 });
      try {
        const kv = await new Kvm(nc).create("benchprobe", { replicas });
        await kv.put("probe", "1");
        return;
      } finally {
        await nc.close();
      }
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * The same 3-node `nats-server` cluster Switchboard's cluster runs on (JetStream on), driven
 * directly in NATS: the sender on node 1, the receivers spread over the three nodes.
 */
export const NATS_CLUSTER: System = {
  id: "nats-cluster",
  label: "nats-server cluster",
  standing: "peer",
  dialects: { cluster: "nats" },
  command: "3 × nats-server -a 127.0.0.1 -p <free port> -js --cluster … --routes <the others>",
  cpuMeaningful: () => true,
  version: () => NATS.version(),
  start: (_role: Role, ctx: StartContext) => startNatsCluster(3, ctx, { jetStream: true }),
};
