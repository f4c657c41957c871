/**
 * Property-based tests against a real server over TCP (issue 14): random byte streams, random
 * chunkings of one stream, hostile clients interleaved with well-behaved ones, and sized payloads
 * that lie about their size. Each property shares one server between its cases and checks the
 * server's state between them. `SWITCHBOARD_FUZZ_RUNS` sets the total number of cases (default
 * 500); a failure prints its seed and the command that replays it.
 * @module
 */

import fc from "fast-check";
import assert from "node:assert/strict";
import { concat } from "./_byte_lines.ts";
import { connect, eventually, hangGuard, startTestServer } from "./_helpers.ts";
import {
  byteStream,
  CHAOS_NAMES,
  chunking,
  cut,
  FUZZ_MAX_LINE_BYTES,
  fuzzParameters,
  type Op,
  op,
  payloadOps,
  RawPeer,
  render,
} from "./_fuzz.ts";
import type { Server } from "../core/server/server.ts";
import type { ServerOptions } from "../core/config/options.ts";

const encoder = new TextEncoder();
/** A generous bound for one client's script to be handled; a hang guard, not a speed claim. */
const CASE_MS = 15_000;
/** Growth of the test process's RSS over one property that would mean a leak, not noise. */
const RSS_GROWTH_LIMIT = 512 * 1024 * 1024;

/** One server with two well-behaved clients registered before any chaos. */
class Arena implements AsyncDisposable {
  readonly pm = { next: 1 };
  caseNo = 0;
  #fresh = 0;
  readonly #rssAtStart = Deno.memoryUsage().rss;

  private constructor(
    readonly server: Server,
    readonly observer: RawPeer,
    readonly sender: RawPeer,
    readonly dir: string | undefined,
  ) {}

  static async open(options: ServerOptions & { withFiles?: boolean } = {}): Promise<Arena> {
    const { withFiles, ...serverOptions } = options;
    const dir = withFiles ? await Deno.makeTempDir({ prefix: "switchboard-fuzz-" }) : undefined;
    if (dir !== undefined) {
      await Deno.mkdir(`${dir}/area`);
      await Deno.mkdir(`${dir}/spool`);
    }
    const server = await startTestServer({
      maxLineBytes: FUZZ_MAX_LINE_BYTES,
      // Cases share one server and one address: with the :auth lockout on, earlier cases' wrong
      // tokens would change later cases' replies (tests/lockout_test.ts covers the lockout).
      authMaxFailures: 0,
      ...(dir === undefined ? {} : { filesDir: `${dir}/area`, spoolDir: `${dir}/spool` }),
      ...serverOptions,
    });
    const observer = await RawPeer.open(server.addr.port);
    const sender = await RawPeer.open(server.addr.port);
    for (const [peer, name] of [[observer, "observer"], [sender, "sender"]] as const) {
      await peer.write(encoder.encode(`${name}\n`));
      await peer.waitForLine((line) => line.startsWith(`WELCOME ${name} `), CASE_MS);
    }
    return new Arena(server, observer, sender, dir);
  }

  /** Runs one client: connect, write `bytes` cut into `sizes`, close the sending side, read to the end. */
  async client(bytes: Uint8Array, sizes: readonly number[]): Promise<RawPeer> {
    const peer = await RawPeer.open(this.server.addr.port);
    peer.conn.setNoDelay(true);
    for (const piece of cut(bytes, sizes)) if (!(await peer.write(piece))) break;
    await peer.closeWrite();
    await hangGuard(peer.ended, CASE_MS, "the server did not end a client whose input ended");
    peer.conn.close();
    return peer;
  }

