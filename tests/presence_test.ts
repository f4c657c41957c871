/**
 * Presence lines (`JOIN`, `LEAVE`, `KICK`, `PART`) wait up to `PRESENCE_DELAY_MS` for a write
 * they can join: a client hears of arrivals and departures in order and a moment later, and a
 * crowd coming and going costs it one write per moment instead of one per line.
 */

import assert from "node:assert/strict";
import { listenTcp, startServer, type StreamListener } from "../mod.ts";
import { wrapAccepted } from "./_stream_listener.ts";
import { Hub, type Peer, PRESENCE_DELAY_MS } from "../core/server/hub.ts";
import { connect, TestClient } from "./_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A real TCP listener that keeps, per client port, what each write of the server carried. */
function recording(inner: StreamListener, writes: Map<number, string[]>): StreamListener {
  return wrapAccepted(inner, (stream) => ({
    write: async (bytes) => {
      const written = await stream.write(bytes);
      const port = stream.remoteAddr.port;
      writes.set(port, [...writes.get(port) ?? [], decoder.decode(bytes.subarray(0, written))]);
      return written;
    },
  }));
}

Deno.test("presence: a visitor's JOIN and LEAVE of one moment reach the others in one write, in order", async () => {
  const writes = new Map<number, string[]>();
  await using server = await startServer({ port: 0 }, recording(listenTcp("127.0.0.1", 0), writes));
  await using alice = await connect(server, "alice");
  const port = alice.conn.localAddr.port;
  await using bob = await TestClient.open(server);
  await bob.waitFor("HELLO ");
  const before = writes.get(port)?.length ?? 0;
  // Registered and gone in one chunk: both presence lines come from one pass of the server.
  await bob.sendRaw(encoder.encode("bob\n:quit\n"));
  await alice.waitFor("JOIN bob");
  await alice.waitFor("LEAVE bob quit");
  const after = writes.get(port)!.slice(before);
  assert.deepEqual(after, ["JOIN bob\nLEAVE bob quit\n"]);
});

/** A peer that can wait for presence lines, noting in `log` what the hub does with it. */
function waitingPeer(name: string, log: string[]): Peer {
  return {
    name,
    groups: new Set(),
    deliver: (bytes) => log.push(`${name} now ${decoder.decode(bytes).trim()}`),
    deliverSoon: (bytes) => log.push(`${name} soon ${decoder.decode(bytes).trim()}`),
    sendSoon: () => log.push(`${name} sent`),
  };
}

Deno.test("presence: the hub holds presence lines for a peer that can wait, and sends them within the delay", async () => {
  const log: string[] = [];
  const waiting = (name: string) => waitingPeer(name, log);
  const plain = (name: string): Peer => ({
    name,
    groups: new Set(),
    deliver: (bytes) => log.push(`${name} now ${decoder.decode(bytes).trim()}`),
  });
  const hub = new Hub({ announceLimit: 100 });
  hub.register(waiting("alice"));
  hub.register(plain("relay"));
  hub.register(plain("bob"));
  assert.deepEqual(log, ["alice soon JOIN relay", "alice soon JOIN bob", "relay now JOIN bob"]);
  await new Promise((resolve) => setTimeout(resolve, PRESENCE_DELAY_MS * 3));
  assert.deepEqual(log.slice(3), ["alice sent"], "one send for both lines");
  hub.close();
  hub.remove(hub.find("bob")!, "quit");
  assert.deepEqual(log.slice(4), ["alice now LEAVE bob quit", "relay now LEAVE bob quit"]);
});

Deno.test("presence: a peer that leaves gets what waited for it at once, and the hub lets go of it", () => {
  const log: string[] = [];
  const waiting = (name: string) => waitingPeer(name, log);
  const hub = new Hub({ announceLimit: 100 });
  const alice = waiting("alice");
  hub.register(alice);
  hub.register(waiting("bob"));
  assert.deepEqual(log, ["alice soon JOIN bob"]);
  // Alice leaves before the timer: her JOIN bob goes now, not with a timer that holds her.
  hub.remove(alice, "quit");
  assert.deepEqual(log.slice(1), ["alice sent", "bob soon LEAVE alice quit"]);
  hub.close();
  assert.deepEqual(log.slice(3), ["bob sent"], "only bob was still waiting");
});
