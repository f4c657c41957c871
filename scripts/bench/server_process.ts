/**
 * A server under test as its own process: started with its output going straight to files (so
 * a chatty server never blocks on a pipe the benchmark is too busy to drain), ready when its
 * stdout says so or its port answers, stopped by its PID (SIGTERM, then SIGKILL).
 * @module
 */

import { type Memory, memory } from "./proc.ts";

/** How to start a server. */
export interface ServerSpec {
  /** Short name, used for its output files. */
  name: string;
  /** Program and arguments. */
  cmd: string[];
  /** Working directory. */
  cwd?: string;
  /** Run under `taskset -c <cpu>` (every thread it starts inherits the mask). */
  pinCpu?: number | undefined;
  /**
   * Readiness: a pattern on stdout whose first group is the port (servers on port 0), or the
   * port to probe with a TCP connect.
   */
  ready: { stdout: RegExp } | { port: number };
  /** Folder for `<name>.out` and `<name>.err`. */
  outDir: string;
  /** Seconds to wait for readiness. @default {30} */
  startTimeoutS?: number;
}

/** Raised when a server does not come up. */
export class ServerStartError extends Error {
  override name = "ServerStartError";
}

/** A running server. */
export interface ServerProcess {
  /** Its PID (the server itself: the shell and taskset wrappers `exec` it). */
  readonly pid: number;
  /** The port it listens on. */
  readonly port: number;
  /**
   * A cluster ({@linkcode serverGroup}): the client port of every node, the first being
   * {@linkcode ServerProcess.port}; receivers are spread over them (`loadgen --sub-ports`).
   */
  readonly ports?: readonly number[];
  /** A cluster: the PID of every process it is made of (its CPU is theirs together). */
  readonly pids?: readonly number[];
  /** Path of its stdout and stderr files. */
  readonly outPath: string;
  readonly errPath: string;
  /** True once the process has exited. */
  exited(): boolean;
  /** Current and peak resident memory, while it runs. */
  memory(): Memory | undefined;
  /** Stops it (SIGTERM, SIGKILL after `graceS`); resolves with its exit code or signal. */
  stop(graceS?: number): Promise<Deno.CommandStatus>;
}

/**
 * A port that was free a moment ago, for servers that cannot listen on port 0: bind port 0,
 * note the port, close.
 */
export function freePort(hostname = "127.0.0.1"): number {
  const listener = Deno.listen({ hostname, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a server and waits until it is ready. */
export async function startServerProcess(spec: ServerSpec): Promise<ServerProcess> {
  const outPath = `${spec.outDir}/${spec.name}.out`;
  const errPath = `${spec.outDir}/${spec.name}.err`;
  const argv = spec.pinCpu === undefined
    ? spec.cmd
    : ["taskset", "-c", String(spec.pinCpu), ...spec.cmd];
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      'out=$1; err=$2; shift 2; exec "$@" >"$out" 2>"$err"',
      "sh",
      outPath,
      errPath,
      ...argv,
    ],
    ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let status: Deno.CommandStatus | undefined;
  const done = child.status.then((s) => status = s);
  const stop = async (graceS = 10): Promise<Deno.CommandStatus> => {
    if (status !== undefined) return status;
    try {
      child.kill("SIGTERM");
    } catch {
      // Exited meanwhile.
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // Exited meanwhile.
      }
    }, graceS * 1000);
    const final = await done;
    clearTimeout(timer);
    return final;
  };
  const deadline = performance.now() + (spec.startTimeoutS ?? 30) * 1000;
  let port: number | undefined;
  while (port === undefined) {
    if (status !== undefined || performance.now() > deadline) {
      const why = status !== undefined ? `exited with code ${status.code}` : "did not get ready";
      await stop(2);
      const err = await Deno.readTextFile(errPath).catch(() => "");
      throw new ServerStartError(
        `${spec.name} ${why}: ${err.trim().split("\n").slice(-5).join(" | ")}`,
      );
    }
    await sleep(30);
    if ("stdout" in spec.ready) {
      const out = await Deno.readTextFile(outPath).catch(() => "");
      const match = spec.ready.stdout.exec(out);
      if (match?.[1] !== undefined) port = Number(match[1]);
    } else if (await accepts(spec.ready.port)) {
      port = spec.ready.port;
    }
  }
  const pid = child.pid;
  return {
    pid,
    port,
    outPath,
    errPath,
    exited: () => status !== undefined,
    memory: () => (status === undefined ? memory(pid) : undefined),
    stop,
  };
}

/**
 * Several processes run as one system (a cluster): PID and port are those of the first of
 * `front` (where the sender connects), `ports` those of every `front` member, `pids` those of
 * every member; memory is their sum; `stop` stops the members in reverse order of `members`
 * (so Switchboard nodes go before the NATS servers they use).
 */
export function serverGroup(
  members: readonly ServerProcess[],
  front: readonly ServerProcess[],
): ServerProcess {
  const first = front[0];
  if (first === undefined) throw new ServerStartError("a server group needs a front member");
  return {
    pid: first.pid,
    port: first.port,
    ports: front.map((m) => m.port),
    pids: members.flatMap((m) => m.pids ?? [m.pid]),
    outPath: first.outPath,
    errPath: first.errPath,
    exited: () => members.some((m) => m.exited()),
    memory() {
      let rssKb = 0;
      let hwmKb = 0;
      for (const m of members) {
        const mem = m.memory();
        if (mem === undefined) return undefined;
        rssKb += mem.rssKb;
        hwmKb += mem.hwmKb;
      }
      return { rssKb, hwmKb };
    },
    async stop(graceS?: number) {
      let status: Deno.CommandStatus | undefined;
      for (const m of [...members].reverse()) {
        const s = await m.stop(graceS);
        if (m === first) status = s;
      }
      return status as Deno.CommandStatus;
    },
  };
}

/** Stops every server in `started` (a group whose start failed half-way); never throws. */
export async function stopAll(started: readonly ServerProcess[]): Promise<void> {
  for (const s of [...started].reverse()) await s.stop(2).catch(() => {});
}

async function accepts(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}
