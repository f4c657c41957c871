/**
 * Switchboard as the benchmark runs it: `deno run -P=server cli/server.ts` from the repository
 * root, on port 0, default configuration (request log on, in a fresh folder) except the limits
 * the issue names: `--max-clients 20000` and `--idle-timeout 600`. The `switchboard-nolog`
 * variant adds `--log-dir ""` so the cost of the request log can be read off one run, and
 * `switchboard-meta` adds `--log-messages meta`: message lines without their text, as the
 * request log was before it recorded the text, so the cost of the text can be read off too.
 * @module
 */

import { VERSION } from "../../core/protocol/version.ts";
import { startServerProcess } from "./server_process.ts";
import type { Role, StartContext, System } from "./system.ts";

const REPO = new URL("../../", import.meta.url).pathname;

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
    command: `deno run -P=server cli/server.ts --port 0 ${SWITCHBOARD_LIMITS.join(" ")}` +
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
      return startServerProcess({
        name: id,
        cwd: repo,
        cmd: [
          Deno.execPath(),
          "run",
          ...profile,
          "-P=server",
          "cli/server.ts",
          "--port",
          "0",
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
        ready: {
          stdout: ctx.tls === undefined
            ? /^listening on .*:(\d+)$/m
            : /^listening on .*:(\d+) \(tls\)$/m,
        },
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
