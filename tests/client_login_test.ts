/**
 * `client --login` and `SwitchboardClient.login`: `:login <name> <password>` instead of a name,
 * on the first connection and on every reconnect; the password from `SWITCHBOARD_PASSWORD` or a
 * no-echo prompt, never a flag.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { connect, startTestServer } from "./_helpers.ts";
import { ClientProcess, until } from "./client_harness.ts";
import { HAS_TMUX, Terminal } from "./_tmux.ts";
import { EXIT } from "../cli/_exit_codes.ts";
import { SwitchboardClient } from "../core/client/client.ts";
import { fixedBackoff } from "../core/client/backoff.ts";
import { writeAccountsFile } from "../core/config/accounts_file.ts";
import { hashPassword } from "../core/util/password_hash.ts";

const encoder = new TextEncoder();
const QUICK = { reconnectInterval: 0.05, backoff: fixedBackoff(50, { jitter: 0 }) };
const FAST_RECONNECT = ["--reconnect-interval", "0.1", "--connect-timeout", "1"];

/** A temporary accounts file: `alice` (password `wonderland`) and `bob` (`builder`). */
async function accountsFile(
  users: Record<string, string> = { alice: "wonderland", bob: "builder" },
): Promise<{ path: string } & AsyncDisposable> {
  const folder = await Deno.makeTempDir({ prefix: "switchboard-login-" });
  const path = join(folder, "accounts.json");
  await writeAccounts(path, users);
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(folder, { recursive: true });
    },
  };
}

async function writeAccounts(path: string, users: Record<string, string>): Promise<void> {
  const entries = await Promise.all(
    Object.entries(users).map(async ([name, password]) =>
      [name, { password: await hashPassword(password, { N: 1024 }) }] as const
    ),
  );
  await writeAccountsFile(path, { users: Object.fromEntries(entries) });
}

/**
 * A one-connection fake server that answers `:login` with `WELCOME`, then `OK login` a moment
 * later (the order of the protocol), and records the lines it got.
 */
class LoginFake implements AsyncDisposable {
  readonly #listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  readonly lines: string[] = [];
  readonly #served: Promise<void>;

  constructor() {
    this.#served = this.#serve();
  }

  get port(): number {
    return this.#listener.addr.port;
  }

  async #serve(): Promise<void> {
    const conn = await this.#listener.accept();
    const write = (text: string) => conn.write(encoder.encode(text));
    await write("HELLO sb/1 chat 0.0.0 :fake\n");
    const decoder = new TextDecoder();
    let buffered = "";
    const buffer = new Uint8Array(4096);
    try {
      for (let count = await conn.read(buffer); count !== null; count = await conn.read(buffer)) {
        buffered += decoder.decode(buffer.subarray(0, count), { stream: true });
        for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
          const line = buffered.slice(0, end);
          buffered = buffered.slice(end + 1);
          this.lines.push(line);
          if (line.startsWith(":login ")) {
            const name = line.split(" ")[1];
            await write(`WELCOME ${name} 1 :Hello ${name}\n`);
            await new Promise((resolve) => setTimeout(resolve, 100));
            await write(`OK login ${name}\n`);
          } else if (line === ":ping") {
            await write("OK ping\n");
          } else if (line === ":list") {
            // The interactive client asks who is online, and for the recent lobby lines, once a
            // session starts.
            await write(`USER ${this.lines[0]?.split(" ")[1] ?? "alice"}\nOK list 1\n`);
          } else if (line.startsWith(":history ")) {
            await write("ERR disabled :no history here\n");
          } else if (line === ":quit") {
            await write("BYE quit :bye\n");
            conn.close();
            return;
          }
        }
      }
    } catch {
      // The client closed.
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    await this.#served;
  }
}

