import assert from "node:assert/strict";
import { connect, startTestServer } from "./_helpers.ts";
import { canReset, resetConnections } from "./_reset_peer.ts";

Deno.test({
  name:
    "connections reset before accept are skipped at once and counted; the next client is served",
  ignore: !canReset,
  async fn() {
    await using server = await startTestServer();
    // The resets run synchronously, so all 300 sit reset in the listener's queue before the
    // server's accept loop sees the first. Each one used to cost a 50 ms pause: 15 s in all.
    assert.equal(resetConnections(server.addr.port, 300), 300);
    await using alice = await connect(server, "alice");
    assert.equal((await alice.command(":whoami")).at(-1), "OK whoami");
    const stats = server.stats();
    assert.ok(stats.resetBeforeAccept > 0, `resetBeforeAccept is ${stats.resetBeforeAccept}`);
    assert.equal(stats.connections, 1);
  },
});
