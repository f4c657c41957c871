/**
 * The client library's side of file transfer (`core/client/files.ts` on the sized payloads of
 * `core/client/client.ts`): downloads kept only when complete and matching their hash, under a fresh name
 * inside the downloads folder whatever the server says; uploads framed exactly, even when refused
 * early or when other lines are sent meanwhile. A scripted fake server plays the misbehaving
 * cases a real one never produces.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { SwitchboardClient } from "../core/client/client.ts";
import {
  candidateName,
  claimFreshPath,
  downloadNameProblem,
  FileTransfers,
  pathInside,
} from "../core/client/files.ts";
import { connect, startTestServer } from "./_helpers.ts";
import { FakeServer } from "./client_harness.ts";

const encoder = new TextEncoder();

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "client-files-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

/** Names in a folder, sorted (hidden temporary files included). */
function listing(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

async function fakeClient(server: FakeServer): Promise<SwitchboardClient> {
  const client = await SwitchboardClient.connect({ port: server.port, reconnectTimeout: 0 });
  assert.ok((await client.register("alice")).ok);
  return client;
}

// ---------------------------------------------------------------------------------------------
// Names from the server.

Deno.test("download names: a hostile name from the server can never leave the downloads folder", () => {
  const hostile = [
    "../escape",
    "..",
    ".",
    "../../.bashrc",
    "a/b",
    "a\\b",
    "/etc/passwd",
    "C:evil",
    "C:\\Windows\\evil.dll",
    ".hidden",
    "trailing.",
    "new\nline",
    "bell\x07",
    "rtl\u202etxt.exe",
    "x".repeat(129),
    "",
    "NUL",
    "con.txt",
    "COM1",
    "lpt9.log",
    "AUX.tar.gz",
    "com\u00b2",
    "\uff2e\uff35\uff2c", // ＮＵＬ
    "a\u2215b", // ∕
    "a\u2044b", // ⁄
    "\uff0e\uff0e\uff0fx", // ．．／x
    "a\uff3cb", // ＼
    "zero\u200bwidth",
    "bidi\u2067.txt",
    "selector\ufe0f.txt",
  ];
  for (const name of hostile) {
    assert.notEqual(downloadNameProblem(name), undefined, JSON.stringify(name));
    assert.throws(() => pathInside("/tmp/downloads", name), TypeError, JSON.stringify(name));
  }
  for (
    const name of ["photo.jpg", "résumé-日本.txt", "a..b", "README", "con-notes.txt", "½.txt"]
  ) {
    assert.equal(downloadNameProblem(name), undefined, name);
    assert.equal(pathInside("/tmp/downloads", name), `/tmp/downloads/${name}`);
  }
});

Deno.test("download names: a taken name becomes name (1), name (2)…, and nothing is overwritten", async () => {
  assert.equal(candidateName("report.pdf", 0), "report.pdf");
  assert.equal(candidateName("report.pdf", 1), "report (1).pdf");
  assert.equal(candidateName("archive.tar.gz", 2), "archive.tar (2).gz");
  assert.equal(candidateName("Makefile", 3), "Makefile (3)");
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "a.txt"), "precious");
  await Deno.writeTextFile(join(dir.path, "a (1).txt"), "also precious");
  assert.equal(await claimFreshPath(dir.path, "a.txt"), join(dir.path, "a (2).txt"));
  assert.equal(await claimFreshPath(dir.path, "a.txt"), join(dir.path, "a (3).txt"));
  assert.equal(await Deno.readTextFile(join(dir.path, "a.txt")), "precious");
  assert.equal(await Deno.readTextFile(join(dir.path, "a (1).txt")), "also precious");
});

// ---------------------------------------------------------------------------------------------
// Downloads that must not be kept.

Deno.test("library: bytes that do not match the FILE line's hash are deleted and reported", async () => {
  await using dir = await tempDir();
  const bytes = encoder.encode("not what was promised");
  await using server = new FakeServer(async (name, write) => {
    await write(`FILE ${name} ${bytes.length} ${"0".repeat(64)}\n`);
    await write(bytes);
    await write(`OK get ${name}\n`);
  });
  await using client = await fakeClient(server);
  const files = new FileTransfers(client, { downloads: dir.path });
  const result = await files.get("a.txt");
  assert.equal(result.ok, false);
  assert.equal(result.error?.code, "bad-hash");
  assert.match(
    result.error?.text ?? "",
    new RegExp(`hash to ${sha256(bytes)}, not 0{64}; nothing kept`),
  );
  assert.equal(result.path, undefined);
  assert.equal(result.bytes, bytes.length);
  assert.deepEqual(listing(dir.path), [], "no file, no temporary file");
  // The framing held: the connection still answers.
  assert.equal((await client.request(":ping")).final?.type, "ok");
});

