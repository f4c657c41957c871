/**
 * The shared area (`:put`, `:get`, `:files`, `:rm`) and direct transfers (`:send`, `:accept`,
 * `:decline`) over real TCP, with a client that reads sized payloads.
 *
 * The 1 GiB round trip runs in CI (`CI=true`) and with `SWITCHBOARD_TEST_LARGE=1` (it takes longer than a test
 * suite should); a 64 MiB one always runs. Both print their throughput and the peak growth of the
 * process's resident memory, and assert that memory stays bounded.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { ServerOptions } from "../core/config/options.ts";
import type { Server } from "../core/server/server.ts";
import { concat } from "./_byte_lines.ts";
import { eventually, LINE_TIMEOUT_MS, startTestServer, waitForPrefix, Wakeup } from "./_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Test data: bytes with a known SHA-256, produced piece by piece so a GiB never sits in memory.

interface TestData {
  size: number;
  sha256: string;
  /** The bytes, in pieces; a piece may be reused once the next one is asked for. */
  pieces(): Iterable<Uint8Array>;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function fromBytes(bytes: Uint8Array): TestData {
  return { size: bytes.length, sha256: sha256(bytes), pieces: () => [bytes] };
}

/** `size` pseudo-random bytes: one random MiB, stamped with its index so no two MiB are alike. */
function generated(size: number): TestData {
  const block = new Uint8Array(MiB);
  for (let i = 0; i < MiB; i += 65536) crypto.getRandomValues(block.subarray(i, i + 65536));
  const pieces = function* () {
    for (let offset = 0, index = 0; offset < size; offset += MiB, index++) {
      new DataView(block.buffer).setFloat64(0, index);
      yield block.subarray(0, Math.min(MiB, size - offset));
    }
  };
  const hash = createHash("sha256");
  for (const piece of pieces()) hash.update(piece);
  return { size, sha256: hash.digest("hex"), pieces };
}

// ---------------------------------------------------------------------------------------------
// A client that reads lines and, after a `FILE <name> <size> <sha256>` line, exactly <size> raw
// bytes (hashed as they come; kept only when small).

interface Payload {
  name: string;
  size: number;
  /** SHA-256 the server announced. */
  declared: string;
  /** SHA-256 of the bytes received. */
  sha256: string;
  /** The bytes, when at most 1 MiB. */
  bytes: Uint8Array | undefined;
}

