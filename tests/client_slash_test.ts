/** `/` commands with the real client program over TCP (piped input and `--send`). */

import assert from "node:assert/strict";
import { connect, startTestServer } from "./_helpers.ts";
import { runClient } from "./client_harness.ts";
import { EXIT } from "../cli/_exit_codes.ts";

Deno.test("piped / commands act like their : forms, and no line starting with one / is sent", async () => {
  await using server = await startTestServer();
  await using bob = await connect(server, "bob");
  await bob.send(":group create dev");
  await bob.waitFor("OK group create");
  const input = [
    "/help",
    "/msg bob hello in private",
    "/pm bob second private",
    "/join #dev",
    "/msg #dev to the group",
    "/me waves",
    "//etc/hosts is a file",
    "/frobnicate now",
    "/nick ally",
    "/part dev",
    "plain line",
    "/quit",
    "never read",
  ].join("\n");
  const result = await runClient(["--port", String(server.addr.port), "--name", "alice"], input);
  const seen: string[] = [];
  for (;;) {
    const line = await bob.nextLine();
    if (line.startsWith("LEAVE ")) break;
    if (/^(MSG|PM|JOIN|PART|NICK) /.test(line)) seen.push(line);
  }
  assert.deepEqual(seen, [
    "JOIN alice",
    "PM alice :hello in private",
    "PM alice :second private",
    "JOIN alice #dev",
    "MSG alice #dev :to the group",
    "MSG alice * :* alice waves",
    "MSG alice * :/etc/hosts is a file",
    "NICK alice ally",
    "PART ally #dev left",
    "MSG ally * :plain line",
  ]);
  // /help showed the server's help and the client's, / forms included; /frobnicate a hint.
  assert.match(result.stdout, /:pm <user> <text>/);
  assert.match(result.stderr, /\/msg <user\|#group> <text>/);
  assert.match(result.stderr, /unknown command \/frobnicate: nothing was sent/);
  // A script learns that a line was not understood.
  assert.equal(result.code, EXIT.failure, result.stderr);
  assert.equal(server.stats().disconnects.quit, 1, "the client left with /quit");
});

Deno.test("--send takes / commands too, and a script without mistakes exits 0", async () => {
  await using server = await startTestServer();
  await using bob = await connect(server, "bob");
  const result = await runClient([
    "--port",
    String(server.addr.port),
    "--name",
    "alice",
    "--send",
    "/msg bob hi",
    "--send",
    "/me is here",
  ]);
  assert.equal(result.code, EXIT.ok, result.stderr);
  assert.equal(await bob.waitFor("PM "), "PM alice :hi");
  assert.equal(await bob.waitFor("MSG "), "MSG alice * :* alice is here");
});
