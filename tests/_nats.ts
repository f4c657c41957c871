/**
 * A `nats-server` cluster with JetStream on loopback for the cluster tests and the benchmark:
 * free ports, a temporary store folder per node, and nodes that can be killed and started again.
 * @module
 */

/** Whether `nats-server` can be run here. */
export async function hasNatsServer(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("nats-server", { args: ["--version"] }).output();
    return success;
  } catch {
    return false;
  }
}

/** A port nothing listens on right now (bound on 127.0.0.1 and released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** What else the nodes need: for nodes that require credentials or TLS (cluster_auth_test.ts). */
export interface NatsClusterOptions {
  /** More `nats-server` arguments for every node, e.g. `["--user", "sb", "--pass", "pw"]`. */
  readonly args?: readonly string[];
  /** Options of the JetStream probe's `connect` (its credentials and TLS). */
  readonly probe?: Record<string, unknown>;
  /** The scheme of {@linkcode NatsCluster.urls}. @default {"nats"} */
  readonly scheme?: "nats" | "tls";
}

/** One node: its client and route ports, its store, and its process while it runs. */
interface Node {
  readonly name: string;
  readonly port: number;
  readonly routePort: number;
  readonly store: string;
  process: Deno.ChildProcess | undefined;
}

/** A running `nats-server` cluster; see the module comment. */
export class NatsCluster implements AsyncDisposable {
  readonly #nodes: Node[];
  readonly #dir: string;
  readonly #clusterName: string;
  readonly #extra: NatsClusterOptions;

  private constructor(nodes: Node[], dir: string, clusterName: string, extra: NatsClusterOptions) {
    this.#nodes = nodes;
    this.#dir = dir;
    this.#clusterName = clusterName;
    this.#extra = extra;
  }

  /**
   * Starts `size` nodes with JetStream, routed to each other (one node: no routes), and waits
   * until each accepts.
   */
  static async start(size = 3, extra: NatsClusterOptions = {}): Promise<NatsCluster> {
    const dir = await Deno.makeTempDir({ prefix: "sb-nats-" });
    const nodes: Node[] = Array.from({ length: size }, (_, i) => ({
      name: `n${i + 1}`,
      port: freePort(),
      routePort: freePort(),
      store: `${dir}/n${i + 1}`,
      process: undefined,
    }));
    const cluster = new NatsCluster(nodes, dir, `sbtest${freePort()}`, extra);
    for (let i = 0; i < size; i++) cluster.#spawn(i);
    await Promise.all(nodes.map((_, i) => cluster.#waitUp(i)));
    await cluster.waitForJetStream();
    return cluster;
  }

  /** `nats://127.0.0.1:<port>` of every node, comma-separated: what `--cluster` takes. */
  get urls(): string {
    const scheme = this.#extra.scheme ?? "nats";
    return this.#nodes.map((n) => `${scheme}://127.0.0.1:${n.port}`).join(",");
  }

  /** The client port of node `i`. */
  port(i: number): number {
    return this.#nodes[i]!.port;
  }

  /** Kills node `i` (SIGKILL) and waits for it to be gone. */
  async kill(i: number): Promise<void> {
    const node = this.#nodes[i]!;
    const process = node.process;
    node.process = undefined;
    if (process === undefined) return;
    try {
      process.kill("SIGKILL");
    } catch { /* already gone */ }
    await process.status;
  }

  /** Starts node `i` again with the same ports and store. */
  async restart(i: number): Promise<void> {
    this.#spawn(i);
    await this.#waitUp(i);
  }

  /** Waits until JetStream answers on node 0 (a meta leader is elected). */
  async waitForJetStream(timeoutMs = 20_000): Promise<void> {
    const { connect } = await import("@nats-io/transport-node");
    const { Kvm } = await import("@nats-io/kv");
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const nc = await connect({
          servers: this.urls.split(","),
          timeout: 1000,
          ...this.#extra.probe,
        });
        try {
          const kv = await new Kvm(nc).create("sbprobe", { replicas: this.#nodes.length });
          await kv.put("probe", "1");
          return;
        } finally {
          await nc.close();
        }
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  #spawn(i: number): void {
    const node = this.#nodes[i]!;
    const routes = this.#nodes.filter((n) => n !== node).map((n) =>
      `nats-route://127.0.0.1:${n.routePort}`
    ).join(",");
    node.process = new Deno.Command("nats-server", {
      args: [
        "-a",
        "127.0.0.1",
        "-p",
        String(node.port),
        "-n",
        node.name,
        "-js",
        "-sd",
        node.store,
        ...(this.#nodes.length === 1 ? [] : [
          "--cluster_name",
          this.#clusterName,
          "--cluster",
          `nats://127.0.0.1:${node.routePort}`,
          "--routes",
          routes,
        ]),
        ...(this.#extra.args ?? []),
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
  }

  async #waitUp(i: number): Promise<void> {
    const port = this.#nodes[i]!.port;
    for (let tries = 0; tries < 200; tries++) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        conn.close();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`nats-server on port ${port} did not start`);
  }

  /** Kills every node and removes the stores. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.#nodes.map((_, i) => this.kill(i)));
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}
