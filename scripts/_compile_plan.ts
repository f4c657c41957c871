/**
 * The pure half of `scripts/compile.ts`: which programs and targets exist, how the command line
 * is read, which `deno compile` command builds each binary, and what a failure means. Nothing
 * here touches the file system, the network or a subprocess, so `tests/compile_test.ts` can
 * check all of it offline.
 * @module
 */

/** One of the three programs the toolkit ships. */
export interface Program {
  /** Binary name (plus `.exe` on Windows), also the name of its permission set in `deno.json`. */
  name: "server" | "client" | "shutdown";
  /** Entry point, relative to the repository root. */
  entry: string;
  /** The `deno.json` permission set the binary embeds and `deno task` and the tests run with. */
  permissionSet: string;
  /** The deno task that runs it from source. */
  task: string;
  /** Folders of files it reads at run time, embedded with `--include` (the web chat's page). */
  include: readonly string[];
  /**
   * V8 flags the binary embeds (`--v8-flags`), and `deno task`, the tests and the benchmark run
   * with. The server caps V8's young generation at 2 × 4 MiB: left to grow, it reached ~16 MiB
   * per semi-space holding 10 000 idle clients, 3–4 kB per connection of the resident memory
   * (issue 20), for no measured gain in throughput or latency (docs/perf.md).
   */
  v8Flags: readonly string[];
}

/** The server's V8 flags; see {@linkcode Program.v8Flags}. */
export const SERVER_V8_FLAGS: readonly string[] = Object.freeze(["--max-semi-space-size=4"]);

/** `--v8-flags=…` for `flags`, or nothing when there are none. */
export function v8FlagsArgs(flags: readonly string[]): string[] {
  return flags.length === 0 ? [] : [`--v8-flags=${flags.join(",")}`];
}

/** The programs, in build order. Their permissions live only in `deno.json` "permissions". */
export const PROGRAMS: readonly Program[] = Object.freeze(
  [
    {
      name: "server",
      entry: "cli/server.ts",
      permissionSet: "server",
      task: "serve",
      include: ["web/chat"],
      v8Flags: SERVER_V8_FLAGS,
    },
    {
      name: "client",
      entry: "cli/client.ts",
      permissionSet: "client",
      task: "client",
      include: [],
      v8Flags: [],
    },
    {
      name: "shutdown",
      entry: "cli/shutdown.ts",
      permissionSet: "shutdown",
      task: "shutdown",
      include: [],
      v8Flags: [],
    },
  ] as const,
);

/**
 * Folders of data files a program reads at run time (relative to the repository root), embedded
 * with `deno compile --include` and copied when the sources are staged: the server's dashboard,
 * read relative to `core/monitor/_assets.ts`.
 */
export const PROGRAM_INCLUDES: Readonly<Partial<Record<Program["name"], readonly string[]>>> =
  Object.freeze({ server: ["web/dashboard"] });

/** A platform `deno compile --target` can build for. */
export interface Target {
  /** Deno's target triple, also the folder under `dist/` and part of the archive name. */
  id: string;
  /** Operating system, as in `Deno.build.os`. */
  os: "linux" | "darwin" | "windows";
  /** Processor architecture, as in `Deno.build.arch`. */
  arch: "x86_64" | "aarch64";
  /** Suffix of executables: `.exe` on Windows. */
  exe: "" | ".exe";
  /** Release archive format: zip for Windows, gzipped tar elsewhere. */
  archive: "tar.gz" | "zip";
}

/** Every release target, the set `--all` builds. */
export const TARGETS: readonly Target[] = Object.freeze(
  [
    { id: "x86_64-unknown-linux-gnu", os: "linux", arch: "x86_64", exe: "", archive: "tar.gz" },
    { id: "aarch64-unknown-linux-gnu", os: "linux", arch: "aarch64", exe: "", archive: "tar.gz" },
    { id: "x86_64-apple-darwin", os: "darwin", arch: "x86_64", exe: "", archive: "tar.gz" },
    { id: "aarch64-apple-darwin", os: "darwin", arch: "aarch64", exe: "", archive: "tar.gz" },
    { id: "x86_64-pc-windows-msvc", os: "windows", arch: "x86_64", exe: ".exe", archive: "zip" },
  ] as const,
);

/** The release target matching a Deno target triple (by default this machine's). */
export function targetById(id: string): Target | undefined {
  return TARGETS.find((target) => target.id === id);
}

