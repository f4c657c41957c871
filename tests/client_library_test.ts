import assert from "node:assert/strict";
import { connect, startTestServer } from "./_helpers.ts";
import { until } from "./client_harness.ts";
import { SwitchboardClient } from "../core/client/client.ts";
import type { ReceivedLine } from "../core/client/events.ts";
import { fixedBackoff } from "../core/client/backoff.ts";
import { ConnectError } from "../core/client/errors.ts";
import type { Dialer } from "../core/client/link.ts";
import type { ByteStream } from "../core/net/stream.ts";
import { dialTcp } from "../core/net/tcp.ts";

const encoder = new TextEncoder();

/** Fast reconnects for tests. */
const QUICK = {
  reconnectInterval: 0.05,
  backoff: fixedBackoff(50, { jitter: 0 }),
  connectTimeout: 1,
};

/** A TCP relay in front of a server whose connections can be cut like a network failure (no BYE). */
class Relay implements AsyncDisposable {
  readonly listener: Deno.TcpListener;
  readonly #conns = new Set<Deno.TcpConn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #accepting: Promise<void>;

  constructor(targetPort: number) {
    this.listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept(targetPort);
  }

  get port(): number {
    return this.listener.addr.port;
  }

  /** Closes every relayed connection at once, in both directions. */
  cut(): void {
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // Closed by the other side.
      }
    }
    this.#conns.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.listener.close();
    await this.#accepting;
    this.cut();
    await Promise.all(this.#tasks);
  }

  async #accept(targetPort: number): Promise<void> {
    for (;;) {
      let client: Deno.TcpConn;
      try {
        client = await this.listener.accept();
      } catch {
        return;
      }
      const server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      this.#conns.add(client);
      this.#conns.add(server);
      for (const [from, to] of [[client, server], [server, client]] as const) {
        const task = this.#pipe(from, to);
        this.#tasks.add(task);
        task.finally(() => this.#tasks.delete(task));
      }
    }
  }

  async #pipe(from: Deno.TcpConn, to: Deno.TcpConn): Promise<void> {
    const buffer = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const count = await from.read(buffer);
        if (count === null) break;
        for (let offset = 0; offset < count;) {
          offset += await to.write(buffer.subarray(offset, count));
        }
      }
    } catch {
      // Cut.
    }
    for (const conn of [from, to]) {
      if (!this.#conns.delete(conn)) continue;
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
  }
}

function record(client: SwitchboardClient): ReceivedLine[] {
  const received: ReceivedLine[] = [];
  client.on("line", (line) => received.push(line));
  return received;
}

Deno.test("library: a command's data lines and final line come back together as its answer", async () => {
  await using server = await startTestServer();
  await using _bob = await connect(server, "bob");
  await using client = await SwitchboardClient.connect({ port: server.addr.port });
  assert.equal(client.mode, "chat");
  assert.deepEqual(await client.register("alice"), {
    ok: true,
    welcome: {
      type: "welcome",
      name: "alice",
      online: 2,
      text: "Hello alice! 2 online. Type :help for commands",
      line: "WELCOME alice 2 :Hello alice! 2 online. Type :help for commands",
    },
  });
  const answer = await client.request(":list");
  assert.deepEqual(answer.data.map((event) => event.line), ["USER bob", "USER alice"]);
  assert.equal(answer.final?.line, "OK list 2");
  const end = await client.quit();
  assert.equal(end.reason, "quit");
  assert.equal(end.bye?.reason, "quit");
});

Deno.test("library: a refused name leaves the connection open for another try", async () => {
  await using server = await startTestServer();
  await using _alice = await connect(server, "alice");
  await using client = await SwitchboardClient.connect({ port: server.addr.port });
  const taken = await client.register("Alice");
  assert.deepEqual(taken, { ok: false, code: "name-taken", text: `"Alice" is taken; try another` });
  const bad = await client.register("two words");
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.code, "bad-name");
  assert.equal((await client.register("alice2")).ok, true);
  assert.equal(client.name, "alice2");
});

Deno.test("library: the server's PINGs are answered with :pong and never reported", async () => {
  await using server = await startTestServer({ pingInterval: 0.1, pingTimeout: 0.2 });
  await using client = await SwitchboardClient.connect({ port: server.addr.port });
  const received = record(client);
  assert.ok((await client.register("alice")).ok);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal(client.state, "ready");
  assert.equal(server.stats().disconnects.stale, 0);
  assert.deepEqual(received.map((r) => r.event.type), ["welcome"]);
});

