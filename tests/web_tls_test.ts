/** The web chat over HTTPS and WSS with the server's certificate (`--web-tls`). */

import assert from "node:assert/strict";
import { haveOpenssl, moduleCerts } from "./_certs.ts";
import { startTestServer } from "./_helpers.ts";
import { webPort } from "./_websocket.ts";

const ignore = !haveOpenssl && Deno.env.get("CI") !== "true";
if (ignore) console.warn("web_tls_test: openssl is not installed; the test is skipped");
const certs = moduleCerts();

Deno.test({
  name: "web: --web-tls serves the page over HTTPS and the WebSocket over WSS",
  ignore,
  fn: async () => {
    const c = await certs();
    await using server = await startTestServer({
      tlsCert: c.cert,
      tlsKey: c.key,
      tlsPort: 0,
      web: "127.0.0.1:0",
      webTls: true,
    });
    const port = webPort(server);
    const ca = await Deno.readTextFile(c.ca);
    using client = Deno.createHttpClient({ caCerts: [ca] });
    const page = await fetch(`https://localhost:${port}/`, { client });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>Switchboard<\/title>/);
    // The upgrade over TLS, by hand: Deno's WebSocket client takes no CA of its own.
    const conn = await Deno.connectTls({ hostname: "localhost", port, caCerts: [ca] });
    try {
      const request = [
        "GET /ws HTTP/1.1",
        `Host: localhost:${port}`,
        `Origin: https://localhost:${port}`,
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
      ].join("\r\n") + "\r\n\r\n";
      await conn.write(new TextEncoder().encode(request));
      const buffer = new Uint8Array(4096);
      const count = await conn.read(buffer);
      const head = new TextDecoder().decode(buffer.subarray(0, count ?? 0));
      assert.match(head, /^HTTP\/1.1 101 /);
    } finally {
      conn.close();
    }
  },
});
