/**
 * The load generators: `../shared/loadgen` (C: `loadgen` and the reference `cserver`), built
 * with the system C compiler into a cache folder keyed by the sources' hash, and run as their own processes with a time bound. The sources are never modified.
 * @module
 */

/** Paths of the built tools. */
export interface Tools {
  /** `loadgen` binary. */
  loadgen: string;
  /** `cserver` binary (reference C epoll server). */
  cserver: string;
  /** Folder they were built in. */
  dir: string;
  /** `gcc --version`, first line. */
  compiler: string;
  /** True when `loadgen` was built with OpenSSL, so it speaks `--tls 1`. */
  tls: boolean;
}

/** Raised when the tools cannot be built (no compiler, no sources). */
export class ToolsError extends Error {
  override name = "ToolsError";
}

const REPO = new URL("../../", import.meta.url);

/** Where the loadgen sources are: `--loadgen-dir`, `SWITCHBOARD_LOADGEN_DIR`, or `../shared/loadgen`. */
export function loadgenSourceDir(override?: string): string {
  return override ?? Deno.env.get("SWITCHBOARD_LOADGEN_DIR") ??
    new URL("../shared/loadgen", REPO).pathname;
}

function cacheRoot(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const home = Deno.env.get("HOME");
  if (xdg) return `${xdg}/switchboard`;
  if (home) return `${home}/.cache/switchboard`;
  return `${Deno.makeTempDirSync()}/switchboard`;
}

async function sha256(parts: Uint8Array[]): Promise<string> {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function run(cmd: string, args: string[], cwd?: string): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(cmd, {
      args,
      ...(cwd === undefined ? {} : { cwd }),
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new ToolsError(
        `${cmd} not found: the benchmark builds its C load generator with gcc and make ` +
          "(Debian: apt-get install -y build-essential)",
      );
    }
    throw error;
  }
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (!output.success) throw new ToolsError(`${cmd} ${args.join(" ")} failed:\n${text}`);
  return text;
}

/**
 * Builds (once per source version) and returns the tools.
 *
 * @example
 * ```ts ignore
 * const tools = await buildTools();
 * console.log(tools.loadgen);
 * ```
 */
