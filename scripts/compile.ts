/**
 * `deno task compile`: builds the standalone `server`, `client` and `shutdown` executables.
 *
 * 1. Type-checks the three entry points, so a broken tree never reaches `deno compile`.
 * 2. Copies their module graph to a staging folder and records the git commit there in
 *    `core/protocol/version.ts` (the working tree is never modified).
 * 3. Runs `deno compile --permission-set=<program>` per program and target: each binary embeds
 *    exactly its `deno.json` permission set, and never prompts for more.
 * 4. Runs the host's binaries once (`--version`, `--help`) to prove they start and report the
 *    right version and commit.
 * 5. Writes `<out>/SHA256SUMS` for every binary built.
 *
 * When Deno's runtime base binary (denort) cannot be downloaded, it stops with one sentence that
 * says so and how to fix it. Usage: `deno task compile --help`; the pure parts (arguments,
 * targets, commands, messages) live in `_compile_plan.ts`.
 * @module
 */

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { VERSION } from "../core/protocol/version.ts";
import {
  binaryPath,
  checksumLine,
  chooseCommit,
  classifyCompileFailure,
  COMPILE_USAGE,
  compileArgs,
  type CompilePlan,
  CompileUsageError,
  denortTargetProblem,
  parseCompileArgs,
  permissionFlags,
  type Program,
  PROGRAM_INCLUDES,
  runtimeDownloadMessage,
  runtimeMissingMessage,
  stampCommit,
  type Target,
} from "./_compile_plan.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DENO = Deno.execPath();

/** A failure already explained in one line; `main` prints it and exits 1. */
class BuildFailure extends Error {
  override name = "BuildFailure";
}

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(
  command: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<Output> {
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd ?? ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    ...(options.timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(options.timeoutMs) }),
  });
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0] ?? "";
}

/** The permission sets declared in deno.json, by name. */
async function permissionSets(): Promise<Record<string, Record<string, unknown>>> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  return (config.permissions ?? {}) as Record<string, Record<string, unknown>>;
}

async function checkDenort(plan: CompilePlan): Promise<void> {
  const denort = Deno.env.get("DENORT_BIN");
  if (denort === "") Deno.env.delete("DENORT_BIN"); // set but empty means unset, for deno too
  if (!denort) return;
  const problem = denortTargetProblem(plan.targets, Deno.build.target);
  if (problem) throw new BuildFailure(problem);
  let same = false;
  try {
    same = (await Deno.realPath(denort)) === (await Deno.realPath(DENO));
  } catch {
    // Missing: deno compile says so, and classifyCompileFailure turns that into one line.
  }
  if (same) {
    throw new BuildFailure(
      `compile: DENORT_BIN points to the deno CLI itself (${denort}); it must be denort, Deno's ` +
        `runtime base binary for ${Deno.version.deno}, or unset to download it.`,
    );
  }
}

async function typeCheck(programs: Program[]): Promise<void> {
  console.log(`compile: type-checking ${programs.map((p) => p.entry).join(", ")}`);
  const result = await run(DENO, ["check", ...programs.map((p) => p.entry)]);
  if (result.code !== 0) {
    await Deno.stderr.write(new TextEncoder().encode(result.stderr + result.stdout));
    throw new BuildFailure(
      "compile: the sources do not type-check (see above); nothing was built.",
    );
  }
}

async function gitFacts(): Promise<{ head: string | undefined; dirty: boolean }> {
  try {
    const head = await run("git", ["rev-parse", "--short=12", "HEAD"]);
    if (head.code !== 0) return { head: undefined, dirty: false };
    const status = await run("git", ["status", "--porcelain", "--untracked-files=no"]);
    return { head: head.stdout.trim(), dirty: status.stdout.trim() !== "" };
  } catch {
    return { head: undefined, dirty: false }; // no git on this machine
  }
}

/**
 * Copies the local modules the programs load (plus deno.json and deno.lock) to a fresh folder
 * and records `commit` in its `core/protocol/version.ts`. Returns the folder.
 */