Deno.test("library: a connection cut without BYE is retried with the same name and groups", async () => {
  await using server = await startTestServer();
  await using relay = new Relay(server.addr.port);
  await using client = await SwitchboardClient.connect({ port: relay.port, ...QUICK });
  const events: string[] = [];
  client.on(
    "disconnect",
    ({ bye, reconnecting }) => events.push(`disconnect ${bye?.reason} ${reconnecting}`),
  );
  client.on(
    "reconnect",
    ({ name, groups, resent }) => events.push(`reconnect ${name} ${groups} ${resent}`),
  );
  assert.ok((await client.register("alice")).ok);
  assert.equal((await client.request(":group create dev")).final?.type, "ok");
  assert.equal((await client.request(":group create ops")).final?.type, "ok");
  await client.request(":group leave ops");
  relay.cut();
  await until(() => events.length === 2, 5000, "reconnect");
  assert.deepEqual(events, ["disconnect undefined true", "reconnect alice dev 0"]);
  assert.deepEqual(server.console(":group members dev"), [
    "MEMBER #dev alice",
    "OK group members dev 1",
  ]);
  assert.deepEqual(server.console(":groups"), ["GROUP #dev 1", "OK groups 1"]);
});

Deno.test("library: lines sent while disconnected are queued up to the limit, and the rest refused", async () => {
  const server = await startTestServer();
  await using client = await SwitchboardClient.connect({
    port: server.addr.port,
    ...QUICK,
    queueLimit: 2,
  });
  assert.ok((await client.register("alice")).ok);
  assert.equal(client.send("sent at once"), "sent");
  await client.settle();
  await server.shutdown();
  await until(() => client.state === "reconnecting", 5000, "reconnecting");
  assert.deepEqual(["one", "two", "three"].map((line) => client.send(line)), [
    "queued",
    "queued",
    "queue-full",
  ]);
  assert.equal(client.send("x".repeat(70_000)), "too-long");
  client.close();
  const end = await client.closed;
  assert.equal(end.reason, "closed");
  assert.deepEqual(end.unsent, ["one", "two"]);
});

Deno.test("library: a server that falls silent is taken as dead after the stale timeout", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    using conn = await listener.accept();
    await conn.write(encoder.encode("HELLO sb/1 chat 9.9.9 :hi\n"));
    await conn.read(new Uint8Array(64));
    await conn.write(encoder.encode("WELCOME alice 1 :hello\n"));
    // Then nothing, as if the network had silently gone away.
    await conn.read(new Uint8Array(64)).catch(() => null);
  })();
  await using client = await SwitchboardClient.connect({
    port: listener.addr.port,
    staleTimeout: 0.3,
    reconnectTimeout: 0,
  });
  assert.ok((await client.register("alice")).ok);
  const end = await client.closed;
  assert.equal(end.reason, "lost");
  assert.equal(end.detail, "no data from the server for 0.3 s");
  await serving;
});

Deno.test("library: an echo server returns every line; settle waits for the echoes", async () => {
  await using server = await startTestServer({ mode: "echo" });
  await using client = await SwitchboardClient.connect({ port: server.addr.port });
  const received = record(client);
  assert.equal(client.mode, "echo");
  assert.equal(client.state, "ready");
  for (const line of ["one", ":pong", "BYE not really"]) assert.equal(client.send(line), "sent");
  await client.settle();
  assert.deepEqual(received.map((r) => [r.event.type, r.event.line, r.command]), [
    ["echo", "one", "one"],
    ["echo", ":pong", ":pong"],
    ["echo", "BYE not really", "BYE not really"],
  ]);
  assert.equal((await client.quit()).bye?.reason, "quit");
});

Deno.test("library: a name sent after the server's registration timeout connects again once", async () => {
  await using server = await startTestServer({ registerTimeout: 0.2 });
  await using client = await SwitchboardClient.connect({ port: server.addr.port });
  // A person taking their time to type a name: the server gives up on the first connection.
  await until(() => server.stats().disconnects.idle === 1, 5000, "register timeout");
  const result = await client.register("slowpoke");
  assert.equal(result.ok, true);
  assert.equal(server.stats().accepted, 2);
});

Deno.test("library: with ack, messages are matched to ACK lines, again after a reconnect", async () => {
  await using server = await startTestServer();
  await using relay = new Relay(server.addr.port);
  await using bob = await connect(server, "bob");
  await using client = await SwitchboardClient.connect({ port: relay.port, ack: true, ...QUICK });
  const received = record(client);
  const lost: string[][] = [];
  client.on("disconnect", ({ unacknowledged }) => lost.push(unacknowledged));
  let reconnected = false;
  client.on("reconnect", () => reconnected = true);
  assert.ok((await client.register("alice")).ok);
  assert.equal(client.acknowledging, true);
  client.send("one");
  client.send(":pm bob not a message");
  client.send("two");
  await client.settle();
  const acks = () =>
    received.filter((r) => r.event.type === "ack").map((r) => `${r.command} ${r.event.line}`);
  assert.deepEqual(acks(), ["one ACK 1", "two ACK 2"]);
  assert.deepEqual(client.unacknowledged, []);
  relay.cut();
  await until(() => reconnected, 5000, "reconnect");
  assert.deepEqual(lost, [[]]);
  assert.equal(client.acknowledging, true, ":ack on again on the new connection");
  client.send("three");
  await client.settle();
  assert.deepEqual(acks().at(-1), "three ACK 1", "numbering restarts with the connection");
  assert.equal(await bob.waitFor("MSG alice * :three"), "MSG alice * :three");
});