/** What `deno task compile` was asked to do. */
export interface CompilePlan {
  /** Print the usage and stop. */
  help: boolean;
  /** Targets to build, in order. */
  targets: Target[];
  /** Programs to build, in order. */
  programs: Program[];
  /** Output folder; binaries go to `<outDir>/<target>/`. @default {"dist"} */
  outDir: string;
  /** Show `deno compile`'s own output. */
  verbose: boolean;
}

/** A command line the compile script cannot act on. */
export class CompileUsageError extends Error {
  override name = "CompileUsageError";
}

/** `deno task compile --help`. */
export const COMPILE_USAGE = `Usage: deno task compile [options]

Builds the standalone server, client and shutdown executables with deno compile. Each binary
embeds its permission set from deno.json "permissions" and the git commit it was built from
(see --version). The sources are type-checked first; the host's binaries are run once
(--version, --help) to prove they work; dist/SHA256SUMS lists every binary built.

Options:
  --all               build for every release target:
                        ${TARGETS.map((t) => t.id).join("\n                        ")}
  --target TRIPLE     build for this target (repeatable; default: this machine)
  --program NAME      build only this program: server, client or shutdown (repeatable)
  --out DIR           output folder (default dist); binaries go to DIR/<target>/
  --verbose           show deno compile's own output
  -h, --help          this text

Environment:
  DENORT_BIN          a denort binary (Deno's runtime base, same Deno version) to build the
                      host target without downloading it; needed on machines without internet
  SWITCHBOARD_COMMIT  the commit to record (default: GITHUB_SHA, then git rev-parse HEAD)

Exit codes: 0 built, 1 the build failed (with one line saying why), 2 usage error.`;

/**
 * Reads the compile script's arguments. Without `--all` or `--target` it builds for `host`
 * (`Deno.build.target` by default). Throws {@linkcode CompileUsageError} for anything else.
 *
 * @example
 * ```ts
 * import { parseCompileArgs } from "./_compile_plan.ts";
 * const plan = parseCompileArgs(["--all"], "x86_64-unknown-linux-gnu");
 * console.assert(plan.targets.length === 5 && plan.programs.length === 3);
 * ```
 */
export function parseCompileArgs(
  args: readonly string[],
  host: string = Deno.build.target,
): CompilePlan {
  let help = false;
  let all = false;
  let verbose = false;
  let outDir = "dist";
  const targetIds: string[] = [];
  const programNames: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith("--") && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = args[++i];
      if (next === undefined || next.startsWith("-")) {
        throw new CompileUsageError(`${flag} needs a value`);
      }
      return next;
    };
    const noValue = () => {
      if (inline !== undefined) throw new CompileUsageError(`${flag} takes no value`);
    };
    switch (flag) {
      case "-h":
      case "--help":
        noValue();
        help = true;
        break;
      case "--all":
        noValue();
        all = true;
        break;
      case "--verbose":
        noValue();
        verbose = true;
        break;
      case "--target":
        targetIds.push(value());
        break;
      case "--program":
        programNames.push(value());
        break;
      case "--out":
        outDir = value();
        if (outDir.trim() === "") throw new CompileUsageError("--out needs a folder");
        break;
      default:
        throw new CompileUsageError(
          arg.startsWith("-") ? `unknown option ${flag}` : `unexpected argument "${arg}"`,
        );
    }
  }
  if (all && targetIds.length > 0) {
    throw new CompileUsageError("--all already builds every target; leave out --target");
  }
  const targets = all ? [...TARGETS] : unique(targetIds.length > 0 ? targetIds : [host]).map(
    (id) => {
      const target = targetById(id);
      if (target) return target;
      throw new CompileUsageError(
        targetIds.length > 0
          ? `unknown target "${id}"; known targets: ${TARGETS.map((t) => t.id).join(", ")}`
          : `this machine (${id}) is not a release target; pick one with --target or use --all`,
      );
    },
  );
  const programs = programNames.length === 0 ? [...PROGRAMS] : unique(programNames).map((name) => {
    const program = PROGRAMS.find((p) => p.name === name);
    if (program) return program;
    throw new CompileUsageError(
      `unknown program "${name}"; the programs are ${PROGRAMS.map((p) => p.name).join(", ")}`,
    );
  });
  return { help, targets, programs, outDir: outDir.replace(/[/\\]+$/, "") || "/", verbose };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** Where a program's binary for a target goes, e.g. `dist/x86_64-pc-windows-msvc/server.exe`. */
