import assert from "node:assert/strict";
import { SwitchboardClient } from "../core/client/client.ts";
import { ConnectError } from "../core/client/errors.ts";
import type { Server } from "../core/server/server.ts";
import { haveOpenssl, moduleCerts, type TestCerts } from "./_certs.ts";
import { connect, eventually, LINE_TIMEOUT_MS, startTestServer } from "./_helpers.ts";
import { REPO_ROOT, runProgram, ServerProcess } from "./_programs.ts";

/** openssl makes the certificates; CI installs it (and ncat), so there they must exist. */
const ignore = !haveOpenssl && Deno.env.get("CI") !== "true";
if (ignore) console.warn("tls_test: openssl is not installed; the TLS tests are skipped");
const ncat = await new Deno.Command("ncat", { args: ["--version"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success, () => false);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Certificates shared by the tests of this file. */
const certs = moduleCerts();

function tlsTest(name: string, fn: (certs: TestCerts) => Promise<void>): void {
  Deno.test({ name, ignore, fn: async () => await fn(await certs()) });
}

/** A library server listening on plain TCP and TLS (port 0 for both). */
async function tlsServer(c: TestCerts, extra: Record<string, unknown> = {}): Promise<Server> {
  return await startTestServer({ tlsCert: c.cert, tlsKey: c.key, tlsPort: 0, ...extra });
}

function tlsPort(server: Server): number {
  return server.addrs[1]!.port;
}

/** Resolves with the text of the first lobby message `client` receives. */
function nextMessage(client: SwitchboardClient): Promise<string> {
  return new Promise((resolve) => {
    const off = client.on("line", ({ event }) => {
      if (event.type === "message") {
        off();
        resolve(`${event.from}: ${event.text}`);
      }
    });
  });
}

tlsTest("two library clients chat over TLS with the private CA trusted", async (c) => {
  await using server = await tlsServer(c);
  const ca = await Deno.readTextFile(c.ca);
  const options = { hostname: "localhost", port: tlsPort(server), tls: { caCerts: [ca] } };
  await using alice = await SwitchboardClient.connect(options);
  await using bob = await SwitchboardClient.connect(options);
  assert.ok((await alice.register("alice")).ok);
  assert.ok((await bob.register("bob")).ok);
  const heard = nextMessage(bob);
  alice.send("hello over tls");
  assert.equal(await heard, "alice: hello over tls");
  // The same hub serves the plain port.
  await using carol = await connect(server, "carol");
  alice.send("and to plain");
  assert.equal(await carol.waitFor("MSG"), "MSG alice * :and to plain");
});

tlsTest(
  "the library reports a certificate from an unknown authority as tls-unknown-authority",
  async (c) => {
    await using server = await tlsServer(c);
    const error = await SwitchboardClient.connect({
      hostname: "localhost",
      port: tlsPort(server),
      tls: true,
      connectTimeout: 2,
    }).then(() => undefined, (e) => e);
    assert.ok(error instanceof ConnectError, String(error));
    assert.equal(error.code, "tls-unknown-authority");
  },
);

Deno.test({
  name: "ncat --ssl is a client: HELLO, name, message, quit, inside TLS",
  ignore: ignore || (!ncat && Deno.env.get("CI") !== "true"),
  async fn() {
    const c = await certs();
    await using server = await tlsServer(c);
    await using bob = await connect(server, "bob");
    const child = new Deno.Command("ncat", {
      args: [
        "--ssl",
        "--ssl-verify",
        "--ssl-trustfile",
        c.ca,
        "localhost",
        String(tlsPort(server)),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdin = child.stdin.getWriter();
    await stdin.write(encoder.encode("alice\nhello from ncat --ssl\n"));
    assert.equal(await bob.waitFor("MSG"), "MSG alice * :hello from ncat --ssl");
    await stdin.write(encoder.encode(":quit\n"));
    await stdin.close();
    const output = await child.output();
    const lines = decoder.decode(output.stdout).trimEnd().split("\n");
    assert.match(lines[0] ?? "", /^HELLO sb\/1 /);
    assert.match(lines[1] ?? "", /^WELCOME alice /);
    assert.equal(lines.at(-1), "BYE quit :Goodbye!");
  },
});

tlsTest(
  "a stalled or garbage handshake is given up within register-timeout and counted as tlsFailed",
  async (c) => {
    await using server = await tlsServer(c, { registerTimeout: 0.3 });
    const port = tlsPort(server);
    const silent = await Deno.connect({ hostname: "127.0.0.1", port });
    const garbage = await Deno.connect({ hostname: "127.0.0.1", port });
    await garbage.write(encoder.encode("alice\nhello, this is not TLS\n"));
    // While both wait, a TLS client is served as usual.
    const ca = await Deno.readTextFile(c.ca);
    await using alice = await SwitchboardClient.connect({
      hostname: "localhost",
      port,
      tls: { caCerts: [ca] },
    });
    assert.ok((await alice.register("alice")).ok);
    await eventually(() => server.stats().tlsFailed === 2, LINE_TIMEOUT_MS);
    assert.ok(server.console(":stats").includes("STAT tlsFailed 2"));
    assert.equal(server.stats().connections, 1, "the failed handshakes never became connections");
    // The garbage gets a TLS alert and the end of the stream, never a Switchboard line.
    const answer = await readToEnd(garbage);
    assert.doesNotMatch(answer, /HELLO|ERR|BYE/);
    garbage.close();
    // The silent peer's socket was closed by the server too (tests/tls_handshake_test.ts).
    assert.equal(await readToEnd(silent), "");
    silent.close();
    assert.equal(alice.state, "ready");
    alice.send("still here");
    assert.equal(alice.state, "ready");
  },
);

/** Reads until the peer ends the stream (or resets it); returns what came, as Latin-1. */
async function readToEnd(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(1024);
  let seen = "";
  for (;;) {
    const count = await conn.read(buffer).catch(() => null);
    if (count === null) return seen;
    seen += String.fromCharCode(...buffer.subarray(0, count));
  }
}

tlsTest(
  "the programs: client and shutdown with --tls --tls-ca; a token file per port",
  async (c) => {
    const server = await ServerProcess.start([
      "--port=0",
      "--tls-port=0",
      `--tls-cert=${c.cert}`,
      `--tls-key=${c.key}`,
      "--log-dir=",
    ]);
    await using _server = server;
    const tls = String(server.tlsPort);
    for (const port of [server.port, server.tlsPort]) {
      const file = `${REPO_ROOT}/.switchboard/admin-${port}.token`;
      assert.ok((await Deno.stat(file)).isFile, `${file} is written`);
    }
    const client = await runProgram("client", [
      "--tls",
      "--tls-ca",
      c.ca,
      "--host",
      "localhost",
      "--port",
      tls,
      "-n",
      "alice",
      "-s",
      "hello",
    ]);
    assert.equal(client.code, 0, client.stderr);
    const stop = await runProgram("shutdown", ["--tls", "--tls-ca", c.ca, "--port", tls]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await server.finished()).code, 0);
  },
);

tlsTest(
  "--tls-only opens no plain port and shutdown finds the token of the TLS port",
  async (c) => {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const plainPort = probe.addr.port;
    probe.close();
    const server = await ServerProcess.start([
      `--port=${plainPort}`,
      "--tls-port=0",
      "--tls-only",
      `--tls-cert=${c.cert}`,
      `--tls-key=${c.key}`,
      "--log-dir=",
    ]);
    await using _server = server;
    await assert.rejects(
      Deno.connect({ hostname: "127.0.0.1", port: plainPort }),
      Deno.errors.ConnectionRefused,
    );
    const stop = await runProgram("shutdown", [
      "--tls",
      "--tls-ca",
      c.ca,
      "--port",
      String(server.port),
    ]);
    assert.equal(stop.code, 0, stop.stderr);
    const result = await server.finished();
    assert.equal(result.code, 0);
    assert.doesNotMatch(result.stdout, /^listening on .*\d$/m, "no plain listening line");
    // Which port is the TLS one is said once, on stdout (ServerProcess waited for that
    // `listening on …:PORT (tls)` line), not again by the log's console output.
    assert.doesNotMatch(result.stderr, /listening on/);
  },
);

/** Runs the client program against `port` with TLS; returns exit code and stderr. */
async function tlsClient(port: number, args: string[]) {
  return await runProgram("client", [
    "--tls",
    "--host",
    "localhost",
    "--port",
    String(port),
    "--connect-timeout",
    "3",
    "-n",
    "alice",
    "-s",
    "hi",
    ...args,
  ]);
}

tlsTest(
  "client failures exit 12 with one line: unknown authority, wrong name, expired, plain server",
  async (c) => {
    await using good = await tlsServer(c);
    await using wrong = await startTestServer({ tlsCert: c.wrongName, tlsKey: c.key, tlsPort: 0 });
    await using expired = await startTestServer({ tlsCert: c.expired, tlsKey: c.key, tlsPort: 0 });
    const cases: [string, number, string[], RegExp][] = [
      ["unknown authority", tlsPort(good), [], /unknown authority/],
      ["wrong name", tlsPort(wrong), ["--tls-ca", c.ca], /name mismatch.*other\.example/],
      ["expired", tlsPort(expired), ["--tls-ca", c.ca], /expired/],
      ["plain server", good.addr.port, ["--tls-ca", c.ca], /does not speak TLS/],
    ];
    for (const [what, port, args, why] of cases) {
      const result = await tlsClient(port, args);
      assert.equal(result.code, 12, `${what}: ${result.stderr}`);
      const lines = result.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, `${what}: ${result.stderr}`);
      assert.match(lines[0]!, why, what);
    }
    const stop = await runProgram("shutdown", ["--tls", "--port", String(good.addr.port)]);
    assert.equal(stop.code, 12, stop.stderr);
    assert.match(stop.stderr, /does not speak TLS/);
  },
);

tlsTest(
  "a certificate or key the server cannot use stops it with exit 2 and one line naming the flag",
  async (c) => {
    const notPem = `${c.dir}/index.txt`;
    const cases: [string, string, string, RegExp][] = [
      [
        "missing cert",
        `${c.dir}/missing.pem`,
        c.key,
        /^server: --tls-cert .*missing\.pem: cannot read it/,
      ],
      ["cert not PEM", notPem, c.key, /^server: --tls-cert .*: not a PEM certificate/],
      ["key not PEM", c.cert, c.cert, /^server: --tls-key .*: not a PEM private key/],
      ["key mismatch", c.cert, c.otherKey, /^server: --tls-key .*: the key does not match/],
    ];
    for (const [what, cert, key, line] of cases) {
      const result = await runProgram("server", [
        "--port=0",
        "--tls-port=0",
        `--tls-cert=${cert}`,
        `--tls-key=${key}`,
        "--log-dir=",
      ]);
      assert.equal(result.code, 2, `${what}: ${result.stderr}`);
      assert.equal(result.stdout, "", what);
      assert.equal(result.stderr.trimEnd().split("\n").length, 1, `${what}: ${result.stderr}`);
      assert.match(result.stderr, line, what);
    }
  },
);

Deno.test({
  name: "the README's self-signed certificate recipe gives a certificate the client accepts",
  ignore,
  fn: async () => {
    const readme = await Deno.readTextFile(`${REPO_ROOT}/README.md`);
    // The openssl command of the TLS quick start, backslash continuations joined.
    const block = readme.slice(readme.indexOf("## TLS and accounts")).match(/```sh\n([^]*?)```/)
      ?.[1] ?? "";
    const command = block.replace(/\\\n\s*/g, "").split("\n").find((l) => l.startsWith("openssl"));
    assert.ok(command !== undefined, "the README's TLS section starts with an openssl command");
    const dir = await Deno.makeTempDir({ prefix: "switchboard-readme-tls-" });
    try {
      const made = await new Deno.Command("bash", {
        args: ["-c", command],
        cwd: dir,
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.ok(made.success, decoder.decode(made.stderr));
      await using server = await startTestServer({
        tlsCert: `${dir}/server.pem`,
        tlsKey: `${dir}/server.key`,
        tlsPort: 0,
      });
      const ca = await Deno.readTextFile(`${dir}/server.pem`);
      await using client = await SwitchboardClient.connect({
        hostname: "localhost",
        port: tlsPort(server),
        tls: { caCerts: [ca] },
      });
      assert.ok((await client.register("alice")).ok);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

tlsTest(
  "a TLS client that stops reading is cut as a slow consumer; the flood goes on",
  async (c) => {
    await using server = await tlsServer(c, { maxQueueBytes: 256 * 1024 });
    const ca = await Deno.readTextFile(c.ca);
    const lazy = await Deno.connectTls({
      hostname: "localhost",
      port: tlsPort(server),
      caCerts: [ca],
    });
    await lazy.write(encoder.encode("lazy\n"));
    await using flood = await connect(server, "flood");
    await eventually(() => server.stats().online === 2, LINE_TIMEOUT_MS, "both registered");
    const line = "x".repeat(1000) + "\n";
    const burst = encoder.encode(line.repeat(64));
    // Bounded: at most 20 000 lines, then the test fails if nobody was cut.
    for (let i = 0; i < 300 && server.stats().disconnects["slow-consumer"] === 0; i++) {
      await flood.sendRaw(burst);
    }
    await eventually(
      () => server.stats().disconnects["slow-consumer"] === 1,
      LINE_TIMEOUT_MS,
      "the non-reader cut",
    );
    assert.equal((await flood.command(":ping")).at(-1), "OK ping", "the sender is still served");
    lazy.close();
  },
);