/** An echo server in memory, behind the transport seam: greets, then returns whatever is written. */
class MemoryEcho implements ByteStream {
  readonly remoteAddr = { hostname: "memory", port: 0 };
  readonly #incoming = [encoder.encode("HELLO sb/1 echo 0.0.0 :in memory\n")];
  #wake: (() => void) | undefined;
  #closed = false;

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#incoming.length === 0) {
      if (this.#closed) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const chunk = this.#incoming.shift() as Uint8Array;
    buffer.set(chunk);
    return chunk.length;
  }

  write(bytes: Uint8Array): Promise<number> {
    this.#incoming.push(bytes.slice());
    this.#wake?.();
    return Promise.resolve(bytes.length);
  }

  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }
}

Deno.test("library: a dialer opens the first connection and every reconnect; the host only names the server", async () => {
  await using server = await startTestServer();
  await using relay = new Relay(server.addr.port);
  let dials = 0;
  const dial: Dialer = (signal) => {
    dials++;
    return dialTcp("127.0.0.1", relay.port, signal);
  };
  await using client = await SwitchboardClient.connect({
    hostname: "chat.example",
    port: 1,
    dial,
    ...QUICK,
  });
  assert.equal(client.address, "chat.example:1");
  let reconnected = false;
  client.on("reconnect", () => reconnected = true);
  assert.ok((await client.register("alice")).ok);
  relay.cut();
  await until(() => reconnected, 5000, "reconnect");
  assert.equal(dials, 2);
  assert.equal(client.name, "alice");
});

Deno.test("library: a reset while reconnecting is tried again; an error it cannot place ends the client as lost", async () => {
  await using server = await startTestServer();
  await using relay = new Relay(server.addr.port);
  /** A dialer whose next reconnects meet the errors queued in `failures` first. */
  const dialerWith = (failures: Error[]): Dialer => (signal) => {
    const failure = failures.shift();
    return failure ? Promise.reject(failure) : dialTcp("127.0.0.1", relay.port, signal);
  };
  const reset = new Deno.errors.ConnectionReset("Connection reset by peer (os error 104)");
  const aliceFailures: Error[] = [];
  await using alice = await SwitchboardClient.connect({
    dial: dialerWith(aliceFailures),
    ...QUICK,
  });
  const lastErrors: string[] = [];
  alice.on("reconnecting", ({ lastError }) => lastErrors.push(lastError ?? ""));
  let reconnects = 0;
  alice.on("reconnect", () => reconnects++);
  assert.ok((await alice.register("alice")).ok);
  aliceFailures.push(reset);
  relay.cut();
  await until(() => reconnects === 1, 5000, "reconnect after the reset");
  assert.match(lastErrors.at(-1) ?? "", /reset the connection before greeting/);

  // An error that is no network condition at all (here: a permission) cannot be retried.
  const bobFailures: Error[] = [];
  await using bob = await SwitchboardClient.connect({ dial: dialerWith(bobFailures), ...QUICK });
  assert.ok((await bob.register("bob")).ok);
  bobFailures.push(new Deno.errors.NotCapable("Requires net access"));
  relay.cut();
  const end = await bob.closed;
  assert.equal(end.reason, "lost");
  assert.match(end.detail, /^reconnecting failed: .*Requires net access/);
  await until(() => reconnects === 2, 5000, "alice, cut too, came back");
});

Deno.test("library: any ByteStream will do, such as an echo server in memory", async () => {
  await using client = await SwitchboardClient.connect({
    dial: () => Promise.resolve(new MemoryEcho()),
  });
  assert.equal(client.mode, "echo");
  const answer = await client.request("hello");
  assert.deepEqual(answer.final, { type: "echo", text: "hello", line: "hello" });
});

Deno.test("library: a dialer's failure is worded like TCP's; a slow one is aborted at the connect timeout", async () => {
  const refused = await SwitchboardClient.connect({
    port: 4000,
    dial: () => Promise.reject(new Deno.errors.ConnectionRefused("Connection refused")),
  }).catch((error) => error);
  assert.ok(refused instanceof ConnectError);
  assert.equal(refused.code, "refused");
  assert.match(refused.message, /^cannot connect to 127\.0\.0\.1:4000: connection refused \(/);

  let aborted = false;
  const slow = await SwitchboardClient.connect({
    port: 4000,
    connectTimeout: 0.05,
    dial: (signal) =>
      new Promise((_, reject) =>
        signal.addEventListener("abort", () => {
          aborted = true;
          reject(signal.reason);
        })
      ),
  }).catch((error) => error);
  assert.ok(slow instanceof ConnectError);
  assert.equal(slow.code, "timeout");
  assert.equal(
    slow.message,
    "cannot connect to 127.0.0.1:4000: connection timed out (no answer within 0.05 s)",
  );
  assert.ok(aborted, "the dialer was told to give up");
});