  /**
   * The checks between cases: every chaos connection is gone and took its groups with it, no
   * queue is backed up, the two well-behaved clients heard only valid lines, and a fresh client
   * can still connect and register.
   */
  async settle(peers: readonly RawPeer[]): Promise<void> {
    for (const peer of peers) assert.deepEqual(peer.problems, [], "a client got invalid lines");
    await eventually(
      () => {
        const stats = this.server.stats();
        return stats.connections === 2 && stats.online === 2 && stats.groups === 0 &&
          stats.backedUp === 0;
      },
      CASE_MS,
      `connections back to the two well-behaved ones (${JSON.stringify(this.server.stats())})`,
    );
    const name = `fresh${++this.#fresh}`;
    await using fresh = await connect(this.server, name);
    await fresh.send(":quit");
    await fresh.closed();
    await eventually(() => this.server.stats().connections === 2, CASE_MS, "fresh client gone");
    for (const peer of [this.observer, this.sender]) {
      // A round trip: once its reply is in, every line queued for the peer before it is too.
      const from = peer.lines.length;
      assert.ok(await peer.write(encoder.encode(":ping\n")), "a well-behaved client was cut");
      await peer.waitForLine((line) => line === "OK ping", CASE_MS, from);
      // Taken, not just read: a later case must not fail (and be shrunk) for this one's problems.
      assert.deepEqual(peer.problems.splice(0), [], "a well-behaved client got invalid lines");
    }
  }