export function binaryPath(outDir: string, target: Target, program: Program): string {
  return `${outDir}/${target.id}/${program.name}${target.exe}`;
}

/**
 * The `deno compile` arguments that build one binary from the staged sources in the current
 * folder. Permissions come from the program's set in `deno.json` (`--permission-set`), never
 * from flags written here, so the binary, `deno task` and the tests cannot drift apart.
 * `--no-prompt`: a binary never asks for more at run time; a missing permission is an error.
 * `--no-check`: the sources were type-checked before staging.
 *
 * @example
 * ```ts
 * import { compileArgs, PROGRAMS, TARGETS } from "./_compile_plan.ts";
 * const args = compileArgs(PROGRAMS[0]!, TARGETS[0]!, "/repo/dist/x86_64-unknown-linux-gnu/server");
 * console.assert(args.includes("--permission-set=server"));
 * ```
 */
export function compileArgs(program: Program, target: Target, output: string): string[] {
  return [
    "compile",
    `--permission-set=${program.permissionSet}`,
    "--no-prompt",
    "--no-check",
    // deno.json's "unstable": ["net"] too, said where it matters: SO_REUSEPORT for the
    // certificate handover on reload (see core/net/tls.ts).
    "--unstable-net",
    ...v8FlagsArgs(program.v8Flags),
    ...(PROGRAM_INCLUDES[program.name] ?? []).flatMap((folder) => ["--include", folder]),
    "--target",
    target.id,
    "--output",
    output,
    ...program.include.flatMap((folder) => ["--include", folder]),
    program.entry,
  ];
}

/** Why `deno compile` failed, judged from its stderr. */
export type CompileFailure =
  | { kind: "runtime-download" }
  | { kind: "runtime-missing"; path: string }
  | { kind: "other" };

/** Reads `deno compile`'s stderr (colours and all) for the failures with a known remedy. */
export function classifyCompileFailure(stderr: string): CompileFailure {
  // deno-lint-ignore no-control-regex -- stripping terminal colour codes
  const text = stderr.replace(/\x1b\[[0-9;]*m/g, "");
  const missing = /Could not find denort at '([^']*)'/.exec(text);
  if (missing) return { kind: "runtime-missing", path: missing[1] as string };
  if (
    /Setting up base binary/.test(text) ||
    /dl\.deno\.land\/[^\s]*denort/.test(text) ||
    /denort-[a-z0-9_-]+\.zip/.test(text)
  ) {
    return { kind: "runtime-download" };
  }
  return { kind: "other" };
}

/**
 * The one sentence printed when Deno's runtime base binary cannot be had.
 *
 * @example
 * ```ts
 * import { runtimeDownloadMessage, TARGETS } from "./_compile_plan.ts";
 * console.assert(runtimeDownloadMessage(TARGETS[0]!, "2.9.6").includes("DENORT_BIN"));
 * ```
 */
export function runtimeDownloadMessage(target: Target, denoVersion: string): string {
  return `compile: the sources are type-checked and ready, but deno compile could not download ` +
    `Deno's runtime base binary (denort ${denoVersion} for ${target.id}); set DENORT_BIN to ` +
    `that denort binary (from denort-${target.id}.zip of the Deno ${denoVersion} release) or ` +
    `run deno task compile on a machine with internet access.`;
}

/** The line printed when DENORT_BIN names a file that is not there. */
export function runtimeMissingMessage(path: string): string {
  return `compile: DENORT_BIN is set to ${path}, which does not exist; point it at a denort ` +
    `binary of Deno ${Deno.version.deno} for this machine, or unset it to download one.`;
}

/** The line in `core/protocol/version.ts` that the compile step rewrites in its copy of the sources. */
export const COMMIT_LINE = /^export const BUILD_COMMIT: string = "dev";$/m;

/**
 * The text of `core/protocol/version.ts` with `commit` recorded in place of `"dev"`. Throws when the
 * marked line is missing, so the stamp can never be skipped silently.
 *
 * @example
 * ```ts
 * import { stampCommit } from "./_compile_plan.ts";
 * const text = stampCommit('export const BUILD_COMMIT: string = "dev";\n', "0123abcd");
 * console.assert(text.includes('"0123abcd"'));
 * ```
 */
