import assert from "node:assert/strict";
import { livenessAction, type LivenessState, sweepInterval } from "../core/server/liveness.ts";

const limits = {
  idleTimeout: 120,
  pingInterval: 30,
  pingTimeout: 12,
  registerTimeout: 10,
  writeDeadline: 5,
  stallTimeout: 1,
};
const fresh: LivenessState = {
  acceptedAt: 0,
  registering: false,
  lastReceived: 0,
  lastActivity: 0,
  pingSentAt: 0,
  queuedBytes: 0,
  lastProgress: 0,
  congestedSince: 0,
  holding: false,
};
const s = (seconds: number) => seconds * 1000;

Deno.test("liveness: nothing to do while traffic is recent", () => {
  assert.equal(livenessAction(fresh, limits, s(29)), undefined);
});

Deno.test("liveness: PING after the ping interval, stale after the ping timeout", () => {
  assert.deepEqual(livenessAction(fresh, limits, s(31)), { kind: "ping" });
  const pinged = { ...fresh, pingSentAt: s(31) };
  assert.equal(livenessAction(pinged, limits, s(42)), undefined);
  assert.equal(livenessAction(pinged, limits, s(44))?.kind, "close");
  assert.equal((livenessAction(pinged, limits, s(44)) as { reason: string }).reason, "stale");
});

Deno.test("liveness: idle after the idle timeout even when pongs keep arriving", () => {
  const state = { ...fresh, lastReceived: s(119) };
  assert.equal((livenessAction(state, limits, s(121)) as { reason: string }).reason, "idle");
});

Deno.test("liveness: a registering client gets the register timeout, not the idle one", () => {
  const state = { ...fresh, registering: true, lastReceived: s(9) };
  assert.equal(
    (livenessAction(state, limits, s(11)) as { text: string }).text,
    "no name received within 10 s",
  );
});

Deno.test("liveness: a queue without progress, or backed up too long, is a slow consumer", () => {
  const stuck = {
    ...fresh,
    lastReceived: s(6),
    lastActivity: s(6),
    queuedBytes: 10,
    lastProgress: 0,
  };
  assert.equal((livenessAction(stuck, limits, s(6)) as { reason: string }).reason, "slow-consumer");
  const behind = {
    ...fresh,
    lastReceived: s(6),
    lastActivity: s(6),
    queuedBytes: 10,
    lastProgress: s(6),
    congestedSince: s(0.5),
  };
  assert.equal(
    (livenessAction(behind, limits, s(6)) as { reason: string }).reason,
    "slow-consumer",
  );
});

Deno.test("liveness: a reader others wait on is cut once it read nothing for the stall timeout", () => {
  const stalled = { ...fresh, lastReceived: s(2), lastActivity: s(2), queuedBytes: 10 };
  assert.equal(livenessAction({ ...stalled, lastProgress: s(1.5) }, limits, s(2)), undefined);
  assert.equal(
    livenessAction({ ...stalled, holding: true, lastProgress: s(1.5) }, limits, s(2)),
    undefined,
  );
  // Holding nobody, it has until the write deadline; holding others, until the stall timeout.
  assert.equal(livenessAction({ ...stalled, lastProgress: s(0.5) }, limits, s(2)), undefined);
  assert.deepEqual(
    livenessAction({ ...stalled, holding: true, lastProgress: s(0.5) }, limits, s(2)),
    {
      kind: "close",
      reason: "slow-consumer",
      text: "others' messages waited on you and you read nothing for 1 s",
    },
  );
});

Deno.test("the sweep runs at a quarter of the shortest limit, within 10 ms and 1 s", () => {
  assert.equal(sweepInterval({ ...limits, stallTimeout: 5 }), 1000);
  assert.equal(sweepInterval(limits), 250);
  assert.equal(sweepInterval({ ...limits, pingTimeout: 0.2 }), 50);
  assert.equal(sweepInterval({ ...limits, writeDeadline: 0.001 }), 10);
});

Deno.test("liveness: an idle timeout or ping interval of 0 turns that check off", () => {
  const off = { ...limits, idleTimeout: 0, pingInterval: 0 };
  assert.equal(livenessAction(fresh, off, s(100_000)), undefined);
  assert.equal(sweepInterval({ ...off, stallTimeout: 5 }), 1000);
});