export async function buildTools(sourceDir = loadgenSourceDir()): Promise<Tools> {
  const files: [string, string][] = [
    ["loadgen.c", `${sourceDir}/loadgen.c`],
    ["cserver.c", `${sourceDir}/cserver.c`],
  ];
  const contents: Uint8Array[] = [];
  for (const [, path] of files) {
    try {
      contents.push(await Deno.readFile(path));
    } catch {
      throw new ToolsError(`cannot read ${path} (set --loadgen-dir or SWITCHBOARD_LOADGEN_DIR)`);
    }
  }
  const compiler = (await run("gcc", ["--version"])).split("\n")[0] ?? "gcc";
  const tls = await haveOpenSsl();
  // A build without TLS lives in its own folder: installing libssl-dev later gives a fresh build.
  const dir = `${cacheRoot()}/bench-tools-${await sha256(contents)}${tls ? "-tls" : ""}`;
  const tools: Tools = {
    loadgen: `${dir}/loadgen`,
    cserver: `${dir}/cserver`,
    dir,
    compiler,
    tls,
  };
  if (await allExecutable([tools.loadgen, tools.cserver])) return tools;
  // Build in a fresh folder, then rename it into place: concurrent runs never see half a build.
  const root = cacheRoot();
  await Deno.mkdir(root, { recursive: true });
  const work = await Deno.makeTempDir({ dir: root, prefix: "build-" });
  try {
    for (const [name, path] of files) await Deno.copyFile(path, `${work}/${name}`);
    const flags = ["-O2", "-g", "-Wall", "-Wextra", "-std=gnu11"]; // as ../shared/loadgen/Makefile
    // As the Makefile does: loadgen speaks TLS when OpenSSL's headers are there.
    const tlsFlags = tls ? { before: ["-DLOADGEN_TLS"], after: ["-lssl", "-lcrypto"] } : undefined;
    for (const name of ["loadgen", "cserver"]) {
      const extra = name === "loadgen" ? tlsFlags : undefined;
      await run(
        "gcc",
        [...flags, ...(extra?.before ?? []), "-o", name, `${name}.c`, ...(extra?.after ?? [])],
        work,
      );
    }
    try {
      await Deno.rename(work, dir);
    } catch (error) {
      // Another run finished first: use its build.
      if (!(await allExecutable([tools.loadgen, tools.cserver]))) throw error;
    }
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
  return tools;
}

/** True when OpenSSL's headers are installed (Debian `libssl-dev`), as the Makefile checks. */
async function haveOpenSsl(): Promise<boolean> {
  try {
    const child = new Deno.Command("gcc", {
      args: ["-E", "-x", "c", "-"],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("#include <openssl/ssl.h>\n"));
    await writer.close();
    return (await child.status).success;
  } catch {
    return false;
  }
}

async function allExecutable(paths: string[]): Promise<boolean> {
  for (const path of paths) {
    try {
      const info = await Deno.stat(path);
      if (!info.isFile || ((info.mode ?? 0o755) & 0o111) === 0) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** What one run of a tool gave. */
export interface ToolRun {
  /** Exit code (-1 if killed at the time bound). */
  code: number;
  /** The JSON line the tool printed last, if any. */
  json: Record<string, unknown> | undefined;
  /** The human-readable lines. */
  text: string;
  /** Standard error. */
  stderr: string;
  /** Wall-clock seconds of the whole process. */
  wallS: number;
  /** CPU seconds the tool used (user + system, from the shell's `times`). */
  cpuS: number | undefined;
  /** True when the time bound killed it. */
  timedOut: boolean;
}

/** Parses the children line of the shell's `times` (`0m1.250s 0m0.310s`) into CPU seconds. */
function parseTimes(line: string | undefined): number | undefined {
  const parts = [...(line ?? "").matchAll(/(\d+)m([\d.]+)s/g)];
  if (parts.length !== 2) return undefined;
  return parts.reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
}

function childrenOf(pid: number): number[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/)
      .filter((s) => s !== "").map(Number);
  } catch {
    return [];
  }
}

function kill(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    // Gone already.
  }
}

/**
 * Runs a tool with a hard time bound (SIGKILL after `timeoutS`) and parses its JSON line.
 * `pinCpu` runs it under `taskset -c <cpu>`. The tool runs under a shell whose `times` reports
 * exactly the CPU the tool used, even for runs shorter than any sampling interval.
 */
export async function runTool(
  binary: string,
  args: string[],
  options: { timeoutS: number; pinCpu?: number | undefined },
): Promise<ToolRun> {
  const argv = options.pinCpu === undefined
    ? [binary, ...args]
    : ["taskset", "-c", String(options.pinCpu), binary, ...args];
  const started = performance.now();
  const child = new Deno.Command("sh", {
    args: ["-c", '"$@"; rc=$?; echo "@times" >&2; times >&2; exit $rc', "sh", ...argv],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    // The tool first (killing only the shell would leave it running), then the shell.
    for (const pid of childrenOf(child.pid)) kill(pid);
    kill(child.pid);
  }, options.timeoutS * 1000);
  const output = await child.output();
  clearTimeout(timer);
  const stdout = new TextDecoder().decode(output.stdout);
  const stderrAll = new TextDecoder().decode(output.stderr);
  const mark = stderrAll.lastIndexOf("@times\n");
  const stderr = (mark < 0 ? stderrAll : stderrAll.slice(0, mark)).trim();
  const cpuS = mark < 0 ? undefined : parseTimes(stderrAll.slice(mark).split("\n")[2]);
  const lines = stdout.split("\n");
  const jsonLine = lines.filter((line) => line.startsWith("{")).at(-1);
  let json: Record<string, unknown> | undefined;
  if (jsonLine !== undefined) {
    try {
      json = JSON.parse(jsonLine);
    } catch {
      json = undefined;
    }
  }
  return {
    code: timedOut ? -1 : output.code,
    json,
    text: lines.filter((line) => line !== "" && !line.startsWith("{")).join("\n"),
    stderr,
    wallS: (performance.now() - started) / 1000,
    cpuS,
    timedOut,
  };
}
