/**
 * Switchboard as the benchmark runs it: `deno run -P=server cli/server.ts` from the repository
 * root, with the V8 flags the `server` binary embeds, on port 0, default configuration (request
 * log on, in a fresh folder) except the limits the issue names: `--max-clients 20000` and `--idle-timeout 600`. The `switchboard-nolog`
 * variant adds `--log-dir ""` so the cost of the request log can be read off one run, and
 * `switchboard-meta` adds `--log-messages meta`: message lines without their text, as the
 * request log was before it recorded the text, so the cost of the text can be read off too.
 *
 * `switchboard-cluster` is three `server` processes with `--cluster` on a fresh 3-node
 * `nats-server` cluster (see `peer_nats.ts`), started for the `cluster` role only.
 *
 * {@linkcode startSwitchboard} is the one way every benchmark script (`bench.ts`,
 * `bench_history.ts`) starts the `server` program.
 * @module
 */

import { VERSION } from "../../core/protocol/version.ts";
import { SERVER_V8_FLAGS, v8FlagsArgs } from "../_compile_plan.ts";
import { NATS, startNatsCluster } from "./peer_nats.ts";
import { serverGroup, type ServerProcess, startServerProcess, stopAll } from "./server_process.ts";
import type { Role, StartContext, System } from "./system.ts";

const REPO = new URL("../../", import.meta.url).pathname;
/** The `--v8-flags` the `server` binary embeds, as written on a command line. */
const SERVER_V8_ARGS = v8FlagsArgs(SERVER_V8_FLAGS).join(" ");

/** How to start one `server` process. */
export interface SwitchboardStart {
  /** Short name, used for its output files. @default {"switchboard"} */
  name?: string;
  /** Repository root to run `cli/server.ts` from. @default {this checkout} */
  repo?: string;
  /** Folder for its `.out` and `.err` files. */
  outDir: string;
  /** Server flags, after `--port 0`. */
  args: readonly string[];
  /** Flags for `deno run` (`--cpu-prof` …). */
  denoFlags?: readonly string[];
  /** Run under `taskset -c <cpu>`. */
  pinCpu?: number | undefined;
  /** Ready when it says it listens for TLS (`--tls-only`). */
  tls?: boolean;
  /** Seconds to wait for it to listen. @default {30} */
  startTimeoutS?: number;
}

/**
 * Starts `deno run -P=server cli/server.ts --port 0 …args` as its own process and resolves once
 * it prints the port it listens on.
 *
 * @example
 * ```ts ignore
 * const server = await startSwitchboard({ outDir: "/tmp/x", args: ["--log-dir", ""] });
 * console.log(server.port);
 * await server.stop();
 * ```
 */
export function startSwitchboard(start: SwitchboardStart): Promise<ServerProcess> {
  return startServerProcess({
    name: start.name ?? "switchboard",
    cwd: start.repo ?? REPO,
    cmd: [
      Deno.execPath(),
      "run",
      ...(start.denoFlags ?? []),
      "-P=server",
      // As the compiled binary runs (scripts/_compile_plan.ts).
      ...v8FlagsArgs(SERVER_V8_FLAGS),
      "cli/server.ts",
      "--port",
      "0",
      ...start.args,
    ],
    pinCpu: start.pinCpu,
    ...(start.startTimeoutS === undefined ? {} : { startTimeoutS: start.startTimeoutS }),
    ready: { stdout: start.tls ? /^listening on .*:(\d+) \(tls\)$/m : /^listening on .*:(\d+)$/m },
    outDir: start.outDir,
  });
}

/** The limits raised for every scenario (10 000 idle clients need them). */
export const SWITCHBOARD_LIMITS = ["--max-clients", "20000", "--idle-timeout", "600"];

interface Flavour {
  id: string;
  label: string;
  standing: "subject" | "variant";
  withLog: boolean;
  /** Keep the message history (the default), in the run's folder. @default {true} */
  withHistory?: boolean;
  /** Repository root to run `cli/server.ts` from. */
  repo: string;
  /** Flags added to the defaults. */
  extra?: readonly string[];
}

