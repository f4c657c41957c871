/**
 * `core/cluster/roster.ts` on its own (no bus): a node's roster sent in chunks is applied as a
 * difference only once its last chunk is in, and not at all when a chunk is missing.
 */

import assert from "node:assert/strict";
import { Hub } from "../core/server/hub.ts";
import { Roster, rosterChunks } from "../core/cluster/roster.ts";

function users(count: number, from = 0): [string, string[]][] {
  return Array.from({ length: count }, (_, i) => [`u${from + i}`, i % 2 === 0 ? ["even"] : []]);
}

function setup(): { hub: Hub; roster: Roster; names: () => string[] } {
  const hub = new Hub({ announceLimit: 100 });
  const roster = new Roster(hub, () => Promise.resolve());
  const names = () => [...hub.peers()].map((p) => p.name).sort();
  return { hub, roster, names };
}

Deno.test("roster: chunks of one serial, the last marked; an empty roster is one empty chunk", () => {
  const chunks = rosterChunks("n1", users(5), 7, 2);
  assert.deepEqual(
    chunks.map((c) => c.op === "roster" && [c.serial, c.part, c.last, c.users.length]),
    [[7, 0, false, 2], [7, 1, false, 2], [7, 2, true, 1]],
  );
  assert.deepEqual(rosterChunks("n1", [], 8, 2), [
    { op: "roster", node: "n1", users: [], serial: 8, part: 0, last: true },
  ]);
  assert.equal(rosterChunks("n1", users(4), 9, 2).length, 2, "no empty chunk after a full one");
});

Deno.test("roster: the difference is applied once the last chunk is in, with every user and group", () => {
  const { hub, roster, names } = setup();
  roster.apply({ op: "join", node: "n1", name: "gone" });
  const chunks = rosterChunks("n1", users(5), 1, 2);
  for (const chunk of chunks.slice(0, -1)) {
    roster.apply(chunk);
    assert.deepEqual(names(), ["gone"], "nothing changes before the last chunk");
  }
  roster.apply(chunks.at(-1)!);
  assert.deepEqual(names(), ["u0", "u1", "u2", "u3", "u4"]);
  assert.equal(hub.findGroup("even")?.members.size, 3);
  assert.equal(roster.size, 5);
});

Deno.test("roster: a roster with a missing chunk is not applied; the next complete one is", () => {
  const { roster, names } = setup();
  roster.apply({ op: "join", node: "n1", name: "kept" });
  const first = rosterChunks("n1", users(6), 1, 2);
  roster.apply(first[0]!);
  roster.apply(first[2]!);
  assert.deepEqual(names(), ["kept"], "part 1 never came: nothing removed, nothing added");
  // A new serial starts over, even after a chunk of an older one.
  const second = rosterChunks("n1", users(3, 10), 2, 2);
  roster.apply(second[0]!);
  roster.apply(first[1]!);
  roster.apply(second[1]!);
  assert.deepEqual(names(), ["kept"], "a stray chunk of the old serial broke the new one");
  const third = rosterChunks("n1", users(3, 10), 3, 2);
  for (const chunk of third) roster.apply(chunk);
  assert.deepEqual(names(), ["u10", "u11", "u12"]);
  // A roster in one message (no serial), as before chunks, still applies at once.
  roster.apply({ op: "roster", node: "n1", users: [["solo", []]] });
  assert.deepEqual(names(), ["solo"]);
});
