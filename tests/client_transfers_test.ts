/**
 * Files, remote commands and acknowledgements through the `client` program itself (spawned with
 * `-P=client`, as shipped): `:put`, `:get`, `:send`, `:accept`/`:decline` of offers, `:run`, and
 * the exit code of a script whose messages were refused or never acknowledged.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { RemoteCommand, ServerOptions } from "../core/config/options.ts";
import { EXIT } from "../cli/_exit_codes.ts";
import { connect, startTestServer } from "./_helpers.ts";
import { ClientProcess, FakeServer, lines, runClient } from "./client_harness.ts";

const encoder = new TextEncoder();
const MiB = 1024 * 1024;

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  const buffer = new Uint8Array(MiB);
  for (let count = await file.read(buffer); count !== null; count = await file.read(buffer)) {
    hash.update(buffer.subarray(0, count));
  }
  return hash.digest("hex");
}

/** Writes `size` pseudo-random bytes (one random MiB, stamped per MiB) without holding them. */
async function writeRandom(path: string, size: number): Promise<void> {
  const block = new Uint8Array(MiB);
  for (let i = 0; i < MiB; i += 65536) crypto.getRandomValues(block.subarray(i, i + 65536));
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for (let offset = 0, index = 0; offset < size; offset += MiB, index++) {
    new DataView(block.buffer).setFloat64(0, index);
    const piece = block.subarray(0, Math.min(MiB, size - offset));
    for (let done = 0; done < piece.length;) done += await file.write(piece.subarray(done));
  }
}

/** A temporary folder, removed afterwards. */
async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "client-transfers-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