Deno.test("library: login sends :login, and completes only with OK login, which no command takes for its answer", async () => {
  await using fake = new LoginFake();
  await using client = await SwitchboardClient.connect({ port: fake.port });
  const result = await client.login("alice", "two words");
  assert.ok(result.ok);
  assert.equal(client.name, "alice");
  assert.deepEqual(fake.lines, [":login alice two words"]);
  const answer = await client.request(":ping");
  assert.equal(answer.final?.type, "ok");
  assert.equal(answer.final?.type === "ok" && answer.final.verb, "ping");
  assert.ok(!JSON.stringify(client.options).includes("two words"), "not in the options");
  assert.throws(() => client.login("alice", ""), TypeError);
  assert.throws(() => client.login("alice", "a\nb"), TypeError);
});

Deno.test("library: login on a real server; a wrong password is refused and the client stays connected", async () => {
  await using accounts = await accountsFile();
  await using server = await startTestServer({ accounts: accounts.path });
  await using client = await SwitchboardClient.connect({ port: server.addr.port });
  const wrong = await client.login("alice", "looking-glass");
  assert.deepEqual(wrong.ok ? "ok" : wrong.code, "login-failed");
  const right = await client.login("alice", "wonderland");
  assert.ok(right.ok, JSON.stringify(right));
  assert.equal(client.name, "alice");
  assert.equal((await client.request(":whoami")).final?.type, "ok");
});

Deno.test("library: a reconnect logs in again; a changed password ends the client with login-failed", async () => {
  await using accounts = await accountsFile();
  const first = await startTestServer({ accounts: accounts.path });
  const port = first.addr.port;
  await using client = await SwitchboardClient.connect({ port, ...QUICK, reconnectTimeout: 10 });
  assert.ok((await client.login("alice", "wonderland")).ok);
  let reconnected = false;
  client.on("reconnect", () => reconnected = true);

  await first.shutdown({ reason: "restarting" });
  await until(() => client.state === "reconnecting", 5000, "reconnecting");
  const second = await startTestServer({ port, accounts: accounts.path });
  await until(() => reconnected, 5000, "reconnected");
  assert.equal(client.name, "alice");
  await using carol = await connect(port, "carol");
  client.send("back, logged in");
  assert.equal(await carol.waitFor("MSG"), "MSG alice * :back, logged in");

  // The password changes while the client is away: it cannot log in again, and says so.
  await second.shutdown({ reason: "restarting" });
  await writeAccounts(accounts.path, { alice: "new password" });
  await using _third = await startTestServer({ port, accounts: accounts.path });
  const end = await client.closed;
  assert.equal(end.reason, "login-failed");
  assert.match(end.detail, /refused the login as alice: .*\(login-failed\)/);
});

Deno.test("library: a second login to the account replaces the first client, which does not come back", async () => {
  await using accounts = await accountsFile();
  await using server = await startTestServer({ accounts: accounts.path });
  const port = server.addr.port;
  await using first = await SwitchboardClient.connect({ port, ...QUICK, reconnectTimeout: 10 });
  assert.ok((await first.login("alice", "wonderland")).ok);
  await using second = await SwitchboardClient.connect({ port, ...QUICK });
  assert.ok((await second.login("ALICE", "wonderland")).ok);
  assert.equal(second.name, "alice", "the account's spelling");
  const end = await first.closed;
  assert.equal(end.reason, "disconnected");
  assert.equal(end.bye?.reason, "replaced");
  assert.equal(second.state, "ready");
});

Deno.test("client --login takes the password from SWITCHBOARD_PASSWORD and chats", async () => {
  await using accounts = await accountsFile();
  await using server = await startTestServer({ accounts: accounts.path, requireLogin: true });
  const messages: string[] = [];
  server.on("message", ({ from, text }) => messages.push(`${from}: ${text}`));
  await using client = new ClientProcess(
    ["--port", String(server.addr.port), "--name", "alice", "--login", "--send", "hello"],
    { SWITCHBOARD_PASSWORD: "wonderland" },
  );
  const result = await client.finished();
  assert.equal(result.code, EXIT.ok, result.stderr);
  assert.deepEqual(messages, ["alice: hello"]);
});

