import assert from "node:assert/strict";
import { connect, startTestServer } from "./_helpers.ts";

/** ncat is the by-hand client the protocol is designed for; CI installs it, so there it must exist. */
const ncat = await new Deno.Command("ncat", { args: ["--version"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success, () => false);

Deno.test({
  name: "a session scripted through a pipe into ncat: name, message, command, quit",
  ignore: !ncat && Deno.env.get("CI") !== "true",
  async fn() {
    await using server = await startTestServer();
    await using bob = await connect(server, "bob");
    const child = new Deno.Command("ncat", {
      args: ["127.0.0.1", String(server.addr.port)],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdin = child.stdin.getWriter();
    await stdin.write(new TextEncoder().encode("alice\r\nhello from ncat\n:list\n:pm bob psst\n"));
    assert.equal(await bob.waitFor("MSG"), "MSG alice * :hello from ncat");
    assert.equal(await bob.waitFor("PM"), "PM alice :psst");
    await stdin.write(new TextEncoder().encode(":quit\n"));
    await stdin.close();
    const output = await child.output();
    const lines = new TextDecoder().decode(output.stdout).trimEnd().split("\n");
    assert.match(lines[0] ?? "", /^HELLO /);
    assert.match(lines[1] ?? "", /^WELCOME alice /);
    assert.ok(lines.includes("OK list 2"), lines.join("\n"));
    assert.ok(lines.includes("OK pm bob"), lines.join("\n"));
    assert.equal(lines.at(-1), "BYE quit :Goodbye!");
  },
});