/** A server with a shared area in a temporary folder. */
async function serverWithArea(options: ServerOptions = {}) {
  const area = await tempDir();
  const server = await startTestServer({ filesDir: area.path, ...options });
  return {
    server,
    area: area.path,
    port: String(server.addr.port),
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await area[Symbol.asyncDispose]();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// :put and :get.

Deno.test("client: :put and :get round-trip files of 0 bytes, 1 byte and every byte value", async () => {
  await using setup = await serverWithArea();
  await using local = await tempDir();
  const every = new Uint8Array(256 * 4 + 40);
  for (let i = 0; i < 256 * 4; i++) every[i] = i % 256;
  every.set(encoder.encode("\nOK get x\nMSG mallory * :hi\r\n"), 256 * 4);
  const files: Record<string, Uint8Array> = {
    "empty.bin": new Uint8Array(0),
    "one.bin": new Uint8Array([0x0a]),
    "every.bin": every,
  };
  for (const [name, bytes] of Object.entries(files)) {
    await Deno.writeFile(join(local.path, name), bytes);
  }
  const downloads = join(local.path, "downloads");
  const names = Object.keys(files);
  const result = await runClient([
    "--port",
    setup.port,
    "--name",
    "alice",
    "--downloads",
    downloads,
    ...names.flatMap((name) => ["--send", `:put ${join(local.path, name)}`]),
    ...names.flatMap((name) => ["--send", `:get ${name}`]),
  ]);
  assert.equal(result.code, EXIT.ok, result.stderr);
  for (const [name, bytes] of Object.entries(files)) {
    assert.deepEqual(await Deno.readFile(join(setup.area, name)), bytes, `${name} on the server`);
    assert.deepEqual(await Deno.readFile(join(downloads, name)), bytes, `${name} downloaded`);
  }
  const out = lines(result.stdout).map((line) => line.replace(/^\d\d:\d\d:\d\d /, ""));
  assert.equal(out.length, 6, result.stdout);
  assert.match(out[0]!, /^✓ put empty\.bin \(0 B\) in [<\d.]+ s, sha256 ok$/);
  assert.match(out[1]!, /^✓ put one\.bin \(1 B\) in [<\d.]+ s, sha256 ok$/);
  assert.match(out[2]!, /^✓ put every\.bin \(1\.0 KiB\) in /);
  assert.match(out[3]!, /^✓ got empty\.bin \(0 B\) in [<\d.]+ s, sha256 ok → .*empty\.bin$/);
  assert.match(out[5]!, /^✓ got every\.bin \(1\.0 KiB\) in .*, sha256 ok → .*every\.bin$/);
  assert.doesNotMatch(result.stdout, /mallory/, "payload bytes are never shown as lines");
});

Deno.test("client: a 64 MiB file goes up and comes back with the same SHA-256", async () => {
  await using setup = await serverWithArea();
  await using local = await tempDir();
  const source = join(local.path, "big.bin");
  await writeRandom(source, 64 * MiB);
  const expected = await sha256File(source);
  const downloads = join(local.path, "downloads");
  await using client = new ClientProcess([
    "--port",
    setup.port,
    "--name",
    "alice",
    "--downloads",
    downloads,
    "--send",
    `:put ${source}`,
    "--send",
    ":get big.bin",
  ]);
  const result = await client.finished(120_000);
  assert.equal(result.code, EXIT.ok, result.stderr);
  // A rate is shown only for a transfer that took long enough to measure one (summaryLine): on a
  // fast machine 64 MiB over loopback can come back in under 0.1 s.
  assert.match(result.stdout, /✓ put big\.bin \(64\.0 MiB\) in [^,]+(, [^,]+\/s)?, sha256 ok/);
  assert.match(result.stdout, /✓ got big\.bin \(64\.0 MiB\) in [^,]+(, [^,]+\/s)?, sha256 ok → /);
  assert.equal(await sha256File(join(setup.area, "big.bin")), expected);
  assert.equal(await sha256File(join(downloads, "big.bin")), expected);
  assert.deepEqual([...Deno.readDirSync(downloads)].map((e) => e.name), ["big.bin"]);
});

Deno.test("client: :get into a name that exists saves under a fresh name and overwrites nothing", async () => {
  await using setup = await serverWithArea();
  await using local = await tempDir();
  await Deno.writeTextFile(join(local.path, "report.txt"), "the server's copy");
  const downloads = join(local.path, "downloads");
  await Deno.mkdir(downloads);
  await Deno.writeTextFile(join(downloads, "report.txt"), "mine, keep it");
  const mine = join(local.path, "mine.txt");
  await Deno.writeTextFile(mine, "also mine");
  const result = await runClient([
    "--port",
    setup.port,
    "--name",
    "alice",
    "--downloads",
    downloads,
    "--send",
    `:put ${join(local.path, "report.txt")}`,
    "--send",
    ":get report.txt",
    "--send",
    `:get report.txt ${mine}`,
  ]);
  assert.equal(result.code, EXIT.ok, result.stderr);
  assert.match(result.stdout, /✓ got report\.txt .* → .*downloads\/report \(1\)\.txt\n/);
  assert.match(result.stdout, /✓ got report\.txt .* → .*mine \(1\)\.txt\n/);
  assert.equal(await Deno.readTextFile(join(downloads, "report.txt")), "mine, keep it");
  assert.equal(await Deno.readTextFile(join(downloads, "report (1).txt")), "the server's copy");
  assert.equal(await Deno.readTextFile(mine), "also mine");
  assert.equal(await Deno.readTextFile(join(local.path, "mine (1).txt")), "the server's copy");
});

Deno.test("client: piped input ends while transfers run; the client waits for them before :quit", async () => {
  await using setup = await serverWithArea();
  await using local = await tempDir();
  const source = join(local.path, "data.bin");
  await writeRandom(source, 16 * MiB);
  const downloads = join(local.path, "downloads");
  // The whole script is in the pipe, and the pipe closes, long before 32 MiB have moved.
  const result = await runClient(
    ["--port", setup.port, "--downloads", downloads],
    ["alice", `:put ${source}`, ":get data.bin", "done"].join("\n"),
  );
  assert.equal(result.code, EXIT.ok, result.stderr);
  assert.match(result.stdout, /✓ put data\.bin .*\n.*✓ got data\.bin /);
  assert.equal(await sha256File(join(downloads, "data.bin")), await sha256File(source));
  assert.equal(setup.server.stats().disconnects.quit, 1, "it left with :quit, once done");
});

Deno.test("client: transfer failures and bad usage make the exit code 1 and say why", async () => {
  await using setup = await serverWithArea({ fileQuota: 10 });
  await using local = await tempDir();
  const big = join(local.path, "big.txt");
  await Deno.writeTextFile(big, "more than ten bytes");
  const result = await runClient([
    "--port",
    setup.port,
    "--name",
    "alice",
    "--downloads",
    join(local.path, "downloads"),
    "--send",
    `:put ${big}`,
    "--send",
    `:put ${join(local.path, "missing.txt")}`,
    "--send",
    ":get nothing.txt",
    "--send",
    ":put",
    "--send",
    ":ping",
  ]);
  assert.equal(result.code, EXIT.failure);
  assert.match(result.stdout, /✗ put big\.txt: files are limited to 10 bytes \(too-large\)/);
  assert.match(result.stdout, /✗ put missing\.txt: .*missing\.txt: no such file \(not-found\)/);
  assert.match(result.stdout, /✗ get nothing\.txt: there is no file nothing\.txt \(no-such-file\)/);
  assert.match(result.stdout, /✗ usage: :put <path> \[name\]/);
  assert.match(result.stdout, /✓ the server answered/, "the connection went on after the refusals");
});

Deno.test("client: --json reports transfers as records", async () => {
  await using setup = await serverWithArea();
  await using local = await tempDir();
  const source = join(local.path, "a.txt");
  await Deno.writeTextFile(source, "hello");
  const result = await runClient([
    "--port",
    setup.port,
    "--name",
    "alice",
    "--json",
    "--downloads",
    join(local.path, "downloads"),
    "--send",
    `:put ${source}`,
    "--send",
    ":get a.txt",
  ]);
  assert.equal(result.code, EXIT.ok, result.stderr);
  const records = lines(result.stdout).map((line) => JSON.parse(line));
  const transfers = records.filter((r) => r.type === "transfer");
  assert.deepEqual(transfers.map((r) => `${r.event} ${r.kind}`), [
    // The :get goes out as soon as the :put is on the wire, before the server confirmed it.
    "start put",
    "start get",
    "done put",
    "done get",
  ]);
  const done = transfers[3];
  assert.equal(done.name, "a.txt");
  assert.equal(done.size, 5);
  assert.equal(done.sha256, sha256(encoder.encode("hello")));
  assert.equal(done.path, join(local.path, "downloads", "a.txt"));
  assert.ok(records.some((r) => r.type === "file" && r.command === ":get a.txt"));
});

// ---------------------------------------------------------------------------------------------
// Offers.

Deno.test("client: :send offers a file; --accept-files saves it and the sender sees it delivered", async () => {
  await using server = await startTestServer();
  await using local = await tempDir();
  const port = String(server.addr.port);
  const photo = join(local.path, "photo.bin");
  const bytes = new Uint8Array(70_000).map((_, i) => i % 251);
  await Deno.writeFile(photo, bytes);
  const bobDownloads = join(local.path, "bob");
  await using bob = new ClientProcess([
    "--port",
    port,
    "--name",
    "bob",
    "--accept-files",
    "--downloads",
    bobDownloads,
  ]);
  await bob.waitFor(/Hello bob/, "stderr");
  await using alice = new ClientProcess(["--port", port, "--name", "alice"]);
  await alice.waitFor(/Hello alice/, "stderr");
  await alice.send(`:send bob ${photo}`);
  await alice.waitFor(/✓ sent photo\.bin \(68\.4 KiB\) in .*sha256 ok: offer 1 to 1 recipient/);
  await alice.waitFor(/✓ offer 1 \(photo\.bin\) → bob: delivered/);
  await bob.waitFor(/⇣ offer 1: alice offers photo\.bin \(68\.4 KiB\)/);
  await bob.waitFor(/✓ received photo\.bin \(68\.4 KiB\) in .*sha256 ok → .*photo\.bin/);
  assert.match(bob.stderr, /accepting offer 1 \(photo\.bin\) into /);
  assert.deepEqual(await Deno.readFile(join(bobDownloads, "photo.bin")), bytes);
  await alice.closeInput();
  await bob.closeInput();
  assert.equal((await alice.finished()).code, EXIT.ok, alice.stderr);
  assert.equal((await bob.finished()).code, EXIT.ok, bob.stderr);
});

Deno.test("client: an offer is declined with --decline-files, and by a script that cannot ask", async () => {
  await using server = await startTestServer();
  await using local = await tempDir();
  const port = String(server.addr.port);
  const notes = join(local.path, "notes.txt");
  await Deno.writeTextFile(notes, "for the team");
  await using carol = new ClientProcess([
    "--port",
    port,
    "--name",
    "carol",
    "--decline-files",
    "--downloads",
    join(local.path, "carol"),
  ]);
  await carol.waitFor(/Hello carol/, "stderr");
  // No flag and no terminal: nobody can be asked, so the offer is declined at once.
  await using dave = new ClientProcess(["--port", port, "--downloads", join(local.path, "dave")]);
  await dave.send("dave");
  await dave.waitFor(/Hello dave/, "stderr");
  await using alice = new ClientProcess(["--port", port, "--name", "alice"]);
  await alice.waitFor(/Hello alice/, "stderr");
  await alice.send(":group create team");
  await alice.waitFor(/✓ created and joined #team/);
  await carol.send(":group join team");
  await dave.send(":group join team");
  await dave.waitFor(/✓ joined #team/);
  await alice.send(`:send #team ${notes}`);
  await alice.waitFor(/✓ sent notes\.txt .*: offer 1 to 2 recipients/);
  await alice.waitFor(/• offer 1 \(notes\.txt\) → carol: declined/);
  await alice.waitFor(/• offer 1 \(notes\.txt\) → dave: declined/);
  await carol.waitFor(/⇣ offer 1: alice to #team offers notes\.txt \(12 B\)/);
  await carol.waitFor(/✓ declined offer 1/);
  await dave.waitFor(/✓ declined offer 1/);
  for (const who of ["carol", "dave"]) {
    await assert.rejects(Deno.stat(join(local.path, who)), Deno.errors.NotFound);
  }
  for (const client of [alice, carol, dave]) {
    await client.closeInput();
    assert.equal((await client.finished()).code, EXIT.ok, client.stderr);
  }
});

// ---------------------------------------------------------------------------------------------
// Remote commands.

const unix = Deno.build.os !== "windows";
const COMMANDS: Record<string, RemoteCommand> = {
  hello: { argv: ["echo", "hello", "world"] },
  args: { argv: ["printf", "[%s]\\n"] },
  fail: { argv: ["sh", "-c", "echo to stdout; echo to stderr >&2; exit 3"] },
};

Deno.test({
  name: "client: :run shows the command's output and its exit code; a failure exits 1",
  ignore: !unix,
  async fn() {
    await using server = await startTestServer({ commands: COMMANDS });
    const port = String(server.addr.port);
    const ok = await runClient([
      "--port",
      port,
      "--name",
      "alice",
      "--send",
      ":commands",
      "--send",
      ":run hello",
      "--send",
      ":run args a;b $HOME",
    ]);
    assert.equal(ok.code, EXIT.ok, ok.stderr);
    const out = lines(ok.stdout).map((line) => line.replace(/^\d\d:\d\d:\d\d /, ""));
    assert.deepEqual(out, [
      "  hello timeout 10 s",
      "  args timeout 10 s",
      "  fail timeout 10 s",
      "✓ 3 commands",
      "[hello] hello world",
      "✓ hello exited with 0",
      "[args] [--]",
      "[args] [a;b]",
      "[args] [$HOME]",
      "✓ args exited with 0",
    ]);
    const failed = await runClient(["--port", port, "--name", "bob", "--send", ":run fail"]);
    assert.equal(failed.code, EXIT.failure);
    assert.match(failed.stdout, /\[fail\] to stdout/);
    assert.match(failed.stdout, /\[fail stderr\] to stderr/);
    assert.match(failed.stdout, /✗ fail exited with 3\n$/);
    const unknown = await runClient(["--port", port, "--name", "carol", "--send", ":run rm -rf /"]);
    assert.equal(unknown.code, EXIT.failure);
    assert.match(unknown.stdout, /\(no-such-command\)/);
  },
});

// ---------------------------------------------------------------------------------------------
// Acknowledgements.

Deno.test("client: --send turns acknowledgements on; every message acknowledged exits 0", async () => {
  await using server = await startTestServer();
  await using bob = await connect(server, "bob");
  const result = await runClient([
    "--port",
    String(server.addr.port),
    "--name",
    "alice",
    "--json",
    "--send",
    "first",
    "--send",
    "::-) second",
    "--send",
    ":pm bob not numbered",
  ]);
  assert.equal(result.code, EXIT.ok, result.stderr);
  const acks = lines(result.stdout).map((line) => JSON.parse(line)).filter((r) => r.type === "ack");
  assert.deepEqual(acks.map((r) => [r.seq, r.command]), [[1, "first"], [2, "::-) second"]]);
  assert.equal(await bob.waitFor("MSG "), "MSG alice * :first");
});

Deno.test("client: a message the server refuses (NACK) makes a script exit 1, naming the line", async () => {
  await using server = await startTestServer({ maxLineBytes: 128 });
  await using bob = await connect(server, "bob");
  const long = "x".repeat(500);
  const result = await runClient(
    ["--port", String(server.addr.port)],
    ["alice", "before", long, "after"].join("\n"),
  );
  assert.equal(result.code, EXIT.failure);
  assert.match(
    result.stdout,
    /✗ not delivered: "x{39}…": lines are limited to 128 bytes; that one was dropped \(line-too-long\)/,
  );
  assert.equal(await bob.waitFor("MSG "), "MSG alice * :before");
  assert.equal(await bob.waitFor("MSG "), "MSG alice * :after");
});

Deno.test("client: messages a server never acknowledges make a script exit 1", async () => {
  await using server = new FakeServer();
  const result = await runClient(["--port", String(server.port), "--name", "alice"], "lost\n");
  assert.equal(result.code, EXIT.failure);
  assert.match(result.stderr, /1 message was never acknowledged:\n.*client: {3}lost/);
});

Deno.test("client: :help lists the client's file commands instead of the server's wire forms", async () => {
  await using server = await startTestServer();
  const result = await runClient([
    "--port",
    String(server.addr.port),
    "--name",
    "a",
    "-s",
    ":help",
  ]);
  assert.equal(result.code, EXIT.ok, result.stderr);
  assert.doesNotMatch(result.stdout, /:put <name> <size> <sha256>/);
  assert.match(result.stdout, /:files +list the shared area/, "the server's other lines stay");
  for (
    const usage of [":put <path> [name]", ":get <name> [dest]", ":send <user|#group> <path>"]
  ) {
    assert.ok(result.stderr.includes(`  ${usage} `), usage);
  }
  assert.match(result.stderr, /:run <name> \[args\] +run a command the server offers/);
});