Deno.test("library: a download cut short is deleted and reported as incomplete", async () => {
  await using dir = await tempDir();
  const hash = sha256(new Uint8Array(100_000));
  await using server = new FakeServer(async (name, write, close) => {
    await write(`FILE ${name} 100000 ${hash}\n`);
    await write(new Uint8Array(40_000));
    close();
  });
  await using client = await fakeClient(server);
  const files = new FileTransfers(client, { downloads: dir.path });
  const result = await files.get("big.bin");
  assert.equal(result.ok, false);
  assert.equal(result.error?.code, "incomplete");
  assert.match(result.error?.text ?? "", /ended after 40000 of 100000 bytes; nothing kept/);
  assert.deepEqual(listing(dir.path), []);
});

Deno.test("library: a hostile name in a FILE line is refused, its bytes dropped, the framing kept", async () => {
  await using root = await tempDir();
  const downloads = join(root.path, "downloads");
  const bytes = encoder.encode("OK get trick\nMSG mallory * :not a line\n");
  await using server = new FakeServer(async (name, write) => {
    await write(`FILE ${name} ${bytes.length} ${sha256(bytes)}\n`);
    await write(bytes);
    await write(`OK get ${name}\n`);
  });
  await using client = await fakeClient(server);
  const seen: string[] = [];
  client.on("line", ({ event }) => seen.push(event.line));
  const files = new FileTransfers(client, { downloads });
  for (const name of ["../escape.txt", "..", "../../etc/cron.d/x", ".bashrc"]) {
    const result = await files.get(name);
    assert.equal(result.ok, false, name);
    assert.equal(result.error?.code, "bad-file-name", name);
    assert.equal(result.bytes, bytes.length, name);
    assert.equal(result.final?.type, "ok", name);
  }
  assert.deepEqual(listing(root.path), [], "nothing written, not even the downloads folder");
  assert.ok(!seen.some((line) => line.startsWith("MSG")), "payload bytes were not read as lines");
  assert.equal((await client.request(":ping")).final?.type, "ok");
});

// ---------------------------------------------------------------------------------------------
// Uploads and downloads against the real server.

async function serverWithArea(options: Parameters<typeof startTestServer>[0] = {}) {
  const area = await tempDir();
  const server = await startTestServer({ filesDir: area.path, ...options });
  return {
    server,
    area: area.path,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await area[Symbol.asyncDispose]();
    },
  };
}

Deno.test("library: put and get round-trip, a taken name gets a fresh one, dest may be a folder or a file", async () => {
  await using setup = await serverWithArea();
  await using local = await tempDir();
  const source = join(local.path, "data.bin");
  const bytes = new Uint8Array(300_000).map((_, i) => (i * 31) % 256);
  await Deno.writeFile(source, bytes);
  await using client = await SwitchboardClient.connect({ port: setup.server.addr.port });
  assert.ok((await client.register("alice")).ok);
  const downloads = join(local.path, "downloads");
  const files = new FileTransfers(client, { downloads });
  const progress: string[] = [];
  const put = await files.put(source, undefined, {
    onProgress: (p) => progress.push(p.phase),
  });
  assert.equal(put.ok, true, put.error?.text);
  assert.equal(put.sha256, sha256(bytes));
  assert.equal(put.bytes, bytes.length);
  assert.ok(progress.includes("hashing") && progress.at(-1) === "sending");
  assert.deepEqual(await Deno.readFile(join(setup.area, "data.bin")), bytes);
  const first = await files.get("data.bin");
  assert.equal(first.path, join(downloads, "data.bin"));
  const second = await files.get("DATA.BIN");
  assert.equal(second.path, join(downloads, "data (1).bin"));
  assert.deepEqual(await Deno.readFile(second.path!), bytes);
  const intoFolder = await files.get("data.bin", local.path);
  assert.equal(intoFolder.path, join(local.path, "data (1).bin"), "data.bin is the source");
  const asFile = await files.get("data.bin", join(local.path, "copy.bin"));
  assert.equal(asFile.path, join(local.path, "copy.bin"));
  assert.deepEqual(await Deno.readFile(source), bytes, "the source was never overwritten");
  assert.deepEqual(listing(downloads), ["data (1).bin", "data.bin"]);
  const missing = await files.put(join(local.path, "nothing"));
  assert.equal(missing.error?.code, "not-found");
  const badName = await files.put(source, "../x");
  assert.equal(badName.error?.code, "bad-file-name");
  await client.quit();
});

