/**
 * `server accounts add|remove|list`, run as the real program with its permission set.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parseAccounts } from "../core/config/accounts_file.ts";
import { verifyPassword } from "../core/util/password_hash.ts";
import { type ProgramResult, runProgram } from "./_programs.ts";
import { HAS_TMUX, Terminal } from "./_tmux.ts";

/** No accounts file or config from the test runner's environment. */
const CLEAN_ENV = { SWITCHBOARD_ACCOUNTS: "", SWITCHBOARD_CONFIG: "" };

/** Runs `server accounts …args` with `input` piped to its stdin. */
function accounts(
  args: string[],
  input = "",
  env: Record<string, string> = {},
): Promise<ProgramResult> {
  return runProgram("server", ["accounts", ...args], { input, env: { ...CLEAN_ENV, ...env } });
}

async function withFolder(body: (folder: string) => Promise<void>): Promise<void> {
  const folder = await Deno.makeTempDir({ prefix: "switchboard-accounts-" });
  try {
    await body(folder);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

async function readUsers(path: string) {
  return parseAccounts(await Deno.readTextFile(path), path).users;
}

Deno.test("accounts add reads the password from piped stdin and writes a 0600 file with a hash", async () => {
  await withFolder(async (folder) => {
    const file = join(folder, "accounts.json");
    const result = await accounts(["add", "alice", "--accounts", file], "correct horse\r\nrest\n");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /added account "alice" \(user\)/);
    assert.match(result.stdout, /reload \(SIGHUP, or :reload/);
    if (Deno.build.os !== "windows") assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    const users = await readUsers(file);
    assert.deepEqual(Object.keys(users), ["alice"]);
    assert.equal(users.alice!.admin, false);
    assert.ok(await verifyPassword("correct horse", users.alice!.password), "\\r\\n is stripped");
    assert.ok(!(await verifyPassword("correct horse\r", users.alice!.password)));
    assert.ok(!(await Deno.readTextFile(file)).includes("correct horse"));
    // Nothing left behind by the atomic write.
    assert.deepEqual([...Deno.readDirSync(folder)].map((entry) => entry.name), ["accounts.json"]);
  });
});

Deno.test("accounts list, update and remove", async () => {
  await withFolder(async (folder) => {
    const file = join(folder, "accounts.json");
    assert.equal((await accounts(["add", "bob", "--accounts", file], "pw-bob\n")).code, 0);
    const admin = await accounts(["add", "Alice", "--role", "admin", "--accounts", file], "pw-a\n");
    assert.equal(admin.code, 0, admin.stderr);
    assert.match(admin.stdout, /added account "Alice" \(admin\)/);

    const listed = await accounts(["list", "--accounts", file]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout, "Alice  admin\nbob    user\n");
    assert.ok(!listed.stdout.includes("scrypt"), "never the hash");

    // A new password, in another case of the name: the same account; the role is kept.
    const updated = await accounts(["add", "alice", "--accounts", file], "new-pw\n");
    assert.equal(updated.code, 0, updated.stderr);
    assert.match(updated.stdout, /updated account "Alice" \(admin\)/);
    let users = await readUsers(file);
    assert.ok(await verifyPassword("new-pw", users.Alice!.password));
    assert.equal(users.Alice!.admin, true);
    // --role changes it.
    const demoted = await accounts(["add", "Alice", "--role", "user", "--accounts", file], "x\n");
    assert.match(demoted.stdout, /updated account "Alice" \(user\)/);
    users = await readUsers(file);
    assert.equal(users.Alice!.admin, false);

    const removed = await accounts(["remove", "BOB", "--accounts", file]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /removed account "bob"/);
    assert.deepEqual(Object.keys(await readUsers(file)), ["Alice"]);

    const unknown = await accounts(["remove", "carol", "--accounts", file]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no account "carol"/);
  });
});

Deno.test("accounts add refuses a look-alike of another account, a bad name and no password", async () => {
  await withFolder(async (folder) => {
    const file = join(folder, "accounts.json");
    assert.equal((await accounts(["add", "alice", "--accounts", file], "pw\n")).code, 0);
    const before = await Deno.readTextFile(file);

    const twin = await accounts(["add", "aIice", "--accounts", file], "pw\n");
    assert.equal(twin.code, 2);
    assert.match(twin.stderr, /"aIice" looks like the account "alice"/);

    const bad = await accounts(["add", "no spaces", "--accounts", file], "pw\n");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid account name "no spaces"/);

    const console = await accounts(["add", "server", "--accounts", file], "pw\n");
    assert.equal(console.code, 2);
    assert.match(console.stderr, /operator console/);

    const empty = await accounts(["add", "bob", "--accounts", file], "\n");
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /no password/);
    const none = await accounts(["add", "bob", "--accounts", file], "");
    assert.equal(none.code, 2);

    const role = await accounts(["add", "bob", "--role", "root", "--accounts", file], "pw\n");
    assert.equal(role.code, 2);
    assert.match(role.stderr, /--role must be admin or user/);

    assert.equal(await Deno.readTextFile(file), before, "nothing was written");
  });
});

