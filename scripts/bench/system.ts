/**
 * A system under test: Switchboard itself, a peer a user might pick instead (`nats-server`,
 * `ncat --broker`), or the reference C epoll server. Each adapter knows how to start a fresh
 * instance for one role, which wire dialect the load generator must speak to it, and whether
 * it is installed.
 * @module
 */

import type { ServerProcess } from "./server_process.ts";
import type { TlsFiles } from "./tls.ts";
import type { Tools } from "./tools.ts";

/** What the load generator speaks: Switchboard lines, NATS, or plain relayed lines. */
export type Dialect = "sb" | "nats" | "raw";

/**
 * What a server is started as: a line echo, a chat relay / message broker, a file store, or a
 * 3-node cluster of brokers (the generator's receivers are spread over its nodes).
 */
export type Role = "echo" | "broker" | "files" | "cluster";

/** Where a system stands in the report. */
export type Standing = "subject" | "variant" | "peer" | "reference";

/** Everything an adapter may need to start a server. */
export interface StartContext {
  /** Built load generator tools (the reference server lives with them). */
  tools: Tools;
  /** Folder for this server's output and logs (fresh per start). */
  outDir: string;
  /** Run the server under `taskset -c <cpu>`. */
  pinCpu?: number | undefined;
  /** Folder to write a V8 CPU profile into (Switchboard only). */
  profileDir?: string | undefined;
  /** Serve TLS only, with these files (scenarios with `tls`; Switchboard only). */
  tls?: TlsFiles | undefined;
  /** Id of the scenario it is started for (a system may serve one role differently per scenario). */
  scenario?: string | undefined;
}

/** A system the benchmark can run. */
export interface System {
  /** Stable id used in results: `switchboard`, `nats`, `ncat`, `cserver` … */
  readonly id: string;
  /** Name shown in reports. */
  readonly label: string;
  /** Subject of the benchmark, a configuration variant of it, a peer, or the C reference. */
  readonly standing: Standing;
  /** Dialect per role (a system without an entry cannot serve that role). */
  readonly dialects: Partial<Record<Role, Dialect>>;
  /** Dialect for these scenarios, by id, instead of the role's (the Deno floor). */
  readonly scenarioDialects?: Readonly<Record<string, Dialect>>;
  /** A one-line description of how it is run, for the report. */
  readonly command: string;
  /** True when the listening process does the work, so its CPU seconds mean something. */
  cpuMeaningful(role: Role): boolean;
  /** Its version, or undefined when it is not installed. */
  version(): Promise<string | undefined>;
  /** Starts a fresh instance; resolves once it accepts connections. */
  start(role: Role, ctx: StartContext): Promise<ServerProcess>;
}

/** The dialect `system` is driven in for a scenario, or undefined when it cannot serve it. */
export function dialectOf(
  system: Pick<System, "dialects" | "scenarioDialects">,
  scenario: { readonly id: string; readonly role: Role },
): Dialect | undefined {
  const dialect = system.dialects[scenario.role];
  return dialect === undefined ? undefined : system.scenarioDialects?.[scenario.id] ?? dialect;
}

/** Runs a program and returns its output (stdout then stderr), or undefined if it is missing. */
export async function programOutput(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    return (new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr)).trim();
  } catch {
    return undefined;
  }
}

/** Retries a start that picked a port someone else took meanwhile. */
export async function withRetries<T>(attempts: number, start: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= attempts) throw error;
    }
  }
}