Deno.test("library: an upload goes out under its NFC name; a name the server would refuse is never sent", async () => {
  await using setup = await serverWithArea();
  await using local = await tempDir();
  await using client = await SwitchboardClient.connect({ port: setup.server.addr.port });
  assert.ok((await client.register("alice")).ok);
  const sent: string[] = [];
  client.on("line", ({ command }) => command !== undefined && sent.push(command));
  const files = new FileTransfers(client, { downloads: join(local.path, "downloads") });
  // A name written in NFD (as macOS may give it) is uploaded in NFC.
  const nfd = join(local.path, "cafe\u0301.txt");
  await Deno.writeTextFile(nfd, "un café");
  const put = await files.put(nfd);
  assert.equal(put.ok, true, put.error?.text);
  assert.equal(put.name, "caf\u00e9.txt");
  assert.deepEqual(listing(setup.area), [".switchboard-files.json", "caf\u00e9.txt"]);
  // The same name in NFC is the same file.
  const again = await files.put(nfd, "caf\u00e9.txt");
  assert.equal(again.error?.code, "file-exists");
  for (
    const name of ["CON", "nul.txt", "LPT1.txt", "a\u2215b", "\uff0e\uff0e\uff0fx", "z\u200bw"]
  ) {
    const refused = await files.put(nfd, name);
    assert.equal(refused.error?.code, "bad-file-name", JSON.stringify(name));
    assert.equal(refused.bytes, 0, JSON.stringify(name));
    assert.equal(refused.final, undefined, "refused by the client, not the server");
  }
  const device = join(local.path, "AUX.log");
  await Deno.writeTextFile(device, "x");
  assert.equal((await files.send("bob", device)).error?.code, "bad-file-name");
  assert.equal((await client.request(":ping")).final?.type, "ok");
  assert.ok(!sent.some((line) => /CON|nul|LPT1|AUX|\u2215|\u200b/.test(line)), sent.join("\n"));
  assert.deepEqual(listing(setup.area), [".switchboard-files.json", "caf\u00e9.txt"]);
});

Deno.test("library: an upload refused at once still sends its bytes, and the connection goes on", async () => {
  await using setup = await serverWithArea({ fileQuota: 1000 });
  await using local = await tempDir();
  const source = join(local.path, "big.bin");
  // Lines inside the payload: if the bytes were not sent, they would be read as commands.
  const bytes = encoder.encode(":quit\nexit\nhello\n".repeat(20_000));
  await Deno.writeFile(source, bytes);
  await using bob = await connect(setup.server, "bob");
  await using client = await SwitchboardClient.connect({ port: setup.server.addr.port });
  assert.ok((await client.register("alice")).ok);
  const result = await new FileTransfers(client).put(source);
  assert.equal(result.ok, false);
  assert.equal(result.error?.code, "too-large");
  assert.equal(result.bytes, bytes.length);
  client.send("still here");
  assert.equal(await bob.waitFor("MSG "), "MSG alice * :still here");
  assert.equal((await client.request(":ping")).final?.type, "ok");
  assert.deepEqual(listing(setup.area), []);
});

Deno.test("library: lines sent during an upload go out after its last byte, never inside it", async () => {
  await using setup = await serverWithArea();
  await using local = await tempDir();
  const source = join(local.path, "big.bin");
  const bytes = new Uint8Array(8 * 1024 * 1024);
  for (let i = 0; i < bytes.length; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, i + 65536));
  }
  await Deno.writeFile(source, bytes);
  await using bob = await connect(setup.server, "bob");
  await using client = await SwitchboardClient.connect({ port: setup.server.addr.port, ack: true });
  assert.ok((await client.register("alice")).ok);
  const acks: string[] = [];
  client.on("line", ({ event, command }) => {
    if (event.type === "ack") acks.push(command ?? "?");
  });
  const result = await new FileTransfers(client).put(source, undefined, {
    onQueued: () => {
      // The command line is queued and its bytes are on their way: these must wait for them.
      client.send("typed during the upload");
      client.send(":pm bob psst");
    },
  });
  assert.equal(result.ok, true, result.error?.text);
  assert.equal(await bob.waitFor("MSG "), "MSG alice * :typed during the upload");
  assert.equal(await bob.waitFor("PM "), "PM alice :psst");
  await client.settle();
  assert.deepEqual(acks, ["typed during the upload"]);
  assert.deepEqual(client.unacknowledged, []);
  assert.equal(sha256(await Deno.readFile(join(setup.area, "big.bin"))), sha256(bytes));
});
