/**
 * The compile script: its arguments, its targets, the `deno compile` command it runs and the one
 * sentence it ends with when Deno's runtime base binary cannot be had. Nothing here uses the
 * network: the end-to-end case points the download at a local port that refuses it.
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  binaryPath,
  checksumLine,
  chooseCommit,
  classifyCompileFailure,
  COMPILE_USAGE,
  compileArgs,
  CompileUsageError,
  denortTargetProblem,
  parseCompileArgs,
  permissionFlags,
  PROGRAMS,
  runtimeDownloadMessage,
  stampCommit,
  targetById,
  TARGETS,
  v8FlagsArgs,
} from "../scripts/_compile_plan.ts";
import denoConfig from "../deno.json" with { type: "json" };

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const LINUX = "x86_64-unknown-linux-gnu";
const decoder = new TextDecoder();

Deno.test("compile: without options it builds the three programs for the host into dist/", () => {
  const plan = parseCompileArgs([], LINUX);
  assert.deepEqual(plan.targets.map((t) => t.id), [LINUX]);
  assert.deepEqual(plan.programs.map((p) => p.name), ["server", "client", "shutdown"]);
  assert.equal(plan.outDir, "dist");
  assert.equal(plan.help, false);
  assert.equal(parseCompileArgs([], "aarch64-apple-darwin").targets[0]?.id, "aarch64-apple-darwin");
});

Deno.test("compile: --all builds Linux, macOS (x86_64 and aarch64) and Windows x86_64", () => {
  const plan = parseCompileArgs(["--all"], LINUX);
  assert.deepEqual(plan.targets.map((t) => t.id), [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
  ]);
  assert.deepEqual(TARGETS.map((t) => [t.os, t.arch, t.exe, t.archive]), [
    ["linux", "x86_64", "", "tar.gz"],
    ["linux", "aarch64", "", "tar.gz"],
    ["darwin", "x86_64", "", "tar.gz"],
    ["darwin", "aarch64", "", "tar.gz"],
    ["windows", "x86_64", ".exe", "zip"],
  ]);
  for (const target of TARGETS) assert.ok(COMPILE_USAGE.includes(target.id));
});

Deno.test("compile: --target, --program, --out and --help are read; repeats are merged", () => {
  const plan = parseCompileArgs(
    [
      "--target",
      "x86_64-pc-windows-msvc",
      "--target=aarch64-apple-darwin",
      "--target",
      "x86_64-pc-windows-msvc",
      "--program",
      "shutdown",
      "--out=build/",
      "--verbose",
    ],
    LINUX,
  );
  assert.deepEqual(plan.targets.map((t) => t.id), [
    "x86_64-pc-windows-msvc",
    "aarch64-apple-darwin",
  ]);
  assert.deepEqual(plan.programs.map((p) => p.name), ["shutdown"]);
  assert.equal(plan.outDir, "build");
  assert.equal(plan.verbose, true);
  assert.equal(parseCompileArgs(["-h"], LINUX).help, true);
  assert.equal(parseCompileArgs(["--help", "--all"], LINUX).help, true);
});

Deno.test("compile: bad command lines are usage errors that say what is wrong", () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /unknown option --bogus/],
    [["dist"], /unexpected argument "dist"/],
    [["--target"], /--target needs a value/],
    [["--target", "--all"], /--target needs a value/],
    [
      ["--target", "riscv64-unknown-linux-gnu"],
      /unknown target "riscv64-unknown-linux-gnu"; known targets: x86_64-unknown-linux-gnu/,
    ],
    [["--all", "--target", LINUX], /--all already builds every target/],
    [
      ["--program", "daemon"],
      /unknown program "daemon"; the programs are server, client, shutdown/,
    ],
    [["--out="], /--out needs a folder/],
    [["--all=yes"], /--all takes no value/],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseCompileArgs(args, LINUX), (error: unknown) => {
      assert.ok(error instanceof CompileUsageError, String(error));
      assert.match(error.message, message);
      return true;
    }, args.join(" "));
  }
  // A host that is not a release target needs an explicit choice.
  assert.throws(() => parseCompileArgs([], "aarch64-pc-windows-msvc"), /not a release target/);
  assert.equal(parseCompileArgs(["--all"], "aarch64-pc-windows-msvc").targets.length, 5);
});

Deno.test("compile: each binary is built with its deno.json permission set, no prompt, in dist/<target>/", () => {
  const windows = targetById("x86_64-pc-windows-msvc")!;
  const linux = targetById(LINUX)!;
  for (const program of PROGRAMS) {
    const args = compileArgs(program, windows, `/out/${program.name}.exe`);
    assert.deepEqual(args, [
      "compile",
      `--permission-set=${program.name}`,
      "--no-prompt",
      "--no-check",
      "--unstable-net",
      // The server caps V8's young generation (issue 20).
      ...(program.name === "server" ? ["--v8-flags=--max-semi-space-size=4"] : []),
      // The server embeds the dashboard's files (issue 17).
      ...(program.name === "server" ? ["--include", "web/dashboard"] : []),
      "--target",
      "x86_64-pc-windows-msvc",
      "--output",
      `/out/${program.name}.exe`,
      ...(program.name === "server" ? ["--include", "web/chat"] : []),
      `cli/${program.name}.ts`,
    ]);
    assert.ok(
      !args.some((arg) => /^(-A|--allow-)/.test(arg)),
      "no permission is granted outside deno.json",
    );
    assert.equal(
      binaryPath("dist", windows, program),
      `dist/x86_64-pc-windows-msvc/${program.name}.exe`,
    );
    assert.equal(binaryPath("dist", linux, program), `dist/${LINUX}/${program.name}`);
    const set =
      (denoConfig.permissions as Record<string, Record<string, unknown>>)[program.permissionSet];
    assert.ok(set, `deno.json declares the "${program.permissionSet}" set`);
  }
});

Deno.test("compile: permission sets are shown as the equivalent flags", () => {
  assert.deepEqual(
    permissionFlags({ net: ["127.0.0.1", "[::1]"], read: true, env: ["A_*"], write: false }),
    [
      "--allow-read",
      "--allow-net=127.0.0.1,[::1]",
      "--allow-env=A_*",
    ],
  );
  assert.deepEqual(permissionFlags({ read: { allow: true, deny: ["/etc"] } }), [
    "--allow-read",
    "--deny-read=/etc",
  ]);
  assert.deepEqual(permissionFlags({ all: true }), ["--allow-all"]);
  assert.throws(() => permissionFlags({ network: true }), /unknown permission kind "network"/);
});

Deno.test("compile: a failed runtime download is recognised and explained in one sentence", () => {
  // What deno compile 2.9.6 prints without internet access (colour codes included).
  const offline = "\x1b[0m\x1b[32mCompile\x1b[0m a.ts to a\n" +
    "\x1b[0m\x1b[32mDownload\x1b[0m https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip\n" +
    "\x1b[0m\x1b[1m\x1b[31merror\x1b[0m: Writing deno compile executable to temporary file '/tmp/a.tmp-5bb8'\n\n" +
    "Caused by:\n    0: Setting up base binary.\n" +
    "    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): " +
    "client error (Connect): dns error: failed to lookup address information: Name or service not known\n";
  assert.deepEqual(classifyCompileFailure(offline), { kind: "runtime-download" });
  assert.deepEqual(
    classifyCompileFailure(
      "error: Writing deno compile executable\n    0: Could not find denort at '/opt/denort'\n",
    ),
    { kind: "runtime-missing", path: "/opt/denort" },
  );
  assert.deepEqual(classifyCompileFailure('error: Module not found "file:///x.ts"'), {
    kind: "other",
  });

  const message = runtimeDownloadMessage(targetById(LINUX)!, "2.9.6");
  assert.equal(message.split("\n").length, 1);
  assert.equal((message.match(/\. /g) ?? []).length, 0, "one sentence");
  for (const part of ["runtime base binary", "denort 2.9.6", LINUX, "DENORT_BIN", "internet"]) {
    assert.ok(message.includes(part), `mentions ${part}: ${message}`);
  }
});

Deno.test("compile: DENORT_BIN builds only the host, never foreign targets", () => {
  assert.equal(denortTargetProblem([targetById(LINUX)!], LINUX), undefined);
  assert.match(
    denortTargetProblem([...TARGETS], LINUX) ?? "",
    /DENORT_BIN is one runtime .* unset DENORT_BIN for cross-builds/,
  );
});

Deno.test("compile: the commit is stamped into the sources' BUILD_COMMIT line, or the build stops", async () => {
  const source = await Deno.readTextFile(join(ROOT, "core/protocol/version.ts"));
  const stamped = stampCommit(source, "0123456789ab");
  assert.match(stamped, /^export const BUILD_COMMIT: string = "0123456789ab";$/m);
  assert.equal(stamped.replace('"0123456789ab"', '"dev"'), source);
  assert.throws(() => stampCommit("export const VERSION = 1;\n", "abc"), /no line matching/);
  assert.throws(() => stampCommit(source, 'x"; Deno.exit(); "'), /not a plain commit name/);

  assert.equal(
    chooseCommit({ SWITCHBOARD_COMMIT: "v1-rc" }, { head: "aaa", dirty: false }),
    "v1-rc",
  );
  assert.equal(
    chooseCommit({ GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567" }, {
      head: "aaa",
      dirty: true,
    }),
    "0123456789ab",
  );
  assert.equal(chooseCommit({}, { head: "0123456789ab", dirty: true }), "0123456789ab-dirty");
  assert.equal(chooseCommit({}, { head: undefined, dirty: false }), "unknown");
  assert.equal(
    checksumLine("ab".repeat(32), `${LINUX}/server`),
    `${"ab".repeat(32)}  ${LINUX}/server`,
  );
});

/** Runs the compile script; `env` adds to (or, with `undefined`, removes from) this environment. */
async function compileScript(args: string[], env: Record<string, string | undefined> = {}) {
  const merged: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...Deno.env.toObject(), NO_COLOR: "1", ...env })) {
    if (value !== undefined) merged[name] = value;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/compile.ts", ...args],
    cwd: ROOT,
    clearEnv: true,
    env: merged,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    const { code, stdout, stderr } = await child.output();
    return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("compile: --help exits 0 and a usage error exits 2", async () => {
  const help = await compileScript(["--help"]);
  assert.equal(help.code, 0);
  assert.equal(help.stdout.trim(), COMPILE_USAGE);
  const bad = await compileScript(["--bogus"]);
  assert.equal(bad.code, 2);
  assert.equal(
    bad.stderr.trim(),
    "compile: unknown option --bogus\nRun `deno task compile --help` for usage.",
  );
});

Deno.test({
  name:
    "compile: without the runtime base binary it type-checks, then stops with the one sentence and exit 1",
  ignore: targetById(Deno.build.target) === undefined,
  async fn() {
    // A proxy on a local port that hangs up on every connection: the download fails here exactly
    // as it does on a machine without internet, and an empty DENO_DIR means no cached runtime.
    using proxy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const refusing = (async () => {
      try {
        for await (const conn of proxy) conn.close();
      } catch {
        // Closed at the end of the test.
      }
    })();
    const dir = await Deno.makeTempDir({ prefix: "switchboard-compile-test-" });
    try {
      const proxyUrl = `http://127.0.0.1:${proxy.addr.port}`;
      const result = await compileScript(["--program", "shutdown", "--out", join(dir, "dist")], {
        DENO_DIR: join(dir, "deno_dir"),
        HTTPS_PROXY: proxyUrl,
        https_proxy: proxyUrl,
        HTTP_PROXY: proxyUrl,
        http_proxy: proxyUrl,
        NO_PROXY: undefined,
        no_proxy: undefined,
        DENORT_BIN: undefined,
      });
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.match(result.stdout, /type-checking cli\/shutdown\.ts/);
      assert.match(result.stdout, /staged the sources at commit /);
      assert.equal(
        result.stderr.trim(),
        runtimeDownloadMessage(targetById(Deno.build.target)!, Deno.version.deno),
      );
    } finally {
      proxy.close();
      await refusing;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("compile: each deno task runs its program with the permission set and V8 flags the binary embeds", () => {
  const tasks = denoConfig.tasks as Record<string, string>;
  for (const program of PROGRAMS) {
    const task = tasks[program.task] ?? "";
    const words = task.split(/\s+/);
    assert.ok(words.includes(`-P=${program.permissionSet}`), `${program.task}: ${task}`);
    for (const flag of v8FlagsArgs(program.v8Flags)) {
      assert.ok(words.includes(flag), `${program.task} lacks ${flag}: ${task}`);
    }
    assert.equal(words.at(-1), program.entry);
  }
});
