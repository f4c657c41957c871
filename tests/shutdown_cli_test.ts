import assert from "node:assert/strict";
import { connect } from "./_helpers.ts";
import { runProgram, ServerProcess } from "./_programs.ts";

const QUIET = ["--log-dir", "", "--no-console"];

async function portIsClosed(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return false;
  } catch (error) {
    return error instanceof Deno.errors.ConnectionRefused;
  }
}

Deno.test("shutdown finds the token file on its own, tells clients the reason, and waits for the port to close", async () => {
  await using server = await ServerProcess.start(["--port", "0", ...QUIET]);
  await using alice = await connect(server.port, "alice");
  const result = await runProgram("shutdown", [
    "127.0.0.1",
    String(server.port),
    "--grace",
    "2",
    "--reason",
    "maintenance window",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /has shut down/);
  assert.equal(await alice.waitFor("BYE"), "BYE shutdown :maintenance window");
  assert.ok(await portIsClosed(server.port), "the port is closed when shutdown exits");
  assert.equal((await server.finished()).code, 0);
});

Deno.test("shutdown with a wrong token exits 9 and the server keeps running", async () => {
  await using server = await ServerProcess.start(["--port", "0", ...QUIET]);
  const result = await runProgram("shutdown", [
    "--port",
    String(server.port),
    "--token",
    "not-the-token",
  ]);
  assert.equal(result.code, 9);
  assert.match(result.stderr, /refused the token \(wrong token\)/);
  await using bob = await connect(server.port, "bob");
  assert.ok(!bob.ended, "still accepting");
});

Deno.test("shutdown reads SWITCHBOARD_ADMIN_TOKEN when the server was given one", async () => {
  const env = { SWITCHBOARD_ADMIN_TOKEN: "shared-secret-123" };
  await using server = await ServerProcess.start(["--port", "0", ...QUIET], { env });
  const result = await runProgram("shutdown", ["--port", String(server.port)], { env });
  assert.equal(result.code, 0, result.stderr);
  assert.equal((await server.finished()).code, 0);
});

Deno.test("shutdown with no server there exits 3: connection refused", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await runProgram("shutdown", ["--port", String(port), "--token", "whatever1"]);
  assert.equal(result.code, 3);
  assert.match(result.stderr, /connection refused/);
});

Deno.test("shutdown without a token file explains where it looked and exits 2", async () => {
  await using server = await ServerProcess.start(["--port", "0", ...QUIET], {
    env: { SWITCHBOARD_ADMIN_TOKEN: "configured-token" },
  });
  const result = await runProgram("shutdown", ["--port", String(server.port)]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /no admin token: \.switchboard\/admin-\d+\.token does not exist/);
});

Deno.test("shutdown rejects bad usage with exit 2", async () => {
  for (const args of [["--port", "0"], ["--port", "http"], ["--bogus"], ["a", "1", "extra"]]) {
    const result = await runProgram("shutdown", args);
    assert.equal(result.code, 2, `${args}: ${result.stderr}`);
    assert.doesNotMatch(result.stderr, /^\s+at /m);
  }
});
