/**
 * The programs run with exactly the permission sets in `deno.json` (the ones `deno task` uses
 * and the compiled binaries embed), end to end; a missing permission is one readable line; and
 * the deno tasks, the compile step and docs/install.md all name the same sets.
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "./_helpers.ts";
import { VERSION } from "../core/protocol/version.ts";
import { permissionFlags, type Program, PROGRAMS } from "../scripts/_compile_plan.ts";
import denoConfig from "../deno.json" with { type: "json" };

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const decoder = new TextDecoder();
/** Generous for a cold start on slow CI; never a speed assertion. */
const START_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 20_000;

const sets = denoConfig.permissions as Record<string, Record<string, unknown>>;
const tasks = denoConfig.tasks as Record<string, string>;

function program(name: Program["name"]): Program {
  return PROGRAMS.find((p) => p.name === name) as Program;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

interface Launch {
  /** Run from this folder instead of the repository root (deno.json is then passed with --config). */
  cwd?: string;
  /** Permission flags instead of the program's set (to show what a missing one does). */
  flags?: string[];
}

/**
 * `deno run -P=<set> <entry> args…`: the program with exactly its declared permission set, as
 * its deno task runs it. From another folder, the same with `--config <repo>/deno.json`.
 */
function command(p: Program, args: string[], launch: Launch = {}): Deno.Command {
  const permissions = launch.flags ?? [`-P=${p.permissionSet}`];
  const where = launch.cwd === undefined
    ? [...permissions, p.entry]
    : ["--config", join(ROOT, "deno.json"), ...permissions, join(ROOT, p.entry)];
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...where, ...args],
    cwd: launch.cwd ?? ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion, killing it after a bounded time. */
async function run(p: Program, args: string[], launch: Launch = {}): Promise<Result> {
  const child = command(p, args, launch).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), EXIT_TIMEOUT_MS);
  try {
    const { code, stdout, stderr } = await child.output();
    return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/** A running `server` program that printed `listening on HOST:PORT`. */
class ServerRun implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #stdout: Promise<string>;
  readonly #stderr: Promise<string>;
  readonly port: number;

  private constructor(
    child: Deno.ChildProcess,
    port: number,
    stdout: Promise<string>,
    stderr: Promise<string>,
  ) {
    this.#child = child;
    this.port = port;
    this.#stdout = stdout;
    this.#stderr = stderr;
  }

  static async start(args: string[], launch: Launch = {}): Promise<ServerRun> {
    const child = command(program("server"), args, launch).spawn();
    const stderr = new Response(child.stderr).text();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), START_TIMEOUT_MS);
    try {
      for (;;) {
        const match = /^listening on 127\.0\.0\.1:(\d+)$/m.exec(seen);
        if (match) {
          const rest = (async () => {
            let text = seen;
            for (let r = await reader.read(); !r.done; r = await reader.read()) text += r.value;
            return text;
          })();
          return new ServerRun(child, Number(match[1]), rest, stderr);
        }
        const chunk = await reader.read();
        if (chunk.done) {
          const status = await child.status;
          throw new Error(`server did not start (exit ${status.code}): ${seen}${await stderr}`);
        }
        seen += chunk.value;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits for the server to exit on its own (killing it after a bounded time). */
  async finished(): Promise<Result> {
    const timer = setTimeout(() => this.#kill(), EXIT_TIMEOUT_MS);
    try {
      const { code } = await this.#child.status;
      return { code, stdout: await this.#stdout, stderr: await this.#stderr };
    } finally {
      clearTimeout(timer);
    }
  }

  #kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#kill();
    await this.finished();
  }
}

function assertNoPermissionTrouble(output: Result, who: string): void {
  assert.doesNotMatch(
    output.stderr,
    /permission denied|NotCapable|PermissionDenied/,
    `${who}: ${output.stderr}`,
  );
  assert.doesNotMatch(output.stderr, /^\s+at /m, `${who} printed a stack trace: ${output.stderr}`);
}

Deno.test("server and shutdown run end to end with exactly their deno.json permission sets", async () => {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-permissions-" });
  try {
    const tokenFile = join(dir, "admin.token");
    const logDir = join(dir, "logs");
    await using server = await ServerRun.start([
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--log-dir",
      logDir,
      "--token-file",
      tokenFile,
      "--history",
      join(dir, "data", "history.db"),
      "--no-console",
      "--shutdown-grace",
      "1",
    ]);
    // The server wrote its token (write), serves a client (net) and logs it (read + write).
    assert.ok(await exists(tokenFile), "the generated token file is written");
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(tokenFile)).mode! & 0o777, 0o600);
    }
    await using alice = await connect(server.port, "alice");
    await using bob = await connect(server.port, "bob");
    await alice.send("hello under least privilege");
    assert.equal(await bob.waitFor("MSG"), "MSG alice * :hello under least privilege");

    const stop = await run(program("shutdown"), [
      "--host",
      "127.0.0.1",
      "--port",
      String(server.port),
      "--token-file",
      tokenFile,
      "--timeout",
      "10",
    ]);
    assertNoPermissionTrouble(stop, "shutdown");
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, /has shut down/);

    const result = await server.finished();
    assertNoPermissionTrouble(result, "server");
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!(await exists(tokenFile)), "the token file is removed at exit");
    assert.match(await Deno.readTextFile(join(logDir, "server.log")), /listening on 127\.0\.0\.1:/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the client runs end to end with exactly its deno.json permission set", async () => {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-client-" });
  try {
    const tokenFile = join(dir, "admin.token");
    await using server = await ServerRun.start([
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--log-dir",
      "",
      "--token-file",
      tokenFile,
      "--history",
      "",
      "--no-console",
      "--shutdown-grace",
      "1",
    ]);
    await using bob = await connect(server.port, "bob");
    const logFile = join(dir, "client.log");
    const client = await run(program("client"), [
      "--host",
      "127.0.0.1",
      "--port",
      String(server.port),
      "--name",
      "alice",
      "--send",
      "hello from the client binary's permissions",
      "--log-file",
      logFile,
    ]);
    assertNoPermissionTrouble(client, "client");
    assert.equal(client.code, 0, client.stderr);
    assert.equal(
      await bob.waitFor("MSG"),
      "MSG alice * :hello from the client binary's permissions",
    );
    // The log file holds what the client showed (the server's welcome), written under --allow-write.
    assert.match(await Deno.readTextFile(logFile), /alice/);

    const stop = await run(program("shutdown"), [
      "--port",
      String(server.port),
      "--token-file",
      tokenFile,
    ]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await server.finished()).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("from another working directory the default token and log paths work like a compiled binary's", async () => {
  // A compiled binary runs wherever it is started; the sets hold no path relative to the repo,
  // so the defaults (.switchboard/ and logs/ in the current folder) must work anywhere.
  const dir = await Deno.makeTempDir({ prefix: "switchboard-cwd-" });
  try {
    await using server = await ServerRun.start(
      ["--host", "127.0.0.1", "--port", "0", "--no-console", "--shutdown-grace", "1"],
      { cwd: dir },
    );
    const tokenFile = join(dir, ".switchboard", `admin-${server.port}.token`);
    assert.ok(await exists(tokenFile), `the token file is in the working directory: ${tokenFile}`);
    const stop = await run(program("shutdown"), ["127.0.0.1", String(server.port)], { cwd: dir });
    assertNoPermissionTrouble(stop, "shutdown");
    assert.equal(stop.code, 0, stop.stderr);
    const result = await server.finished();
    assertNoPermissionTrouble(result, "server");
    assert.equal(result.code, 0, result.stderr);
    assert.ok(
      await exists(join(dir, "logs", "server.log")),
      "logs/ is made in the working directory",
    );
    assert.ok(
      await exists(join(dir, "data", "history.db")),
      "the history is kept in data/ of the working directory",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every program answers --version (version, commit, Deno) and --help with its permission set", async () => {
  for (const p of PROGRAMS) {
    const version = await run(p, ["--version"]);
    assert.equal(version.code, 0, `${p.name} --version: ${version.stderr}`);
    assert.equal(
      version.stdout.trim(),
      `${p.name} (switchboard) ${VERSION}, commit dev, protocol sb/1, deno ${Deno.version.deno} (${Deno.build.target})`,
    );
    const help = await run(p, ["--help"]);
    assert.equal(help.code, 0, `${p.name} --help: ${help.stderr}`);
    assert.match(help.stdout, /usage/i);
    assertNoPermissionTrouble(help, p.name);
  }
});

Deno.test("a missing permission is one line naming the flag, without a stack trace", async () => {
  // shutdown connects first, then looks for its token: give it something to connect to.
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) accepted.push(conn);
    } catch {
      // Closed at the end of the test.
    }
  })();
  const port = String(listener.addr.port);
  const dir = await Deno.makeTempDir({ prefix: "switchboard-denied-" });
  try {
    const cases: [Program, string[], string[], RegExp][] = [
      [
        program("shutdown"),
        ["--allow-net"],
        ["--port", port],
        /^shutdown: permission denied: env access to "SWITCHBOARD_ADMIN_TOKEN"; grant it with --allow-env=SWITCHBOARD_ADMIN_TOKEN\.$/,
      ],
      [
        program("shutdown"),
        ["--allow-net", "--allow-env"],
        ["--port", port, "--token-file", join(dir, "admin.token")],
        /^shutdown: permission denied: read access to ".*admin\.token"; grant it with --allow-read=.*admin\.token\.$/,
      ],
      [
        program("server"),
        ["--allow-env=SWITCHBOARD_*", "--allow-read", "--allow-write"],
        ["--host", "127.0.0.1", "--port", "0", "--log-dir", "", "--history", "", "--no-console"],
        /^server: permission denied: net access to "127\.0\.0\.1:0"; grant it with --allow-net=127\.0\.0\.1:0\.$/,
      ],
    ];
    for (const [p, flags, args, expected] of cases) {
      const result = await run(p, args, { flags });
      const lines = result.stderr.split("\n").filter((line) => line.trim() !== "");
      assert.equal(result.code, 1, `${p.name} ${flags.join(" ")}: ${result.stderr}`);
      assert.equal(lines.length, 1, `one line, got: ${result.stderr}`);
      assert.match(lines[0] as string, expected);
    }
  } finally {
    listener.close();
    await accepting;
    for (const conn of accepted) conn.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the deno tasks run each program with its own permission set and no extra grants", () => {
  for (const p of PROGRAMS) {
    const task = tasks[p.task];
    assert.ok(task, `deno.json has a "${p.task}" task for ${p.name}`);
    const words = task.split(/\s+/);
    assert.equal(words.slice(0, 2).join(" "), "deno run", task);
    assert.ok(
      words.includes(`-P=${p.permissionSet}`),
      `${p.task} uses -P=${p.permissionSet}: ${task}`,
    );
    assert.ok(words.includes(p.entry), `${p.task} runs ${p.entry}: ${task}`);
    assert.ok(
      !words.some((w) => /^(-A|--allow-|-[RWNESI](=|$))/.test(w)),
      `${p.task} grants nothing beyond its set: ${task}`,
    );
    assert.ok(sets[p.permissionSet], `deno.json declares the "${p.permissionSet}" permission set`);
  }
});

Deno.test("the program permission sets hold no relative path, which a compiled binary would pin to the build machine", () => {
  for (const p of PROGRAMS) {
    const set = sets[p.permissionSet] as Record<string, unknown>;
    assert.ok(!("all" in set), `${p.name} must not get every permission`);
    for (const kind of ["read", "write", "ffi"]) {
      const value = set[kind];
      for (const entry of Array.isArray(value) ? value as string[] : []) {
        assert.match(entry, /^([/\\]|[A-Za-z]:)/, `${p.name}: ${kind} path "${entry}" is relative`);
      }
    }
    assert.ok(permissionFlags(set).every((flag) => !flag.startsWith("--allow-all")));
  }
});

Deno.test("docs/install.md lists exactly the permissions each binary embeds", async () => {
  const doc = await Deno.readTextFile(join(ROOT, "docs/install.md"));
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  for (const p of PROGRAMS) {
    const flags = permissionFlags(sets[p.permissionSet] as Record<string, unknown>).join(" ");
    const row = new RegExp(`^\\|\\s*\`${p.name}\`\\s*\\|\\s*\`${escape(flags)}\`\\s*\\|`, "m");
    assert.match(doc, row, `docs/install.md should list ${p.name} with \`${flags}\``);
  }
});