Deno.test("accounts: the file comes from --config (relative to it) or SWITCHBOARD_ACCOUNTS; none is exit 2", async () => {
  await withFolder(async (folder) => {
    const config = join(folder, "server.json");
    await Deno.writeTextFile(config, JSON.stringify({ accounts: "users.json" }));
    const viaConfig = await accounts(["add", "alice", "--config", config], "pw\n");
    assert.equal(viaConfig.code, 0, viaConfig.stderr);
    assert.deepEqual(Object.keys(await readUsers(join(folder, "users.json"))), ["alice"]);

    const viaEnv = await accounts(["list"], "", {
      SWITCHBOARD_ACCOUNTS: join(folder, "users.json"),
    });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.equal(viaEnv.stdout, "alice  user\n");

    const none = await accounts(["add", "alice"], "pw\n");
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no accounts file named: give --accounts FILE/);

    const missing = await accounts(["list", "--accounts", join(folder, "nope.json")]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such file/);

    await Deno.writeTextFile(join(folder, "broken.json"), "{");
    const broken = await accounts(["list", "--accounts", join(folder, "broken.json")]);
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /not valid JSON/);
  });
});

Deno.test("accounts --help and usage errors", async () => {
  const help = await accounts(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: server accounts/);
  assert.match(help.stdout, /add <name> \[--role admin\|user\]/);
  const none = await accounts([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /which command/);
  const unknown = await accounts(["rename", "a"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "rename"/);
  const flag = await accounts(["list", "--port", "1"]);
  assert.equal(flag.code, 2);
  const serverHelp = await runProgram("server", ["--help"]);
  assert.match(serverHelp.stdout, /server accounts add <name>/);
});

Deno.test({
  name: "accounts add on a terminal asks twice without echo; a mismatch changes nothing",
  ignore: !HAS_TMUX,
  async fn() {
    await withFolder(async (folder) => {
      const file = join(folder, "accounts.json");
      {
        await using terminal = new Terminal();
        await terminal.start("server", ["accounts", "add", "alice", "--accounts", file]);
        await terminal.waitFor(/Password for alice:\s*$/m);
        await terminal.type("hunter22");
        await terminal.keys("BSpace");
        await terminal.type("2");
        await terminal.keys("Enter");
        await terminal.waitFor(/^Again:\s*$/m);
        await terminal.type("hunter22");
        await terminal.keys("Enter");
        const screen = await terminal.waitFor(/exit=\d+/);
        assert.match(screen, /exit=0/);
        assert.match(screen, /added account "alice"/);
        assert.ok(!screen.includes("hunter"), `the password was echoed:\n${screen}`);
      }
      const users = await readUsers(file);
      assert.ok(await verifyPassword("hunter22", users.alice!.password));
      const before = await Deno.readTextFile(file);
      {
        await using terminal = new Terminal();
        await terminal.start("server", ["accounts", "add", "alice", "--accounts", file]);
        await terminal.waitFor(/Password for alice:\s*$/m);
        await terminal.type("one");
        await terminal.keys("Enter");
        await terminal.waitFor(/^Again:\s*$/m);
        await terminal.type("two");
        await terminal.keys("Enter");
        const screen = await terminal.waitFor(/exit=\d+/);
        assert.match(screen, /exit=2/);
        assert.match(screen, /do not match/);
      }
      {
        // Ctrl+C at the prompt aborts and leaves the terminal usable.
        await using terminal = new Terminal();
        await terminal.start("server", ["accounts", "add", "alice", "--accounts", file]);
        await terminal.waitFor(/Password for alice:\s*$/m);
        await terminal.type("abc");
        await terminal.keys("C-c");
        const screen = await terminal.waitFor(/exit=\d+/);
        assert.match(screen, /aborted; nothing changed/);
        assert.match(screen, /exit=2/);
      }
      assert.equal(await Deno.readTextFile(file), before);
    });
  },
});