class FileClient implements AsyncDisposable {
  readonly conn: Deno.TcpConn;
  readonly lines: string[] = [];
  readonly payloads: Payload[] = [];
  /** Lines in arrival order, with `<payload>` where a payload's bytes came. */
  readonly transcript: string[] = [];
  readonly #wakeup = new Wakeup();
  #ended = false;
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;
  readonly #reader: Promise<void>;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.#reader = this.#read();
  }

  static async open(server: Server): Promise<FileClient> {
    return new FileClient(await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }));
  }

  static async connect(server: Server, name: string): Promise<FileClient> {
    const client = await FileClient.open(server);
    await client.waitFor("HELLO ");
    await client.send(name);
    await client.waitFor(`WELCOME ${name} `);
    await client.waitFor("SESSION ");
    return client;
  }

  get ended(): boolean {
    return this.#ended;
  }

  async send(line: string): Promise<void> {
    await this.sendRaw(encoder.encode(line + "\n"));
  }

  async sendRaw(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.conn.write(bytes.subarray(offset));
  }

  /** Sends a command line announcing `data`, then its bytes. */
  async upload(line: string, data: TestData): Promise<void> {
    await this.send(line);
    for (const piece of data.pieces()) await this.sendRaw(piece);
  }

  async nextLine(timeoutMs = LINE_TIMEOUT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.#ended) throw new Error("connection closed while waiting for a line");
      if (Date.now() > deadline) throw new Error(`no line within ${timeoutMs} ms`);
      await this.#wakeup.wait(deadline - Date.now());
    }
    return this.lines.shift() as string;
  }

  waitFor(prefix: string, timeoutMs = LINE_TIMEOUT_MS): Promise<string> {
    return waitForPrefix((ms) => this.nextLine(ms), prefix, timeoutMs);
  }

  /** Lines up to and including the next `OK `/`ERR ` line, announcements left out. */
  async reply(timeoutMs = LINE_TIMEOUT_MS): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.nextLine(timeoutMs);
      if (/^(JOIN|PART|LEAVE) /.test(line)) continue;
      lines.push(line);
      if (line.startsWith("OK ") || line.startsWith("ERR ")) return lines;
    }
  }

  async command(line: string): Promise<string[]> {
    await this.send(line);
    return await this.reply();
  }

  /** The next complete payload. */
  async payload(timeoutMs = LINE_TIMEOUT_MS): Promise<Payload> {
    const deadline = Date.now() + timeoutMs;
    while (this.payloads.length === 0) {
      if (this.#ended) throw new Error("connection closed while waiting for a payload");
      if (Date.now() > deadline) throw new Error(`no payload within ${timeoutMs} ms`);
      await this.#wakeup.wait(deadline - Date.now());
    }
    return this.payloads.shift() as Payload;
  }

  /** Stops reading the socket (the server's writes back up) until {@linkcode resume}. */
  pause(): void {
    this.#gate ??= new Promise((resolve) => this.#open = resolve);
  }

  resume(): void {
    this.#open?.();
    this.#gate = undefined;
  }

  async closed(timeoutMs = LINE_TIMEOUT_MS): Promise<void> {
    await eventually(() => this.#ended, timeoutMs, "connection closed");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.resume();
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
    await this.#reader;
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(256 * 1024);
    let partial: Uint8Array[] = [];
    let payload:
      | { header: string[]; size: number; left: number; hash: ReturnType<typeof createHash> }
        & { kept: Uint8Array[] | undefined }
      | undefined;
    const finish = () => {
      if (payload === undefined) return;
      const [name = "", size = "", declared = ""] = payload.header;
      const kept = payload.kept;
      this.payloads.push({
        name,
        size: Number(size),
        declared,
        sha256: payload.hash.digest("hex"),
        bytes: kept === undefined ? undefined : concat(kept),
      });
      this.transcript.push("<payload>");
      payload = undefined;
      this.#wakeup.notify();
    };
    try {
      for (;;) {
        if (this.#gate !== undefined) await this.#gate;
        const count = await this.conn.read(buffer);
        if (count === null) break;
        const data = buffer.subarray(0, count);
        let pos = 0;
        while (pos < data.length) {
          if (payload !== undefined) {
            const take = Math.min(payload.left, data.length - pos);
            const piece = data.subarray(pos, pos + take);
            payload.hash.update(piece);
            payload.kept?.push(piece.slice());
            payload.left -= take;
            pos += take;
            if (payload.left === 0) finish();
            continue;
          }
          const newline = data.indexOf(0x0a, pos);
          if (newline < 0) {
            partial.push(data.slice(pos));
            break;
          }
          const line = decoder.decode(concat([...partial, data.subarray(pos, newline)]));
          partial = [];
          pos = newline + 1;
          this.lines.push(line);
          this.transcript.push(line);
          this.#wakeup.notify();
          if (line.startsWith("FILE ")) {
            const header = line.split(" ").slice(1);
            const size = Number(header[1]);
            payload = {
              header,
              size,
              left: size,
              hash: createHash("sha256"),
              kept: size <= MiB ? [] : undefined,
            };
            if (size === 0) finish();
          }
        }
      }
    } catch {
      // Reset or closed by dispose.
    } finally {
      this.#ended = true;
      this.#wakeup.notify();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

async function tempDir(prefix = "switchboard-files-"): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

/** A server with a shared area in a fresh temporary folder. */
async function serverWithArea(
  options: ServerOptions = {},
): Promise<AsyncDisposable & { server: Server; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-area-" });
  const server = await startTestServer({ filesDir: dir, ...options });
  return {
    server,
    dir,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Names in a folder, sorted. */
async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

function listingNow(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((entry) => entry.name);
}

async function roundTrip(client: FileClient, name: string, data: TestData): Promise<Payload> {
  await client.upload(`:put ${name} ${data.size} ${data.sha256}`, data);
  assert.deepEqual(await client.reply(), [`OK put ${name}`]);
  await client.send(`:get ${name}`);
  assert.equal(await client.waitFor("FILE "), `FILE ${name} ${data.size} ${data.sha256}`);
  const payload = await client.payload();
  assert.equal(await client.nextLine(), `OK get ${name}`);
  assert.equal(payload.sha256, data.sha256);
  assert.equal(payload.declared, data.sha256);
  return payload;
}

// ---------------------------------------------------------------------------------------------
// Round trips.

Deno.test("files: a 0-byte file goes up with :put and comes back with :get", async () => {
  await using area = await serverWithArea();
  await using alice = await FileClient.connect(area.server, "alice");
  const payload = await roundTrip(alice, "empty.txt", fromBytes(new Uint8Array(0)));
  assert.equal(payload.size, 0);
  assert.deepEqual(payload.bytes, new Uint8Array(0));
  assert.deepEqual(await alice.command(":ping"), ["OK ping"]);
});

Deno.test("files: a 1-byte file round-trips", async () => {
  await using area = await serverWithArea();
  await using alice = await FileClient.connect(area.server, "alice");
  const payload = await roundTrip(alice, "one", fromBytes(new Uint8Array([0x0a])));
  assert.deepEqual(payload.bytes, new Uint8Array([0x0a]));
});

Deno.test("files: every byte value survives, newlines and protocol lines included", async () => {
  await using area = await serverWithArea();
  await using alice = await FileClient.connect(area.server, "alice");
  await using bob = await FileClient.connect(area.server, "bob");
  const bytes = new Uint8Array(256 * 4 + 64);
  for (let i = 0; i < 256 * 4; i++) bytes[i] = (i * 7) % 256;
  bytes.set(encoder.encode("\nMSG mallory * :hi\r\n:quit\nexit\n"), 256 * 4);
  const payload = await roundTrip(alice, "binary.bin", fromBytes(bytes));
  assert.deepEqual(payload.bytes, bytes);
  // Nothing of the payload leaked out as a message.
  assert.deepEqual(await bob.command(":ping"), ["OK ping"]);
  assert.deepEqual(bob.lines, []);
  const stored = await Deno.readFile(join(area.dir, "binary.bin"));
  assert.deepEqual(stored, bytes);
});

/**
 * Growth (MB) of this isolate's memory — JavaScript heap plus buffers — while `run` runs, at its
 * peak (sampled every 20 ms). Not the resident set: `deno test --parallel` runs other test files
 * in the same process, and their allocations would count.
 */
async function peakGrowth(run: () => Promise<void>): Promise<number> {
  const used = () => {
    const { heapUsed, external } = Deno.memoryUsage();
    return heapUsed + external;
  };
  const base = used();
  let peak = base;
  const timer = setInterval(() => peak = Math.max(peak, used()), 20);
  try {
    await run();
  } finally {
    clearInterval(timer);
  }
  return (Math.max(peak, used()) - base) / MiB;
}

async function largeRoundTrip(size: number, limitMb: number): Promise<void> {
  await using area = await serverWithArea();
  await using alice = await FileClient.connect(area.server, "alice");
  await using carol = await FileClient.connect(area.server, "carol");
  await using dave = await FileClient.connect(area.server, "dave");
  const data = generated(size);
  // Transfer speed is measured by the files-1g scenario of `deno task bench`, not here.
  const growth = await peakGrowth(async () => {
    await alice.upload(`:put big.bin ${size} ${data.sha256}`, data);
    assert.deepEqual(await alice.reply(60_000), ["OK put big.bin"]);
    await alice.send(":get big.bin");
    await alice.waitFor("FILE ");
    const payload = await alice.payload(120_000);
    assert.equal(await alice.nextLine(), "OK get big.bin");
    assert.equal(payload.sha256, data.sha256);
    // Chat between the others went on all along.
    await carol.send("still here");
    assert.equal(await dave.waitFor("MSG "), "MSG carol * :still here");
  });
  assert.ok(growth < limitMb, `memory grew by ${growth.toFixed(1)} MB`);
  assert.equal((await Deno.stat(join(area.dir, "big.bin"))).size, size);
}

Deno.test("files: 64 MiB round-trip with bounded memory", async () => {
  // Well under the file's size: the server never holds the file, nor a large part of it.
  await largeRoundTrip(64 * MiB, 32);
});

Deno.test({
  name: "files: 1 GiB round-trip with bounded memory (in CI, or with SWITCHBOARD_TEST_LARGE=1)",
  ignore: Deno.env.get("SWITCHBOARD_TEST_LARGE") !== "1" && Deno.env.get("CI") !== "true",
  async fn() {
    await largeRoundTrip(1024 * MiB, 100);
  },
});

Deno.test("files: concurrent uploads and downloads on several connections", async () => {
  await using area = await serverWithArea();
  const names = ["ann", "ben", "cat", "dan"];
  const clients = await Promise.all(names.map((name) => FileClient.connect(area.server, name)));
  try {
    const data = names.map(() => generated(3 * MiB + 123));
    await Promise.all(clients.map(async (client, i) => {
      await client.upload(`:put f${i}.bin ${data[i]!.size} ${data[i]!.sha256}`, data[i]!);
      assert.deepEqual(await client.reply(20_000), [`OK put f${i}.bin`]);
    }));
    // Each downloads everybody's file, all at once.
    await Promise.all(clients.map(async (client) => {
      for (let i = 0; i < names.length; i++) await client.send(`:get f${i}.bin`);
      for (let i = 0; i < names.length; i++) {
        assert.equal(
          await client.waitFor("FILE "),
          `FILE f${i}.bin ${data[i]!.size} ${data[i]!.sha256}`,
        );
        assert.equal((await client.payload(20_000)).sha256, data[i]!.sha256);
        assert.equal(await client.nextLine(), `OK get f${i}.bin`);
      }
    }));
  } finally {
    for (const client of clients) await client[Symbol.asyncDispose]();
  }
});

// ---------------------------------------------------------------------------------------------
// Integrity: nothing partial, nothing corrupted.

Deno.test("files: an upload cut mid-way leaves no file and no temporary file", async () => {
  await using area = await serverWithArea();
  await using bob = await FileClient.connect(area.server, "bob");
  const data = generated(4 * MiB);
  {
    await using alice = await FileClient.connect(area.server, "alice");
    await alice.send(`:put cut.bin ${data.size} ${data.sha256}`);
    const first = data.pieces()[Symbol.iterator]().next().value as Uint8Array;
    await alice.sendRaw(first.subarray(0, 1000));
    await bob.waitFor("MSG", 200).catch(() => {}); // let the server write the first bytes
  }
  await bob.waitFor("LEAVE alice");
  await eventually(() => listingNow(area.dir).length <= 1, LINE_TIMEOUT_MS, "upload removed");
  assert.deepEqual(await bob.command(":files"), ["OK files 0"]);
  const left = await listing(area.dir);
  assert.ok(left.every((name) => name === ".switchboard-files.json"), left.join(", "));
});

Deno.test("files: a shutdown in the middle of an upload leaves nothing behind", async () => {
  await using dir = await tempDir();
  const server = await startTestServer({ filesDir: dir.path });
  await using alice = await FileClient.connect(server, "alice");
  const data = generated(2 * MiB);
  await alice.send(`:put half.bin ${data.size} ${data.sha256}`);
  await alice.sendRaw(new Uint8Array(MiB));
  await eventually(() => listingNow(dir.path).length === 1, LINE_TIMEOUT_MS, "upload started");
  await server.shutdown({ grace: 0.5 });
  assert.match(await alice.waitFor("BYE "), /^BYE shutdown /);
  assert.deepEqual(listingNow(dir.path), []);
});

Deno.test("files: a wrong hash is refused after the bytes, nothing is kept, framing holds", async () => {
  await using area = await serverWithArea();
  await using alice = await FileClient.connect(area.server, "alice");
  const data = fromBytes(encoder.encode("twelve bytes"));
  await alice.upload(`:put x.txt ${data.size} ${"0".repeat(64)}`, data);
  assert.match((await alice.reply())[0]!, /^ERR bad-hash :the bytes received hash to [0-9a-f]{64}/);
  assert.deepEqual(await alice.command(":files"), ["OK files 0"]);
  assert.deepEqual(await listing(area.dir), []);
});

// ---------------------------------------------------------------------------------------------
// Refusals: before any byte is stored, with the payload read and dropped.

Deno.test("files: quotas refuse before storing anything, and the payload is skipped", async () => {
  await using area = await serverWithArea({ fileQuota: 1000, areaQuota: 1500 });
  await using alice = await FileClient.connect(area.server, "alice");
  const big = fromBytes(new Uint8Array(1001).fill(0x0a));
  await alice.upload(`:put big ${big.size} ${big.sha256}`, big);
  assert.deepEqual(await alice.reply(), ["ERR too-large :files are limited to 1000 bytes"]);
  const first = fromBytes(new Uint8Array(1000).fill(1));
  await alice.upload(`:put first ${first.size} ${first.sha256}`, first);
  assert.deepEqual(await alice.reply(), ["OK put first"]);
  const second = fromBytes(new Uint8Array(600).fill(0x3a));
  await alice.upload(`:put second ${second.size} ${second.sha256}`, second);
  assert.deepEqual(await alice.reply(), [
    "ERR area-full :the shared area has 500 of 1500 bytes free",
  ]);
  // The refused bytes (newlines and colons) were not taken as lines.
  assert.deepEqual(await alice.command(":files"), [
    `FILEINFO first 1000 ${first.sha256} alice ${(await fileTime(alice, "first"))}`,
    "OK files 1",
  ]);
  assert.deepEqual(await listing(area.dir), [".switchboard-files.json", "first"]);
});

const GiB = 1024 * MiB;

/**
 * Sends a payload command without its bytes, then closes the sending side: the first answer is
 * the refusal if the command was refused on its line, and `ERR incomplete` if it was accepted.
 */
async function announceOnly(
  server: Server | FileClient,
  name: string,
  line: string,
): Promise<string> {
  await using client = server instanceof FileClient
    ? server
    : await FileClient.connect(server, name);
  await client.send(line);
  await client.conn.closeWrite();
  return (await client.reply())[0]!;
}

Deno.test("files: by default a file of 1 GiB is taken and one byte more refused before any byte", async () => {
  await using area = await serverWithArea();
  await using bob = await FileClient.connect(area.server, "bob");
  const hash = "0".repeat(64);
  const refused = "ERR too-large :files are limited to 1073741824 bytes";
  assert.equal(await announceOnly(area.server, "user1", `:put big ${GiB + 1} ${hash}`), refused);
  assert.equal(await announceOnly(area.server, "user2", `:put big ${2 * GiB} ${hash}`), refused);
  assert.equal(
    await announceOnly(area.server, "user3", `:send bob big ${GiB + 1} ${hash}`),
    refused,
  );
  // Exactly the quota is accepted: the server waits for its bytes.
  assert.equal(
    await announceOnly(area.server, "user4", `:put exact ${GiB} ${hash}`),
    `ERR incomplete :the connection ended after 0 of ${GiB} bytes; nothing kept`,
  );
  assert.equal(
    await announceOnly(area.server, "user5", `:send bob exact ${GiB} ${hash}`),
    `ERR incomplete :the connection ended after 0 of ${GiB} bytes; nothing kept`,
  );
  assert.deepEqual(await listing(area.dir), []);
  assert.ok(!bob.lines.some((line) => line.startsWith("OFFER")));
});

Deno.test("files: a quota of 0 is no limit", async () => {
  await using area = await serverWithArea({ fileQuota: 0, spoolQuota: 0, spoolSenderQuota: 0 });
  await using _bob = await FileClient.connect(area.server, "bob");
  const hash = "0".repeat(64);
  for (
    const [i, line] of [`:put big ${8 * GiB} ${hash}`, `:send bob big ${8 * GiB} ${hash}`].entries()
  ) {
    assert.equal(
      await announceOnly(area.server, `user${i}`, line),
      `ERR incomplete :the connection ended after 0 of ${8 * GiB} bytes; nothing kept`,
    );
  }
});

async function fileTime(client: FileClient, name: string): Promise<string> {
  const lines = await client.command(":files");
  const line = lines.find((l) => l.startsWith(`FILEINFO ${name} `)) ?? "";
  const time = line.split(" ")[5] ?? "";
  assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  return time;
}

Deno.test("files: names with separators, dots, control characters or too long are refused", async () => {
  await using area = await serverWithArea();
  await using alice = await FileClient.connect(area.server, "alice");
  const data = fromBytes(encoder.encode("evil\n:quit\n"));
  const bad = [
    "../escape",
    "..",
    ".",
    ".hidden",
    "a/b",
    "a\\b",
    "/etc/passwd",
    "C:evil",
    "bell\x07",
    "trailing.",
    "x".repeat(129),
    "a*b",
    "rtl\u202eexe.txt",
  ];
  for (const name of bad) {
    await alice.upload(`:put ${name} ${data.size} ${data.sha256}`, data);
    assert.match((await alice.reply())[0]!, /^ERR bad-file-name :/, JSON.stringify(name));
  }
  await alice.upload(`:put ../../x ${data.size} ${data.sha256}`, data);
  assert.match((await alice.reply())[0]!, /^ERR bad-file-name /);
  assert.deepEqual(await alice.command(":get ../escape"), [
    "ERR no-such-file :there is no file ../escape",
  ]);
  assert.deepEqual(await alice.command(":files"), ["OK files 0"]);
  assert.deepEqual(await listing(area.dir), []);
  const parent = await listing(join(area.dir, ".."));
  assert.ok(!parent.includes("escape") && !parent.includes("x"));
  // Unicode names that follow the rules are fine.
  const payload = await roundTrip(alice, "résumé-日本.txt", data);
  assert.equal(payload.name, "résumé-日本.txt");
});

Deno.test("files: Windows device names, look-alike separators and invisible characters are refused", async () => {
  await using area = await serverWithArea();
  await using alice = await FileClient.connect(area.server, "alice");
  await using bob = await FileClient.connect(area.server, "bob");
  const data = fromBytes(encoder.encode("evil\n:quit\n"));
  const bad = [
    // Windows devices, any case, with or without an extension.
    "CON",
    "NUL",
    "AUX",
    "PRN",
    "COM1",
    "com0",
    "COM\u00b9",
    "LPT1.txt",
    "lpt9.log",
    "con.txt",
    "Nul.tar.gz",
    "CONIN$",
    "\uff23\uff2f\uff2e", // ＣＯＮ: CON once a "best fit" conversion has run
    // Characters drawn like / or \ (or : on Windows).
    "a\u2215b", // ∕ division slash
    "a\u2044b", // ⁄ fraction slash
    "\uff0e\uff0e\uff0fetc", // ．．／
    "\uff0e\uff0e", // ．．
    "a\uff0fb", // ／
    "a\uff3cb", // ＼
    "a\ufe68b", // ﹨
    "a\u29f8b", // ⧸
    "a\u2571b", // ╱
    "a\u2216b", // ∖
    "C\uff1aevil", // ：
    "a\u0338b", // combining long solidus overlay
    // Invisible characters.
    "zero\u200bwidth.txt",
    "join\u200d.txt",
    "nj\u200c.txt",
    "b\ufeffom.txt",
    "soft\u00adhyphen.txt",
    "word\u2060joiner.txt",
    "nbsp\u00a0.txt",
    "ideographic\u3000space",
    "filler\u3164.txt",
    "selector\ufe0f.txt",
    "lrm\u200e.txt",
    "isolate\u2066.txt",
  ];
  for (const name of bad) {
    await alice.upload(`:put ${name} ${data.size} ${data.sha256}`, data);
    assert.match((await alice.reply())[0]!, /^ERR bad-file-name :/, JSON.stringify(name));
    await alice.upload(`:send bob ${name} ${data.size} ${data.sha256}`, data);
    assert.match((await alice.reply())[0]!, /^ERR bad-file-name :/, JSON.stringify(name));
  }
  assert.match(
    (await alice.command(`:put NUL.txt 0 ${sha256(new Uint8Array(0))}`))[0]!,
    /^ERR bad-file-name :a file name cannot be a Windows device name/,
  );
  assert.deepEqual(await alice.command(":files"), ["OK files 0"]);
  assert.deepEqual(await listing(area.dir), []);
  assert.ok(!bob.lines.some((line) => line.startsWith("OFFER")));
  // Names that merely resemble those rules are fine.
  for (const name of ["con-notes.txt", "CONSOLE", "com10", "lpt.txt", "½-size.txt", "🎉.txt"]) {
    await alice.upload(`:put ${name} ${data.size} ${data.sha256}`, data);
    assert.deepEqual(await alice.reply(), [`OK put ${name}`], name);
  }
});

Deno.test("files: names are stored in NFC, so café.txt in NFD is the same file", async () => {
  await using area = await serverWithArea();
  await using alice = await FileClient.connect(area.server, "alice");
  await using bob = await FileClient.connect(area.server, "bob");
  const nfc = "caf\u00e9.txt";
  const nfd = "cafe\u0301.txt";
  assert.notEqual(nfc, nfd);
  const data = fromBytes(encoder.encode("un café"));
  await alice.upload(`:put ${nfc} ${data.size} ${data.sha256}`, data);
  assert.deepEqual(await alice.reply(), [`OK put ${nfc}`]);
  await alice.upload(`:put ${nfd} ${data.size} ${data.sha256}`, data);
  assert.deepEqual(await alice.reply(), [`ERR file-exists :${nfc} exists; :rm it first`]);
  // A name sent in NFD is stored, listed and confirmed in NFC, and found in either form.
  const nfdOnly = "nai\u0308ve.txt";
  await alice.upload(`:put ${nfdOnly} ${data.size} ${data.sha256}`, data);
  assert.deepEqual(await alice.reply(), ["OK put na\u00efve.txt"]);
  assert.deepEqual(await listing(area.dir), [
    ".switchboard-files.json",
    nfc,
    "na\u00efve.txt",
  ]);
  await alice.send(`:get ${nfd}`);
  assert.equal(await alice.waitFor("FILE "), `FILE ${nfc} ${data.size} ${data.sha256}`);
  await alice.payload();
  assert.equal(await alice.nextLine(), `OK get ${nfc}`);
  assert.deepEqual(await alice.command(`:rm ${nfdOnly}`), ["OK rm na\u00efve.txt"]);
  assert.deepEqual(await alice.command(":files"), [
    `FILEINFO ${nfc} ${data.size} ${data.sha256} alice ${await fileTime(alice, nfc)}`,
    "OK files 1",
  ]);
  // An offer carries the NFC name too.
  await alice.upload(`:send bob ${nfd} ${data.size} ${data.sha256}`, data);
  assert.deepEqual(await alice.reply(), ["OK send 1 1"]);
  assert.equal(await bob.waitFor("OFFER "), `OFFER 1 alice bob ${nfc} ${data.size} ${data.sha256}`);
});

Deno.test("files: :get of a missing file, and a name that exists in another case", async () => {
  await using area = await serverWithArea();
  await using alice = await FileClient.connect(area.server, "alice");
  assert.deepEqual(await alice.command(":get nothing.txt"), [
    "ERR no-such-file :there is no file nothing.txt",
  ]);
  const data = fromBytes(encoder.encode("hello"));
  await roundTrip(alice, "Hello.txt", data);
  await alice.upload(`:put HELLO.TXT ${data.size} ${data.sha256}`, data);
  assert.deepEqual(await alice.reply(), ["ERR file-exists :Hello.txt exists; :rm it first"]);
  await alice.send(":get hello.txt");
  assert.equal(await alice.waitFor("FILE "), `FILE Hello.txt 5 ${data.sha256}`);
  await alice.payload();
  assert.equal(await alice.nextLine(), "OK get Hello.txt");
});

Deno.test("files: without --files-dir the area is off and a payload is still skipped", async () => {
  await using server = await startTestServer();
  await using alice = await FileClient.connect(server, "alice");
  const data = fromBytes(encoder.encode(":kick bob\n"));
  await alice.upload(`:put a ${data.size} ${data.sha256}`, data);
  assert.match((await alice.reply())[0]!, /^ERR disabled :/);
  assert.match((await alice.command(":get a"))[0]!, /^ERR disabled :/);
  assert.match((await alice.command(":files"))[0]!, /^ERR disabled :/);
  assert.deepEqual(await alice.command(":ping"), ["OK ping"]);
});

Deno.test("files: refusals before the command runs (no name yet) still skip the payload", async () => {
  await using area = await serverWithArea();
  await using client = await FileClient.open(area.server);
  await client.waitFor("HELLO ");
  const data = fromBytes(encoder.encode("mallory\n"));
  await client.upload(`:put a ${data.size} ${data.sha256}`, data);
  assert.deepEqual(await client.reply(), ["ERR not-registered :send your name first"]);
  // "mallory" was payload, not a name: the next line is.
  await client.send("alice");
  assert.match(await client.nextLine(), /^WELCOME alice /);
});

Deno.test("files: a size that is not a number announces no payload", async () => {
  await using area = await serverWithArea();
  await using alice = await FileClient.connect(area.server, "alice");
  assert.match((await alice.command(`:put a lots ${"0".repeat(64)}`))[0]!, /^ERR bad-args :/);
  assert.deepEqual(await alice.command(":ping"), ["OK ping"]);
  // A malformed hash with a readable size: the bytes are skipped.
  await alice.upload(":put a 6 nothex", fromBytes(encoder.encode(":ping\n")));
  assert.match((await alice.reply())[0]!, /^ERR bad-args :usage: :put/);
  assert.deepEqual(await alice.command(":ping"), ["OK ping"]);
});

Deno.test("files: :rm is for the uploader or an admin", async () => {
  await using area = await serverWithArea({ adminToken: "admin-token-123" });
  await using alice = await FileClient.connect(area.server, "alice");
  await using bob = await FileClient.connect(area.server, "bob");
  const data = fromBytes(encoder.encode("mine"));
  for (const name of ["a.txt", "b.txt"]) {
    await alice.upload(`:put ${name} ${data.size} ${data.sha256}`, data);
    assert.deepEqual(await alice.reply(), [`OK put ${name}`]);
  }
  assert.deepEqual(await bob.command(":rm a.txt"), [
    "ERR not-allowed :only alice or an admin may remove it",
  ]);
  assert.deepEqual(await alice.command(":rm A.TXT"), ["OK rm a.txt"]);
  assert.deepEqual(await bob.command(":auth admin-token-123"), ["OK auth admin"]);
  assert.deepEqual(await bob.command(":rm b.txt"), ["OK rm b.txt"]);
  assert.deepEqual(await bob.command(":rm b.txt"), ["ERR no-such-file :there is no file b.txt"]);
  assert.deepEqual(await listing(area.dir), [".switchboard-files.json"]);
});

Deno.test("files: uploader and time survive a restart; files copied in are listed too", async () => {
  await using dir = await tempDir();
  const data = fromBytes(encoder.encode("persistent"));
  let time: string;
  {
    await using server = await startTestServer({ filesDir: dir.path });
    await using alice = await FileClient.connect(server, "alice");
    await alice.upload(`:put kept.txt ${data.size} ${data.sha256}`, data);
    assert.deepEqual(await alice.reply(), ["OK put kept.txt"]);
    time = await fileTime(alice, "kept.txt");
  }
  await Deno.writeTextFile(join(dir.path, "copied.txt"), "by hand");
  await Deno.writeTextFile(join(dir.path, ".upload-crashed.part"), "junk");
  await using server = await startTestServer({ filesDir: dir.path });
  await using bob = await FileClient.connect(server, "bob");
  const lines = await bob.command(":files");
  assert.equal(lines.length, 3);
  assert.match(
    lines[0]!,
    new RegExp(`^FILEINFO copied.txt 7 ${sha256(encoder.encode("by hand"))} - \\S+$`),
  );
  assert.equal(lines[1], `FILEINFO kept.txt 10 ${data.sha256} alice ${time}`);
  assert.equal(lines[2], "OK files 2");
  assert.deepEqual(await listing(dir.path), [".switchboard-files.json", "copied.txt", "kept.txt"]);
});

// ---------------------------------------------------------------------------------------------
// Downloads and the rest of the connection.

Deno.test("files: lines for a downloading client wait until its payload is complete", async () => {
  await using area = await serverWithArea();
  await using alice = await FileClient.connect(area.server, "alice");
  await using bob = await FileClient.connect(area.server, "bob");
  const data = generated(8 * MiB);
  await alice.upload(`:put big.bin ${data.size} ${data.sha256}`, data);
  assert.deepEqual(await alice.reply(), ["OK put big.bin"]);
  bob.pause();
  await bob.send(":get big.bin");
  await new Promise((resolve) => setTimeout(resolve, 100)); // the download is under way, stalled
  await alice.send("hello during the download");
  assert.deepEqual(await alice.command(":pm bob psst"), ["OK pm bob"]);
  bob.resume();
  assert.equal((await bob.payload()).sha256, data.sha256);
  await bob.waitFor("PM ");
  const tail = bob.transcript.slice(bob.transcript.indexOf("<payload>") - 1);
  assert.deepEqual(tail, [
    `FILE big.bin ${data.size} ${data.sha256}`,
    "<payload>",
    "OK get big.bin",
    "MSG alice * :hello during the download",
    "PM alice :psst",
  ]);
});

Deno.test("files: a stalled download blocks nobody else, and upload chat goes on mid-payload", async () => {
  await using area = await serverWithArea();
  await using alice = await FileClient.connect(area.server, "alice");
  await using bob = await FileClient.connect(area.server, "bob");
  await using carol = await FileClient.connect(area.server, "carol");
  const data = generated(8 * MiB);
  // An upload in the middle of its payload…
  await alice.send(`:put big.bin ${data.size} ${data.sha256}`);
  const pieces = Array.from(data.pieces(), (piece) => piece.slice());
  for (const piece of pieces.slice(0, 4)) await alice.sendRaw(piece);
  await carol.send("while alice uploads");
  assert.equal(await bob.waitFor("MSG "), "MSG carol * :while alice uploads");
  for (const piece of pieces.slice(4)) await alice.sendRaw(piece);
  assert.equal(await alice.waitFor("OK "), "OK put big.bin");
  // … and a download its client does not read.
  bob.pause();
  await bob.send(":get big.bin");
  await new Promise((resolve) => setTimeout(resolve, 100));
  for (let i = 0; i < 20; i++) {
    await carol.send(`message ${i}`);
    assert.equal(await alice.waitFor("MSG "), `MSG carol * :message ${i}`);
  }
  bob.resume();
  assert.equal((await bob.payload()).sha256, data.sha256);
});

Deno.test("files: a downloader that stops reading is cut as a slow consumer", async () => {
  await using area = await serverWithArea({ writeDeadline: 0.3 });
  await using alice = await FileClient.connect(area.server, "alice");
  await using bob = await FileClient.connect(area.server, "bob");
  const data = generated(16 * MiB);
  await alice.upload(`:put big.bin ${data.size} ${data.sha256}`, data);
  assert.deepEqual(await alice.reply(), ["OK put big.bin"]);
  bob.pause();
  await bob.send(":get big.bin");
  assert.equal(await alice.waitFor("LEAVE bob"), "LEAVE bob slow-consumer");
  bob.resume();
  await bob.closed();
  assert.equal(bob.payloads.length, 0);
  assert.deepEqual(await alice.command(":ping"), ["OK ping"]);
});

// ---------------------------------------------------------------------------------------------
// Direct transfers.

Deno.test("send: a user gets an OFFER, accepts it, and the sender a RECEIPT", async () => {
  await using spool = await tempDir("switchboard-spool-");
  await using server = await startTestServer({ spoolDir: spool.path });
  await using alice = await FileClient.connect(server, "alice");
  await using bob = await FileClient.connect(server, "bob");
  const bytes = new Uint8Array(70_000).map((_, i) => i % 251);
  const data = fromBytes(bytes);
  await alice.upload(`:send bob photo.jpg ${data.size} ${data.sha256}`, data);
  assert.deepEqual(await alice.reply(), ["OK send 1 1"]);
  assert.equal(await bob.waitFor("OFFER "), `OFFER 1 alice bob photo.jpg 70000 ${data.sha256}`);
  await bob.send(":accept 1");
  assert.equal(await bob.waitFor("FILE "), `FILE photo.jpg 70000 ${data.sha256}`);
  assert.deepEqual((await bob.payload()).bytes, bytes);
  assert.equal(await bob.nextLine(), "OK accept 1");
  assert.equal(await alice.waitFor("RECEIPT "), "RECEIPT 1 bob delivered");
  assert.deepEqual(await bob.command(":accept 1"), [
    "ERR no-such-offer :there is no offer 1 for you (expired?)",
  ]);
  await eventually(() => listingNow(spool.path).length === 0, LINE_TIMEOUT_MS, "spool empty");
});

Deno.test("send: a group offer; one member declines, one accepts, outsiders cannot", async () => {
  await using spool = await tempDir("switchboard-spool-");
  await using server = await startTestServer({ spoolDir: spool.path });
  await using alice = await FileClient.connect(server, "alice");
  await using bob = await FileClient.connect(server, "bob");
  await using carol = await FileClient.connect(server, "carol");
  await using dave = await FileClient.connect(server, "dave");
  await alice.command(":group create team");
  await bob.command(":group join team");
  await carol.command(":group join team");
  const data = fromBytes(encoder.encode("for the team"));
  await dave.upload(`:send #team notes.txt ${data.size} ${data.sha256}`, data);
  assert.deepEqual(await dave.reply(), ["ERR not-allowed :you are not a member of #team"]);
  await alice.upload(`:send #team notes.txt ${data.size} ${data.sha256}`, data);
  assert.deepEqual(await alice.reply(), ["OK send 1 2"]);
  const offer = `OFFER 1 alice #team notes.txt ${data.size} ${data.sha256}`;
  assert.equal(await bob.waitFor("OFFER "), offer);
  assert.equal(await carol.waitFor("OFFER "), offer);
  assert.match((await dave.command(":accept 1"))[0]!, /^ERR no-such-offer /);
  assert.deepEqual(await carol.command(":decline 1"), ["OK decline 1"]);
  assert.equal(await alice.waitFor("RECEIPT "), "RECEIPT 1 carol declined");
  assert.equal((await listing(spool.path)).length, 1);
  await bob.send(":accept 1");
  assert.deepEqual((await bob.payload()).bytes, encoder.encode("for the team"));
  assert.equal(await alice.waitFor("RECEIPT "), "RECEIPT 1 bob delivered");
  await eventually(() => listingNow(spool.path).length === 0, LINE_TIMEOUT_MS, "spool empty");
});

Deno.test("send: refusals skip the payload; a wrong hash offers nothing", async () => {
  await using spool = await tempDir("switchboard-spool-");
  await using server = await startTestServer({ spoolDir: spool.path, fileQuota: 100 });
  await using alice = await FileClient.connect(server, "alice");
  await using bob = await FileClient.connect(server, "bob");
  const data = fromBytes(encoder.encode(":quit\n"));
  const refusals: [string, RegExp][] = [
    [`:send nobody a.txt`, /^ERR no-such-user :/],
    [`:send alice a.txt`, /^ERR bad-args :you cannot send a file to yourself/],
    [`:send #nogroup a.txt`, /^ERR no-such-group :/],
    [`:send bob ../a.txt`, /^ERR bad-file-name :/],
  ];
  for (const [start, expected] of refusals) {
    await alice.upload(`${start} ${data.size} ${data.sha256}`, data);
    assert.match((await alice.reply())[0]!, expected);
  }
  const big = fromBytes(new Uint8Array(101));
  await alice.upload(`:send bob big ${big.size} ${big.sha256}`, big);
  assert.deepEqual(await alice.reply(), ["ERR too-large :files are limited to 100 bytes"]);
  await alice.upload(`:send bob a.txt ${data.size} ${"f".repeat(64)}`, data);
  assert.match((await alice.reply())[0]!, /^ERR bad-hash :/);
  assert.deepEqual(await bob.command(":ping"), ["OK ping"]);
  assert.ok(!bob.lines.some((line) => line.startsWith("OFFER")));
  assert.deepEqual(await listing(spool.path), []);
});

Deno.test("send: an offer expires, and a recipient who leaves ends theirs", async () => {
  await using spool = await tempDir("switchboard-spool-");
  await using server = await startTestServer({ spoolDir: spool.path, offerTimeout: 0.3 });
  await using alice = await FileClient.connect(server, "alice");
  await using bob = await FileClient.connect(server, "bob");
  const data = fromBytes(encoder.encode("soon gone"));
  await alice.upload(`:send bob a.txt ${data.size} ${data.sha256}`, data);
  assert.deepEqual(await alice.reply(), ["OK send 1 1"]);
  assert.equal(await alice.waitFor("RECEIPT "), "RECEIPT 1 bob expired");
  await bob.waitFor("OFFER 1 ");
  assert.match((await bob.command(":accept 1"))[0]!, /^ERR no-such-offer /);
  {
    await using carol = await FileClient.connect(server, "carol");
    await alice.upload(`:send carol b.txt ${data.size} ${data.sha256}`, data);
    assert.deepEqual(await alice.reply(), ["OK send 2 1"]);
    await carol.waitFor("OFFER 2 ");
  }
  assert.equal(await alice.waitFor("RECEIPT "), "RECEIPT 2 carol left");
  await eventually(() => listingNow(spool.path).length === 0, LINE_TIMEOUT_MS, "spool empty");
});

Deno.test("send: by default the spool holds 4 GiB at most, 1 GiB per sender, before any byte", async () => {
  await using spool = await tempDir("switchboard-spool-");
  await using server = await startTestServer({ spoolDir: spool.path });
  await using _bob = await FileClient.connect(server, "bob");
  const hash = "0".repeat(64);
  // alice has 10 bytes waiting for bob (who never answers): 1 GiB more is too much for her…
  await using alice = await FileClient.connect(server, "alice");
  const small = fromBytes(encoder.encode("0123456789"));
  await alice.upload(`:send bob small.txt ${small.size} ${small.sha256}`, small);
  assert.deepEqual(await alice.reply(), ["OK send 1 1"]);
  assert.equal(
    await announceOnly(alice, "alice", `:send bob big ${GiB} ${hash}`),
    "ERR spool-full :you have 10 bytes waiting for recipients; a sender may have at most " +
      "1073741824 (wait for :accept or :decline, or for offers to expire)",
  );
  // … and with 3 uploads of 1 GiB under way from others, the spool is full for anyone.
  const senders = await Promise.all(
    ["s1", "s2", "s3"].map((name) => FileClient.connect(server, name)),
  );
  try {
    for (const sender of senders) await sender.send(`:send bob big ${GiB} ${hash}`);
    await eventually(() => listingNow(spool.path).length === 4, LINE_TIMEOUT_MS, "uploads begun");
    const free = 4 * GiB - 3 * GiB - 10;
    assert.equal(
      await announceOnly(server, "carol", `:send bob big ${free + 1} ${hash}`),
      `ERR spool-full :the spool has ${free} of ${4 * GiB} bytes free; try again later`,
    );
    assert.equal(
      await announceOnly(server, "dave", `:send bob fits ${free} ${hash}`),
      `ERR incomplete :the connection ended after 0 of ${free} bytes; nothing kept`,
    );
  } finally {
    for (const sender of senders) await sender[Symbol.asyncDispose]();
  }
  // The broken uploads give their space back (once their files are gone).
  let answer = "";
  for (let attempt = 0; attempt < 100; attempt++) {
    answer = await announceOnly(server, `erin${attempt}`, `:send bob big ${GiB} ${hash}`);
    if (!answer.startsWith("ERR spool-full")) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(
    answer,
    `ERR incomplete :the connection ended after 0 of ${GiB} bytes; nothing kept`,
  );
});

Deno.test("send: a sender's waiting bytes count against that sender until the offer ends", async () => {
  await using spool = await tempDir("switchboard-spool-");
  await using server = await startTestServer({
    spoolDir: spool.path,
    spoolSenderQuota: 1000,
    spoolQuota: 2000,
  });
  await using bob = await FileClient.connect(server, "bob");
  const data = fromBytes(new Uint8Array(600).fill(0x0a));
  const sendFile = async (client: FileClient, name: string) => {
    await client.upload(`:send bob ${name} ${data.size} ${data.sha256}`, data);
    return (await client.reply())[0]!;
  };
  const senderFull = (waiting: number) =>
    `ERR spool-full :you have ${waiting} bytes waiting for recipients; a sender may have at most ` +
    "1000 (wait for :accept or :decline, or for offers to expire)";
  {
    await using alice = await FileClient.connect(server, "alice");
    assert.equal(await sendFile(alice, "a1"), "OK send 1 1");
    assert.equal(await sendFile(alice, "a2"), senderFull(600));
    // Other senders are not held up by alice.
    await using carol = await FileClient.connect(server, "carol");
    assert.equal(await sendFile(carol, "c1"), "OK send 2 1");
    await using dave = await FileClient.connect(server, "dave");
    assert.equal(await sendFile(dave, "d1"), "OK send 3 1");
    assert.equal(
      await sendFile(carol, "c2"),
      senderFull(600),
    );
    await using erin = await FileClient.connect(server, "erin");
    assert.equal(
      await sendFile(erin, "e1"),
      "ERR spool-full :the spool has 200 of 2000 bytes free; try again later",
    );
    // A new name does not clear what alice has waiting…
    assert.deepEqual(await alice.command(":name alicia"), ["NICK alice alicia", "OK name alicia"]);
    assert.equal(await sendFile(alice, "a2"), senderFull(600));
  }
  // … nor does leaving and coming back.
  await using alicia = await FileClient.connect(server, "alicia");
  assert.equal(await sendFile(alicia, "a2"), senderFull(600));
  // Once bob declines, the bytes are no longer waiting.
  await bob.waitFor("OFFER 1 ");
  assert.equal((await bob.command(":decline 1")).at(-1), "OK decline 1");
  assert.equal(await sendFile(alicia, "a2"), "OK send 4 1");
  assert.equal((await listing(spool.path)).length, 3);
});
