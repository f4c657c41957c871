/**
 * The web chat transport over real WebSockets (Deno's own client, and raw upgrades over TCP):
 * the page is served, one text frame is one line both ways, bad frames are refused like bad lines,
 * limits, access lists and the origin check apply, a WebSocket that stops reading is cut as a
 * slow consumer, and a WebSocket user and a TCP user chat.
 */

import assert from "node:assert/strict";
import { connect, eventually, startTestServer } from "./_helpers.ts";
import { NumberedWriter } from "./_flood.ts";
import { clientTextFrame, rawUpgrade, webPort, WsClient } from "./_websocket.ts";

const WEB = "127.0.0.1:0";

Deno.test("web: the page is served on / and unknown paths get 404", async () => {
  await using server = await startTestServer({ web: WEB });
  const port = webPort(server);
  const page = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
  assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  assert.match(await page.text(), /<title>/);
  const script = await fetch(`http://127.0.0.1:${port}/chat.js`);
  assert.match(script.headers.get("content-type") ?? "", /javascript/);
  await script.body?.cancel();
  const missing = await fetch(`http://127.0.0.1:${port}/../deno.json`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const plainGet = await fetch(`http://127.0.0.1:${port}/ws`);
  assert.equal(plainGet.status, 426);
  await plainGet.body?.cancel();
});

Deno.test("web: one text frame is one line each way; bad frames are refused like bad lines", async () => {
  await using server = await startTestServer({ web: WEB });
  await using alice = await WsClient.named(webPort(server), "alice");
  alice.send("a\nb");
  assert.match(await alice.nextLine(), /^ERR bad-utf8 /);
  alice.socket.send(new Uint8Array([104, 105]));
  assert.match(await alice.nextLine(), /^ERR bad-utf8 /);
  // A reply of several lines comes as several frames, none holding a newline.
  alice.send(":help");
  const help: string[] = [];
  for (let line = await alice.nextLine();; line = await alice.nextLine()) {
    help.push(line);
    if (/^(OK|ERR) /.test(line)) break;
  }
  assert.ok(help.length > 3, help.join(" | "));
  assert.ok(alice.frames.every((frame) => typeof frame === "string" && !frame.includes("\n")));
  // A good line after the refused ones is taken as usual.
  alice.send(":ping");
  assert.equal(await alice.waitFor("OK"), "OK ping");
});

Deno.test("web: sized payloads travel in binary frames both ways", async () => {
  const filesDir = await Deno.makeTempDir({ prefix: "switchboard-web-files-" });
  try {
    await using server = await startTestServer({ web: WEB, filesDir });
    await using alice = await WsClient.named(webPort(server), "alice");
    const content = new TextEncoder().encode("hello, files\n".repeat(10_000));
    const sha = await sha256(content);
    alice.send(`:put notes.txt ${content.length} ${sha}`);
    // In pieces, as a browser may send it; a newline inside a payload is just a byte.
    for (let at = 0; at < content.length; at += 50_000) {
      alice.socket.send(content.subarray(at, at + 50_000));
    }
    assert.equal(await alice.waitFor("OK put"), "OK put notes.txt");
    assert.deepEqual(await Deno.readFile(`${filesDir}/notes.txt`), content);
    const before = alice.frames.length;
    alice.send(":get notes.txt");
    assert.equal(await alice.waitFor("FILE"), `FILE notes.txt ${content.length} ${sha}`);
    assert.equal(await alice.waitFor("OK get"), "OK get notes.txt");
    const binary = alice.frames.slice(before).filter((f) => f instanceof ArrayBuffer);
    const got = new Uint8Array(await new Blob(binary as ArrayBuffer[]).arrayBuffer());
    assert.deepEqual(got, content);
    // Lines again after the payload.
    alice.send(":ping");
    assert.equal(await alice.waitFor("OK"), "OK ping");
    // A text frame where payload bytes are due breaks the framing: the socket is closed.
    alice.send(`:put other.txt 10 ${sha}`);
    alice.send("not payload");
    assert.equal(await alice.closed, 1002);
  } finally {
    await Deno.remove(filesDir, { recursive: true });
  }
});

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("web: a WebSocket user and a TCP user chat in the lobby and privately", async () => {
  await using server = await startTestServer({ web: WEB });
  await using bob = await connect(server, "bob");
  await using alice = await WsClient.named(webPort(server), "alice");
  await bob.waitFor("JOIN alice");
  alice.send("hello from the browser");
  assert.equal(await bob.waitFor("MSG alice"), "MSG alice * :hello from the browser");
  await bob.send("hello from the terminal");
  assert.equal(await alice.waitFor("MSG bob"), "MSG bob * :hello from the terminal");
  await bob.send(":pm alice psst");
  assert.equal(await alice.waitFor("PM bob"), "PM bob :psst");
  alice.send(":pm bob back");
  assert.equal(await alice.waitFor("OK"), "OK pm bob");
  assert.equal(await bob.waitFor("PM alice"), "PM alice :back");
  assert.equal(server.stats().connections, 2);
});

Deno.test("web: the line limit applies to a frame", async () => {
  await using server = await startTestServer({ web: WEB, maxLineBytes: 128 });
  await using alice = await WsClient.named(webPort(server), "alice");
  alice.send("x".repeat(200));
  assert.match(await alice.nextLine(), /^ERR line-too-long /);
  alice.send(":ping");
  assert.equal(await alice.waitFor("OK"), "OK ping");
});

Deno.test("web: access lists and caps refuse a WebSocket as they refuse TCP", async () => {
  {
    await using server = await startTestServer({ web: WEB, access: { deny: ["127.0.0.0/8"] } });
    await using ws = await WsClient.open(webPort(server));
    assert.match(await ws.nextLine(), /^ERR refused /);
    await ws.closed;
    await eventually(() => server.stats().disconnects.refused === 1);
  }
  {
    await using server = await startTestServer({ web: WEB, maxPerIp: 1 });
    await using first = await WsClient.named(webPort(server), "first");
    await using second = await WsClient.open(webPort(server));
    assert.match(await second.nextLine(), /^ERR too-many-connections /);
    first.send(":ping");
    assert.equal(await first.waitFor("OK"), "OK ping");
  }
});

Deno.test("web: X-Forwarded-For names the client only when the peer is a listed proxy", async () => {
  const deny = { deny: ["10.9.8.0/24"] };
  const forwarded = { "X-Forwarded-For": "10.9.8.7" };
  {
    await using server = await startTestServer({ web: WEB, access: deny });
    await using ws = await WsClient.open(webPort(server), forwarded);
    assert.match(await ws.nextLine(), /^HELLO /);
  }
  {
    await using server = await startTestServer({
      web: WEB,
      access: deny,
      webProxies: ["127.0.0.1/32"],
    });
    await using ws = await WsClient.open(webPort(server), forwarded);
    assert.match(await ws.nextLine(), /^ERR refused /);
    // A forged hop before a client the proxy saw is not believed: the proxy's own entry counts.
    await using other = await WsClient.open(webPort(server), {
      "X-Forwarded-For": "10.9.8.7, 192.0.2.1",
    });
    assert.match(await other.nextLine(), /^HELLO /);
  }
});

Deno.test("web: the Origin must be the page's own or listed; others get 403", async () => {
  await using server = await startTestServer({
    web: WEB,
    webOrigins: ["https://chat.example.org"],
  });
  const port = webPort(server);
  const tries: [string, string][] = [
    [`http://127.0.0.1:${port}`, "101"],
    ["https://chat.example.org", "101"],
    ["https://evil.example", "403"],
    ["null", "403"],
  ];
  for (const [origin, expected] of tries) {
    const { status, conn } = await rawUpgrade(port, { Origin: origin });
    conn.close();
    assert.match(status, new RegExp(`^HTTP/1.1 ${expected} `), `${origin}: ${status}`);
  }
  await eventually(() => server.stats().connections === 0);
});

Deno.test("web: a WebSocket that stops reading is cut as a slow consumer", async () => {
  await using server = await startTestServer({
    web: WEB,
    maxLineBytes: 16 * 1024,
    maxQueueBytes: 64 * 1024,
    writeDeadline: 0.5,
    stallTimeout: 0.3,
  });
  const { status, conn: sleepy } = await rawUpgrade(webPort(server));
  assert.match(status, /^HTTP\/1.1 101 /);
  await sleepy.write(clientTextFrame("sleepy"));
  await eventually(() => server.stats().online === 1, 5000, "sleepy registered");
  await using watcher = await connect(server, "watcher");
  await using flood = await connect(server, "flood");
  const writer = new NumberedWriter(flood.conn, {
    max: 200_000,
    perWrite: 50,
    pad: ` ${"x".repeat(4000)}`,
  });
  try {
    await watcher.waitFor("LEAVE sleepy slow-consumer", 30_000);
    await eventually(() => server.stats().disconnects["slow-consumer"] === 1);
  } finally {
    writer.stop();
    await writer.done;
    sleepy.close();
  }
});

Deno.test("web: a listed proxy's X-Forwarded-Proto https counts as encrypted for secrets", async () => {
  const adminToken = "web-admin-token-1234";
  await using server = await startTestServer({
    web: WEB,
    adminToken,
    webProxies: ["127.0.0.1/32"],
  });
  const port = webPort(server);
  // The client is at 192.0.2.7 (not loopback): a token over plain transport is refused…
  await using plain = await WsClient.open(port, { "X-Forwarded-For": "192.0.2.7" });
  await plain.waitFor("HELLO");
  plain.send(`:auth ${adminToken}`);
  assert.match(await plain.waitFor("ERR"), /^ERR tls-required /);
  // …and taken when the proxy says the browser came over HTTPS.
  await using secure = await WsClient.open(port, {
    "X-Forwarded-For": "192.0.2.7",
    "X-Forwarded-Proto": "https",
  });
  await secure.waitFor("HELLO");
  secure.send(`:auth ${adminToken}`);
  assert.equal(await secure.waitFor("OK"), "OK auth admin");
});
