/**
 * `deno task client` runs in the project folder, but paths the user types are relative to the
 * folder they started it from (`INIT_CWD`, which `deno task` sets): `:put`, `:get`,
 * `--downloads` and `--log-file` all land there, never in the repository.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startTestServer } from "./_helpers.ts";
import { REPO_ROOT } from "./_programs.ts";
import { EXIT } from "../cli/_exit_codes.ts";

const decoder = new TextDecoder();

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function withoutInitCwd(): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.INIT_CWD;
  return env;
}

Deno.test("deno task client: :put, :get, --downloads and --log-file are relative to the folder it was started from", async () => {
  const area = await Deno.makeTempDir({ prefix: "client-paths-area-" });
  const here = await Deno.makeTempDir({ prefix: "client-paths-here-" });
  await using server = await startTestServer({ filesDir: area });
  try {
    await Deno.writeTextFile(join(here, "note.txt"), "written in the user's folder\n");
    const output = await new Deno.Command("deno", {
      args: [
        "task",
        "-q",
        "--config",
        join(REPO_ROOT, "deno.json"),
        "client",
        "--port",
        String(server.addr.port),
        "--name",
        "alice",
        "--downloads",
        "dl",
        "--log-file",
        "session.log",
        "--send",
        ":put note.txt",
        "--send",
        ":get note.txt",
      ],
      cwd: here,
      // `deno task` keeps an INIT_CWD it inherits (this suite may run under `deno task test`,
      // which set it to the repository): start from a clean one, as a person's shell does.
      clearEnv: true,
      env: { ...withoutInitCwd(), NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = decoder.decode(output.stdout);
    const stderr = decoder.decode(output.stderr);
    assert.equal(output.code, EXIT.ok, `${stdout}\n${stderr}`);
    assert.match(stdout, /✓ put note\.txt/);
    // Shown relative to where the user is, as they typed it.
    assert.match(stdout, /✓ got note\.txt .*→ dl\/note\.txt$/m);
    assert.equal(
      await Deno.readTextFile(join(here, "dl", "note.txt")),
      "written in the user's folder\n",
    );
    assert.match(await Deno.readTextFile(join(here, "session.log")), /✓ got note\.txt/);
    assert.ok(!(await exists(join(REPO_ROOT, "dl"))), "nothing was saved in the project folder");
    assert.ok(!(await exists(join(REPO_ROOT, "session.log"))));
  } finally {
    await Deno.remove(area, { recursive: true });
    await Deno.remove(here, { recursive: true });
  }
});