export function stampCommit(versionSource: string, commit: string): string {
  if (!/^[0-9A-Za-z._+-]{1,64}$/.test(commit)) {
    throw new Error(`commit "${commit}" is not a plain commit name`);
  }
  if (!COMMIT_LINE.test(versionSource)) {
    throw new Error(
      `core/protocol/version.ts has no line matching ${COMMIT_LINE}; cannot record the commit`,
    );
  }
  return versionSource.replace(COMMIT_LINE, `export const BUILD_COMMIT: string = "${commit}";`);
}

/**
 * Which commit a build records: `SWITCHBOARD_COMMIT`, else `GITHUB_SHA` (shortened), else what
 * git said (`git rev-parse --short=12 HEAD`, `-dirty` when tracked files are modified), else
 * `"unknown"`.
 */
export function chooseCommit(
  env: { SWITCHBOARD_COMMIT?: string | undefined; GITHUB_SHA?: string | undefined },
  git: { head: string | undefined; dirty: boolean },
): string {
  const given = env.SWITCHBOARD_COMMIT?.trim();
  if (given) return given;
  const sha = env.GITHUB_SHA?.trim();
  if (sha) return sha.slice(0, 12);
  if (git.head) return git.dirty ? `${git.head}-dirty` : git.head;
  return "unknown";
}

/** One line of a `SHA256SUMS` file, in the format `sha256sum --check` reads. */
export function checksumLine(sha256Hex: string, path: string): string {
  return `${sha256Hex}  ${path}`;
}

/**
 * DENORT_BIN is one runtime for one platform, and deno compile uses it for every `--target`
 * without checking; so with DENORT_BIN set, only the host may be built. Returns the refusal, or
 * undefined when the plan is fine.
 */
export function denortTargetProblem(targets: readonly Target[], host: string): string | undefined {
  const foreign = targets.filter((target) => target.id !== host);
  if (foreign.length === 0) return undefined;
  return `compile: DENORT_BIN is one runtime for this machine (${host}), and deno compile would ` +
    `put it into the ${foreign.map((t) => t.id).join(", ")} binaries too; unset DENORT_BIN ` +
    `for cross-builds (they download their runtimes) or build only --target ${host}.`;
}

/** The permission kinds of a `deno.json` permission set, in the order flags are written. */
const PERMISSION_KINDS = ["all", "read", "write", "net", "env", "sys", "run", "ffi", "import"];

/**
 * A `deno.json` permission set written as the equivalent `--allow-*`/`--deny-*` flags, e.g.
 * `["--allow-net=127.0.0.1", "--allow-env=SWITCHBOARD_*"]`. Used to show what each binary
 * embeds (the build prints it; `docs/install.md` lists it, and a test keeps the two equal).
 *
 * @example
 * ```ts
 * import { permissionFlags } from "./_compile_plan.ts";
 * const flags = permissionFlags({ net: ["127.0.0.1"], read: true });
 * console.assert(flags.join(" ") === "--allow-read --allow-net=127.0.0.1");
 * ```
 */
export function permissionFlags(set: Record<string, unknown>): string[] {
  const flags: string[] = [];
  for (const kind of Object.keys(set)) {
    if (!PERMISSION_KINDS.includes(kind)) {
      throw new Error(`unknown permission kind "${kind}" in a deno.json permission set`);
    }
  }
  for (const kind of PERMISSION_KINDS) {
    const value = set[kind];
    if (value === undefined || value === false) continue;
    const rules = typeof value === "object" && value !== null && !Array.isArray(value)
      ? value as Record<string, unknown>
      : { allow: value };
    for (const [rule, scope] of Object.entries(rules)) {
      if (!["allow", "deny", "ignore"].includes(rule)) {
        throw new Error(`unknown rule "${rule}" for "${kind}" in a deno.json permission set`);
      }
      if (scope === undefined || scope === false) continue;
      const flag = kind === "all" ? "--allow-all" : `--${rule}-${kind}`;
      if (scope === true) flags.push(flag);
      else if (Array.isArray(scope) && scope.every((s) => typeof s === "string")) {
        flags.push(`${flag}=${scope.join(",")}`);
      } else throw new Error(`"${kind}" in a deno.json permission set must be true or a list`);
    }
  }
  return flags;
}