  /** A coarse leak check over the whole property: the process did not grow by hundreds of MiB. */
  checkMemory(): void {
    const growth = Deno.memoryUsage().rss - this.#rssAtStart;
    assert.ok(growth < RSS_GROWTH_LIMIT, `RSS grew by ${growth} bytes`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.observer[Symbol.asyncDispose]();
    await this.sender[Symbol.asyncDispose]();
    await this.server.shutdown();
    if (this.dir !== undefined) await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** Fails if a peer got a traced PM meant for someone else (or before it had a name). */
function checkPrivateMessages(peer: RawPeer, label: string): void {
  let name: string | undefined;
  for (const line of peer.lines) {
    const welcome = /^WELCOME (\S+) /.exec(line);
    if (welcome) name = welcome[1]!.toLowerCase();
    const token = /^PM \S+ :tok\d+for(\S+)$/.exec(line);
    if (token && token[1] !== name) {
      assert.fail(`${label} (named ${name}) got a PM for ${token[1]}: ${line}`);
    }
  }
}

/**
 * Runs chaos clients and the numbered sender at once, then checks that the observer got every
 * numbered line in order, and that every PM reached only its addressee.
 */
async function chaosCase(
  arena: Arena,
  clients: readonly { ops: readonly Op[]; sizes: readonly number[] }[],
  numbered: number,
): Promise<void> {
  const caseNo = ++arena.caseNo;
  const from = arena.observer.lines.length;
  const senderFrom = arena.sender.lines.length;
  const scripts = await Promise.all(clients.map(({ ops }) => render(ops, arena.pm)));
  const expected = Array.from(
    { length: numbered },
    (_, i) => `MSG sender * :seq ${caseNo} ${i + 1}`,
  );
  const sending = (async () => {
    for (let i = 1; i <= numbered; i++) {
      assert.ok(await arena.sender.write(encoder.encode(`seq ${caseNo} ${i}\n`)));
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  })();
  const peers = await Promise.all(
    clients.map(({ sizes }, i) => arena.client(scripts[i]!, sizes)),
  );
  await sending;
  await arena.sender.write(encoder.encode(`end ${caseNo}\n`));
  const end = await arena.observer.waitForLine(
    (line) => line === `MSG sender * :end ${caseNo}`,
    CASE_MS,
    from,
  );
  const got = arena.observer.lines.slice(from, end).filter((line) =>
    line.startsWith("MSG sender * :")
  );
  assert.deepEqual(got, expected, "the observer missed or reordered the sender's lines");
  peers.forEach((peer, i) => checkPrivateMessages(peer, `chaos client ${i}`));
  checkPrivateMessages(arena.observer, "observer");
  checkPrivateMessages(arena.sender, "sender");
  // The sender's lobby lines were all taken: no ERR for any of them.
  assert.deepEqual(
    arena.sender.lines.slice(senderFrom).filter((line) => line.startsWith("ERR ")),
    [],
  );
  await arena.settle(peers);
}

/** A name, or none (a client that never registers). */
const maybeName = fc.option(fc.constantFrom(...CHAOS_NAMES), { nil: undefined });
const named = (name: string | undefined, ops: readonly Op[]): Op[] =>
  name === undefined ? [...ops] : [{ kind: "line", text: name }, ...ops];

async function assertProperty<T extends unknown[]>(
  testName: string,
  share: number,
  property: fc.IAsyncProperty<T>,
): Promise<void> {
  const parameters = fuzzParameters(share, testName);
  await fc.assert(property, parameters);
}

Deno.test("fuzz: random byte streams, cut at random, never break the server or its lines", async () => {
  const name = "fuzz: random byte streams, cut at random, never break the server or its lines";
  await using arena = await Arena.open();
  await assertProperty(
    name,
    0.35,
    fc.asyncProperty(maybeName, byteStream, chunking, async (who, bytes, sizes) => {
      const start = who === undefined ? new Uint8Array(0) : encoder.encode(`${who}\n`);
      const peer = await arena.client(concat([start, bytes]), sizes);
      await arena.settle([peer]);
    }),
  );
  arena.checkMemory();
});

Deno.test("fuzz: a stream gets the same replies however it is cut, down to one byte per write", async () => {
  const name = "fuzz: a stream gets the same replies however it is cut, down to one byte per write";
  await using arena = await Arena.open();
  // `:send` is left out: its offer numbers differ from one run to the next.
  const noSend = op.filter((step) => !(step.kind === "payload" && step.verb === "send"));
  await assertProperty(
    name,
    0.25,
    fc.asyncProperty(
      fc.constantFrom(...CHAOS_NAMES),
      fc.array(noSend, { maxLength: 12 }),
      chunking,
      async (who, ops, sizes) => {
        const bytes = await render(named(who, ops), arena.pm);
        const whole = await arena.client(bytes, [bytes.length]);
        await arena.settle([whole]);
        const pieces = await arena.client(bytes, sizes);
        await arena.settle([pieces]);
        // Each registration gets its own random session token; everything else must match.
        const sameTokens = (lines: readonly string[]) =>
          lines.map((line) => line.replace(/^SESSION \S+$/, "SESSION <token>"));
        assert.deepEqual(sameTokens(pieces.lines), sameTokens(whole.lines));
      },
    ),
  );
  arena.checkMemory();
});

Deno.test("fuzz: hostile clients interleaved with well-behaved ones lose nobody's messages", async () => {
  const name = "fuzz: hostile clients interleaved with well-behaved ones lose nobody's messages";
  await using arena = await Arena.open({ withFiles: true });
  const client = fc.record({
    who: maybeName,
    ops: fc.array(op, { maxLength: 10 }),
    sizes: chunking,
  })
    .map(({ who, ops, sizes }) => ({ ops: named(who, ops), sizes }));
  await assertProperty(
    name,
    0.25,
    fc.asyncProperty(
      fc.array(client, { minLength: 1, maxLength: 4 }),
      fc.nat({ max: 20 }),
      (clients, numbered) => chaosCase(arena, clients, numbered),
    ),
  );
  arena.checkMemory();
});

Deno.test("fuzz: sized payloads that lie about their size keep the framing and the server whole", async () => {
  const name =
    "fuzz: sized payloads that lie about their size keep the framing and the server whole";
  await using arena = await Arena.open({ withFiles: true });
  const client = fc.record({ who: maybeName, ops: payloadOps, sizes: chunking })
    .map(({ who, ops, sizes }) => ({ ops: named(who, ops), sizes }));
  await assertProperty(
    name,
    0.15,
    fc.asyncProperty(
      fc.array(client, { minLength: 1, maxLength: 3 }),
      fc.nat({ max: 10 }),
      (clients, numbered) => chaosCase(arena, clients, numbered),
    ),
  );
  arena.checkMemory();
});