function switchboard(
  { id, label, standing, withLog, withHistory = true, repo, extra = [] }: Flavour,
): System {
  return {
    id,
    label,
    standing,
    dialects: { echo: "sb", broker: "sb", files: "sb" },
    command:
      `deno run -P=server ${SERVER_V8_ARGS} cli/server.ts --port 0 ${
        SWITCHBOARD_LIMITS.join(" ")
      }` +
      (withLog ? " --log-dir <tmp>" : ` --log-dir ""`) +
      (withHistory ? " --history <tmp>/history.db" : ` --history ""`) +
      extra.map((flag) => ` ${flag}`).join("") +
      " [--mode echo]",
    cpuMeaningful: () => true,
    version: () => Promise.resolve(`${VERSION} (deno ${Deno.version.deno})`),
    start(role: Role, ctx: StartContext) {
      const profile = ctx.profileDir === undefined
        ? []
        : ["--cpu-prof", `--cpu-prof-dir=${ctx.profileDir}`];
      return startSwitchboard({
        name: id,
        repo,
        denoFlags: profile,
        args: [
          ...SWITCHBOARD_LIMITS,
          "--log-dir",
          withLog ? `${ctx.outDir}/logs` : "",
          "--token-file",
          `${ctx.outDir}/admin.token`,
          "--history",
          withHistory ? `${ctx.outDir}/history.db` : "",
          ...extra,
          ...(role === "echo" ? ["--mode", "echo"] : []),
          ...(role === "files" ? ["--files-dir", `${ctx.outDir}/files`] : []),
          ...(ctx.tls === undefined ? [] : [
            "--tls-cert",
            ctx.tls.cert,
            "--tls-key",
            ctx.tls.key,
            "--tls-port",
            "0",
            "--tls-only",
          ]),
        ],
        pinCpu: ctx.pinCpu,
        tls: ctx.tls !== undefined,
        outDir: ctx.outDir,
      });
    },
  };
}

/** Switchboard in its default configuration (request log on). */
export const SWITCHBOARD: System = switchboard({
  id: "switchboard",
  label: "Switchboard",
  standing: "subject",
  withLog: true,
  repo: REPO,
});

/** Switchboard with `--log-dir ""`: the same server without the request log. */
export const SWITCHBOARD_NOLOG: System = switchboard({
  id: "switchboard-nolog",
  label: "Switchboard, no log",
  standing: "variant",
  withLog: false,
  repo: REPO,
});

/** Switchboard with `--history ""`: the same server without the message history. */
export const SWITCHBOARD_NOHIST: System = switchboard({
  id: "switchboard-nohist",
  label: "Switchboard, no history",
  standing: "variant",
  withLog: true,
  withHistory: false,
  repo: REPO,
});

/** Switchboard with `--log-messages meta`: the request log without the messages' text. */
export const SWITCHBOARD_META: System = switchboard({
  id: "switchboard-meta",
  label: "Switchboard, log meta",
  standing: "variant",
  withLog: true,
  repo: REPO,
  extra: ["--log-messages", "meta"],
});

/**
 * Switchboard from another checkout (an experiment), default configuration: `--compare DIR`
 * runs it interleaved with this one, so an A/B comparison shares the machine's conditions.
 */
export function switchboardAt(dir: string): System {
  const name = dir.replace(/\/+$/, "").split("/").at(-1) ?? dir;
  return switchboard({
    id: `switchboard@${name}`,
    label: `Switchboard @ ${name}`,
    standing: "variant",
    withLog: true,
    repo: dir,
  });
}

/** Nodes of the benchmark's clusters (Switchboard's and the NATS one under it). */
export const CLUSTER_NODES = 3;

/**
 * Switchboard as a 3-node cluster: a fresh 3-node `nats-server` cluster (JetStream on), then
 * one `server` process per NATS node with `--cluster <every NATS URL>`, request log and history
 * off (the cluster scenarios measure the bus). Its CPU is that of all six processes.
 */
export const SWITCHBOARD_CLUSTER: System = {
  id: "switchboard-cluster",
  label: "Switchboard cluster",
  standing: "subject",
  dialects: { cluster: "sb" },
  command:
    `${CLUSTER_NODES} × deno run -P=server ${SERVER_V8_ARGS} cli/server.ts --port 0 ${
      SWITCHBOARD_LIMITS.join(" ")
    } --log-dir "" --history "" --cluster <nats URLs> --cluster-name <fresh>, on ${CLUSTER_NODES} ` +
    "nats-server -js nodes",
  cpuMeaningful: () => true,
  // The cluster needs nats-server: without it there is nothing to run on.
  async version() {
    const nats = await NATS.version();
    return nats === undefined ? undefined : `${VERSION} (deno ${Deno.version.deno}, nats ${nats})`;
  },
  async start(_role: Role, ctx: StartContext) {
    const nats = await startNatsCluster(CLUSTER_NODES, ctx, { jetStream: true });
    const urls = nats.ports?.map((p) => `nats://127.0.0.1:${p}`).join(",") ?? "";
    const name = `bench${nats.port}`;
    const nodes: ServerProcess[] = [];
    try {
      for (let i = 0; i < CLUSTER_NODES; i++) {
        nodes.push(
          await startSwitchboard({
            name: `switchboard-node${i + 1}`,
            outDir: ctx.outDir,
            args: [
              ...SWITCHBOARD_LIMITS,
              "--log-dir",
              "",
              "--history",
              "",
              "--token-file",
              `${ctx.outDir}/admin${i + 1}.token`,
              "--cluster",
              urls,
              "--cluster-name",
              name,
            ],
            startTimeoutS: 60,
          }),
        );
      }
    } catch (error) {
      await stopAll(nodes);
      await nats.stop(2);
      throw error;
    }
    return serverGroup([nats, ...nodes], nodes);
  },
};