Deno.test("client --login logs in again after a server restart", async () => {
  await using accounts = await accountsFile();
  const first = await startTestServer({ accounts: accounts.path, requireLogin: true });
  const port = first.addr.port;
  await using client = new ClientProcess(
    ["--port", String(port), "--name", "alice", "--login", ...FAST_RECONNECT],
    { SWITCHBOARD_PASSWORD: "wonderland" },
  );
  await client.waitFor(/Hello alice/, "stderr");
  await first.shutdown({ reason: "restarting" });
  await client.waitFor(/reconnecting every/, "stderr");
  await using second = await startTestServer({
    port,
    accounts: accounts.path,
    requireLogin: true,
  });
  const messages: string[] = [];
  second.on("message", ({ from, text }) => messages.push(`${from}: ${text}`));
  await client.waitFor(/reconnected to 127\.0\.0\.1:\d+ as alice/, "stderr");
  await client.send("after the restart");
  await until(() => messages.length === 1, 5000, "the message");
  assert.deepEqual(messages, ["alice: after the restart"]);
  await client.closeInput();
  const result = await client.finished();
  assert.equal(result.code, EXIT.ok, result.stderr);
});

Deno.test("client --login with a wrong password: a clear line and exit code 13", async () => {
  await using accounts = await accountsFile();
  await using server = await startTestServer({ accounts: accounts.path });
  await using client = new ClientProcess(
    ["--port", String(server.addr.port), "--name", "alice", "--login", "--send", "hello"],
    { SWITCHBOARD_PASSWORD: "looking-glass" },
  );
  const result = await client.finished();
  assert.equal(result.code, EXIT.loginFailed, result.stderr);
  assert.match(result.stderr, /client: login as "alice" failed: .*\(login-failed\)/);
  assert.ok(!result.stderr.includes("looking-glass"), "the password is never shown");
});

Deno.test("client --login: needs --name, and a password from the environment or a terminal", async () => {
  await using noName = new ClientProcess(["--port", "1", "--login"]);
  let result = await noName.finished();
  assert.equal(result.code, EXIT.usage);
  assert.match(result.stderr, /--login needs --name/);
  await using noPassword = new ClientProcess(["--port", "1", "--name", "alice", "--login"], {
    SWITCHBOARD_PASSWORD: "",
  });
  result = await noPassword.finished();
  assert.equal(result.code, EXIT.usage);
  assert.match(result.stderr, /--login needs a password: set SWITCHBOARD_PASSWORD/);
  await using flag = new ClientProcess(["--port", "1", "--name", "a", "--password", "x"]);
  result = await flag.finished();
  assert.equal(result.code, EXIT.usage, "there is no password flag");
});

Deno.test({
  name: "client --login on a terminal asks for the password without echo, then chats",
  ignore: !HAS_TMUX,
  async fn() {
    await using fake = new LoginFake();
    await using terminal = new Terminal();
    await terminal.start("client", ["--port", String(fake.port), "--name", "alice", "--login"], {
      SWITCHBOARD_PASSWORD: "",
    });
    await terminal.waitFor(/Password for alice:\s*$/m);
    await terminal.type("wonderlandx");
    await terminal.keys("BSpace", "Enter");
    await terminal.waitFor(/Hello alice/);
    await terminal.type("typed after login");
    await terminal.keys("Enter");
    await until(() => fake.lines.includes("typed after login"), 5000, "the typed line");
    assert.equal(fake.lines[0], ":login alice wonderland");
    assert.ok(!(await terminal.screen()).includes("wonderland"), "the password was echoed");
    await terminal.type(":quit");
    await terminal.keys("Enter");
    assert.match(await terminal.waitFor(/exit=\d+/), /exit=0/);
  },
});
