import assert from "node:assert/strict";
import { startTestServer, TestClient } from "./_helpers.ts";

const encoder = new TextEncoder();

Deno.test("echo mode greets with HELLO … echo and returns every line verbatim", async () => {
  await using server = await startTestServer({ mode: "echo" });
  await using client = await TestClient.open(server);
  assert.match(await client.nextLine(), /^HELLO sb\/1 echo /);
  await client.send("Hello, Server!");
  assert.equal(await client.nextLine(), "Hello, Server!");
  await client.send(":help is not a command here");
  assert.equal(await client.nextLine(), ":help is not a command here");
  await client.sendRaw(encoder.encode("with cr\r\n日本\n\n"));
  assert.equal(await client.nextLine(), "with cr\r");
  assert.equal(await client.nextLine(), "日本");
  assert.equal(await client.nextLine(), "");
});

Deno.test("echo mode: exit gets BYE quit :Goodbye! and the server closes", async () => {
  await using server = await startTestServer({ mode: "echo" });
  await using client = await TestClient.open(server);
  await client.nextLine();
  await client.sendRaw(encoder.encode("one\nexit\nnever echoed\n"));
  assert.deepEqual(await client.closed(), ["one", "BYE quit :Goodbye!"]);
});

Deno.test("echo mode: many pipelined lines come back complete and in order", async () => {
  await using server = await startTestServer({ mode: "echo" });
  await using client = await TestClient.open(server);
  await client.nextLine();
  const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${"x".repeat(i % 200)}`);
  const sending = client.sendRaw(encoder.encode(lines.join("\n") + "\n"));
  for (const line of lines) assert.equal(await client.nextLine(), line);
  await sending;
});

Deno.test("echo mode enforces line length and UTF-8 like chat mode", async () => {
  await using server = await startTestServer({ mode: "echo", maxLineBytes: 10 });
  await using client = await TestClient.open(server);
  await client.nextLine();
  await client.sendRaw(encoder.encode("0123456789ABC\n"));
  assert.match(await client.nextLine(), /^ERR line-too-long :/);
  await client.sendRaw(new Uint8Array([0xc3, 0x28, 0x0a]));
  assert.match(await client.nextLine(), /^ERR bad-utf8 :/);
  await client.send("fine");
  assert.equal(await client.nextLine(), "fine");
});
