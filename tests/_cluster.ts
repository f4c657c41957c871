/**
 * What the cluster tests share: the rule that they skip only outside CI when `nats-server` is
 * missing, Switchboard nodes on a {@linkcode NatsCluster} (in this process, or a `server`
 * subprocess that a test may kill), and waiting for a roster change to reach another node.
 */

import { startTestServer, type TestClient } from "./_helpers.ts";
import { hasNatsServer, type NatsCluster } from "./_nats.ts";
import { ServerProcess } from "./_programs.ts";
import type { ServerOptions } from "../core/config/options.ts";
import type { Server } from "../mod.ts";

/** Whether `nats-server` is installed. */
export const HAVE_NATS: boolean = await hasNatsServer();
if (!HAVE_NATS && Deno.env.get("CI") === "true") {
  throw new Error("nats-server is missing: CI installs it (.ci/run)");
}

/** Options for a cluster test: skipped without `nats-server`; NATS clients keep timers and sockets. */
export const CLUSTER_TEST = { ignore: !HAVE_NATS, sanitizeOps: false, sanitizeResources: false };

/** The admin token of the nodes {@linkcode startNodes} starts. */
export const CLUSTER_ADMIN_TOKEN = "cluster-test-token";

let clusters = 0;

/** A cluster name no other test uses (subjects and buckets are per name). */
export function freshClusterName(prefix = "t"): string {
  return `${prefix}${Date.now() % 100000}x${++clusters}`;
}

/** A Switchboard node in this process on `nats`, in cluster `name`. */
export function startNode(
  nats: NatsCluster,
  name: string,
  extra: ServerOptions = {},
): Promise<Server> {
  return startTestServer({
    cluster: nats.urls.split(","),
    clusterName: name,
    adminToken: CLUSTER_ADMIN_TOKEN,
    ...extra,
  });
}

/** `count` nodes in this process, one after another, in one cluster (a fresh name by default). */
export async function startNodes(
  nats: NatsCluster,
  count = 3,
  extra: ServerOptions = {},
  name = freshClusterName(),
): Promise<Server[]> {
  const servers: Server[] = [];
  for (let i = 0; i < count; i++) servers.push(await startNode(nats, name, extra));
  return servers;
}

/** A node as a `server` subprocess (one that a test can `kill -9`), in cluster `name`. */
export function startNodeProcess(nats: NatsCluster, name: string): Promise<ServerProcess> {
  return ServerProcess.start([
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--log-dir",
    "",
    "--cluster",
    nats.urls,
    "--cluster-name",
    name,
  ]);
}

/** Stops in-process nodes. */
export async function stopAll(servers: Server[]): Promise<void> {
  await Promise.all(servers.map((s) => s.shutdown({ grace: 0.2 })));
}

/** Sends `command` until its answer includes `line` (a roster change still on its way). */
export async function untilAnswer(
  client: TestClient,
  command: string,
  line: string,
): Promise<string[]> {
  let answer: string[] = [];
  for (let i = 0; i < 50; i++) {
    answer = await client.command(command);
    if (answer.includes(line)) return answer;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${command} never answered ${line}: ${answer.join(" | ")}`);
}

/** The next line starting with `prefix`, skipping others (probes, server notices). */
export async function waitForLine(client: TestClient, prefix: string): Promise<string> {
  for (;;) {
    const line = await client.nextLine(10_000);
    if (line.startsWith(prefix)) return line;
  }
}