async function stage(programs: Program[], commit: string): Promise<string> {
  const files = new Set(["deno.json", "deno.lock"]);
  for (const program of programs) {
    const info = await run(DENO, ["info", "--json", program.entry]);
    if (info.code !== 0) {
      throw new BuildFailure(
        `compile: deno info ${program.entry} failed: ${firstLine(info.stderr)}`,
      );
    }
    const graph = JSON.parse(info.stdout) as {
      modules: { specifier: string; local?: string | null }[];
    };
    for (const module of graph.modules) {
      if (!module.local || !module.specifier.startsWith("file:")) continue;
      const path = relative(ROOT, module.local);
      if (path.startsWith("..") || isAbsolute(path)) continue; // the npm cache, not our sources
      files.add(path);
    }
  }
  for (const program of programs) {
    for (const folder of program.include) {
      for await (const entry of Deno.readDir(join(ROOT, folder))) {
        if (entry.isFile) files.add(join(folder, entry.name));
      }
    }
  }
  const dir = await Deno.makeTempDir({ prefix: "switchboard-compile-" });
  for (const file of files) {
    const from = join(ROOT, file);
    const to = join(dir, file);
    await Deno.mkdir(dirname(to), { recursive: true });
    try {
      await Deno.copyFile(from, to);
    } catch (error) {
      if (file === "deno.lock" && error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
  }
  for (const program of programs) {
    for (const folder of PROGRAM_INCLUDES[program.name] ?? []) {
      await copyFolder(join(ROOT, folder), join(dir, folder));
    }
  }
  const versionFile = join(dir, "core", "protocol", "version.ts");
  await Deno.writeTextFile(versionFile, stampCommit(await Deno.readTextFile(versionFile), commit));
  return dir;
}

/** Copies the files of `from` (recursively) to `to`. */
async function copyFolder(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyFolder(join(from, entry.name), join(to, entry.name));
    else if (entry.isFile) await Deno.copyFile(join(from, entry.name), join(to, entry.name));
  }
}

async function compileOne(
  plan: CompilePlan,
  program: Program,
  target: Target,
  stageDir: string,
): Promise<string> {
  const output = resolve(binaryPath(plan.outDir, target, program));
  await Deno.mkdir(dirname(output), { recursive: true });
  const result = await run(DENO, compileArgs(program, target, output), { cwd: stageDir });
  if (plan.verbose || result.code !== 0 && classifyCompileFailure(result.stderr).kind === "other") {
    await Deno.stderr.write(new TextEncoder().encode(result.stdout + result.stderr));
  }
  if (result.code !== 0) {
    const failure = classifyCompileFailure(result.stderr);
    switch (failure.kind) {
      case "runtime-download":
        throw new BuildFailure(runtimeDownloadMessage(target, Deno.version.deno));
      case "runtime-missing":
        throw new BuildFailure(runtimeMissingMessage(failure.path));
      case "other":
        throw new BuildFailure(
          `compile: deno compile failed for ${program.name} (${target.id}), see its output above.`,
        );
    }
  }
  return output;
}

/** Runs a host binary's `--version` and `--help`: it must start and know its version and commit. */
async function smokeTest(program: Program, path: string, commit: string): Promise<void> {
  const expected = `${program.name} (switchboard) ${VERSION}, commit ${commit},`;
  const shown = relative(Deno.cwd(), path);
  let version: Output;
  let help: Output;
  try {
    version = await run(path, ["--version"], { timeoutMs: 30_000 });
    help = await run(path, ["--help"], { timeoutMs: 30_000 });
  } catch (error) {
    throw new BuildFailure(
      `compile: ${shown} was built but does not start: ${(error as Error).message}`,
    );
  }
  const firstLine = version.stdout.trim().split("\n")[0] ?? "";
  if (version.code !== 0 || !firstLine.startsWith(expected)) {
    const said = (firstLine || version.stderr.trim().split("\n")[0] || "nothing").slice(0, 200);
    throw new BuildFailure(
      `compile: ${shown} was built but its --version said "${said}" instead of "${expected} …"` +
        (Deno.env.get("DENORT_BIN") ? `; is DENORT_BIN really denort ${Deno.version.deno}?` : "."),
    );
  }
  if (help.code !== 0 || help.stdout.trim() === "") {
    const said = (help.stderr.trim().split("\n")[0] ?? "").slice(0, 200);
    throw new BuildFailure(
      `compile: ${shown} was built but --help failed (exit ${help.code}): ${said}`,
    );
  }
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Uint8Array);
  return hash.digest("hex");
}

async function build(plan: CompilePlan): Promise<void> {
  await checkDenort(plan);
  const sets = await permissionSets();
  for (const program of plan.programs) {
    const set = sets[program.permissionSet];
    if (!set) {
      throw new BuildFailure(
        `compile: deno.json has no permission set "${program.permissionSet}" for ${program.name}.`,
      );
    }
    console.log(
      `compile: ${program.name} embeds ${permissionFlags(set).join(" ") || "no permissions"}`,
    );
  }
  await typeCheck(plan.programs);
  const commit = chooseCommit(
    {
      SWITCHBOARD_COMMIT: Deno.env.get("SWITCHBOARD_COMMIT"),
      GITHUB_SHA: Deno.env.get("GITHUB_SHA"),
    },
    await gitFacts(),
  );
  const stageDir = await stage(plan.programs, commit);
  console.log(`compile: staged the sources at commit ${commit}`);
  const built: string[] = [];
  try {
    for (const target of plan.targets) {
      // Stale binaries from an earlier build must not end up in SHA256SUMS or an archive.
      await Deno.remove(resolve(plan.outDir, target.id), { recursive: true }).catch(() => {});
      for (const program of plan.programs) {
        const path = await compileOne(plan, program, target, stageDir);
        const { size } = await Deno.stat(path);
        console.log(`compile: built ${relative(Deno.cwd(), path)} (${(size / 1e6).toFixed(1)} MB)`);
        if (target.id === Deno.build.target) {
          try {
            await smokeTest(program, path, commit);
          } catch (error) {
            await Deno.remove(path).catch(() => {}); // a binary that failed its check is no binary
            throw error;
          }
        }
        built.push(path);
      }
    }
  } finally {
    await Deno.remove(stageDir, { recursive: true }).catch(() => {});
  }
  const outDir = resolve(plan.outDir);
  const lines: string[] = [];
  for (const path of built) lines.push(checksumLine(await sha256(path), relative(outDir, path)));
  await Deno.writeTextFile(join(outDir, "SHA256SUMS"), lines.join("\n") + "\n");
  console.log(
    `compile: ${built.length} binaries for ${plan.targets.map((t) => t.id).join(", ")}; ` +
      `checksums in ${relative(Deno.cwd(), join(outDir, "SHA256SUMS"))}`,
  );
}

async function main(args: string[]): Promise<number> {
  let plan: CompilePlan;
  try {
    plan = parseCompileArgs(args);
  } catch (error) {
    if (!(error instanceof CompileUsageError)) throw error;
    console.error(`compile: ${error.message}`);
    console.error("Run `deno task compile --help` for usage.");
    return 2;
  }
  if (plan.help) {
    console.log(COMPILE_USAGE);
    return 0;
  }
  try {
    await build(plan);
    return 0;
  } catch (error) {
    if (!(error instanceof BuildFailure)) throw error;
    console.error(error.message);
    return 1;
  }
}

Deno.exit(await main(Deno.args));
