import assert from "node:assert/strict";
import { join } from "node:path";
import { type ProgramResult, runProgram, ServerProcess } from "./_programs.ts";

/** A temporary folder holding a regular file, `file.txt`: paths under it cannot be created. */
async function withScratch(run: (dir: string, file: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-startup-" });
  const file = join(dir, "file.txt");
  await Deno.writeTextFile(file, "not a folder\n");
  try {
    await run(dir, file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Exit code 2, one line on stderr matching `line`, nothing listening, no stack trace. */
function assertRefusedAtStart(result: ProgramResult, line: RegExp, what: string): void {
  const context = `${what}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  assert.equal(result.code, 2, context);
  assert.doesNotMatch(result.stdout, /listening/, context);
  assert.doesNotMatch(result.stderr, /listening|Uncaught|^\s+at /m, context);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, context);
  assert.match(lines[0] ?? "", line, context);
}

Deno.test("server: every path setting that cannot be used stops the start with one line and exit 2", async () => {
  await withScratch(async (dir, file) => {
    const config = join(dir, "switchboard.json");
    await Deno.writeTextFile(config, JSON.stringify({ filesDir: "file.txt" }));
    const cases: [args: string[], env: Record<string, string>, line: RegExp][] = [
      [
        ["--log-dir", `${file}/logs`],
        {},
        /^server: --log-dir \S+file\.txt\/logs: cannot use it \(a part of the path is a file\)$/,
      ],
      [
        ["--log-dir", "/proc/switchboard-test/logs"],
        {},
        /^server: --log-dir \/proc\/switchboard-test\/logs: cannot /,
      ],
      [
        ["--log-dir", "", "--token-file", `${file}/admin.token`],
        {},
        /^server: --token-file \S+file\.txt\/admin\.token: cannot use its folder \S+file\.txt: not a folder$/,
      ],
      [
        ["--log-dir", "", "--token-file", dir],
        {},
        /^server: --token-file \S+: it is a folder, not a file$/,
      ],
      [
        ["--log-dir", "", "--files-dir", file],
        {},
        /^server: --files-dir \S+file\.txt: not a folder$/,
      ],
      [
        ["--log-dir", ""],
        { SWITCHBOARD_SPOOL_DIR: `${file}/spool` },
        /^server: SWITCHBOARD_SPOOL_DIR \S+file\.txt\/spool: cannot use it \(a part of the path is a file\)$/,
      ],
      [
        ["--log-dir", "", "--config", config],
        {},
        /^server: config file \S+switchboard\.json: key "filesDir" \S+file\.txt: not a folder$/,
      ],
    ];
    for (const [args, env, line] of cases) {
      const result = await runProgram("server", ["--port", "0", "--no-console", ...args], { env });
      assertRefusedAtStart(result, line, `${args.join(" ")} ${JSON.stringify(env)}`);
    }
  });
});

Deno.test("server: a negative number gets the same range error as a number too large, exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--port", "-1"], /^server: --port: expected a port number from 0 to 65535, got "-1"$/],
    [["--port=-1"], /^server: --port: expected a port number from 0 to 65535, got "-1"$/],
    [["--port", "70000"], /^server: --port: expected a port number from 0 to 65535, got "70000"$/],
    [["--max-clients", "-5"], /^server: --max-clients: expected a whole number from 1 to /],
    [["--idle-timeout", "-1"], /^server: --idle-timeout: expected a number of seconds/],
    [["--idle-timeout", "-0.5"], /^server: --idle-timeout: expected a number of seconds/],
    [["--host", "-x"], /^server: option --host needs a value \(write --host=VALUE/],
  ];
  for (const [args, line] of cases) {
    const result = await runProgram("server", args);
    const context = `${args.join(" ")}\n${result.stderr}`;
    assert.equal(result.code, 2, context);
    assert.match(result.stderr.split("\n")[0] ?? "", line, context);
    assert.doesNotMatch(result.stderr, /ambiguous|Uncaught|^\s+at /m, context);
  }
});

Deno.test("server: a missing --files-dir and --spool-dir are created at start, before any command", async () => {
  await withScratch(async (dir) => {
    const files = join(dir, "new", "area");
    const spool = join(dir, "new", "spool");
    await using server = await ServerProcess.start([
      "--port",
      "0",
      "--log-dir",
      "",
      "--no-console",
      "--files-dir",
      files,
      "--spool-dir",
      spool,
    ]);
    assert.ok((await Deno.stat(files)).isDirectory);
    assert.ok((await Deno.stat(spool)).isDirectory);
    server.kill("SIGTERM");
    assert.equal((await server.finished()).code, 0);
  });
});

Deno.test("server: an accounts file that cannot be used stops the start with one line and exit 2", async () => {
  await withScratch(async (dir) => {
    const write = (name: string, text: string) => Deno.writeTextFile(join(dir, name), text);
    await write("not-json.json", "{users:");
    await write("plain.json", JSON.stringify({ users: { alice: { password: "hunter2" } } }));
    await write(
      "twins.json",
      JSON.stringify({
        users: {
          alice: { password: "scrypt$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA$" + "A".repeat(43) },
          aIice: { password: "scrypt$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA$" + "A".repeat(43) },
        },
      }),
    );
    const cases: [file: string, line: RegExp][] = [
      [
        "missing.json",
        /^server: accounts file \S+missing\.json: no such file .*\(from --accounts\)$/,
      ],
      ["not-json.json", /^server: accounts file \S+: not valid JSON .*\(from --accounts\)$/],
      ["plain.json", /^server: accounts file \S+: account "alice": "password" is not a hash /],
      ["twins.json", /^server: accounts file \S+: accounts "alice" and "aIice" are look-alikes/],
    ];
    for (const [file, line] of cases) {
      const args = ["--port", "0", "--no-console", "--log-dir", "", "--accounts", join(dir, file)];
      assertRefusedAtStart(await runProgram("server", args), line, file);
    }
    // A usage error: the line, then the hint to --help.
    const result = await runProgram("server", ["--port", "0", "--log-dir", "", "--require-login"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^server: --require-login needs --accounts/);
  });
});
