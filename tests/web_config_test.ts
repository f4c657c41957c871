/**
 * The web chat's settings (`--web`, `--web-tls`, `--web-origins`, `--web-proxies`, their
 * variables and config keys) and the `server` program's `web chat on <url>` line.
 */

import assert from "node:assert/strict";
import { ConfigError, loadServerConfig, splitHostPort } from "../core/config/config_file.ts";
import { WebServerProcess } from "./_web_server.ts";
import { WsClient } from "./_websocket.ts";

Deno.test("web config: flags, variables and checks", async () => {
  const config = await loadServerConfig([
    "--web",
    "127.0.0.1:0",
    "--web-origins",
    "https://chat.example.org,http://localhost:8080",
    "--web-proxies",
    "10.0.0.0/8",
  ], {});
  assert.equal(config.options.web, "127.0.0.1:0");
  assert.deepEqual(config.options.webOrigins, [
    "https://chat.example.org",
    "http://localhost:8080",
  ]);
  assert.deepEqual(config.options.webProxies, ["10.0.0.0/8"]);
  const fromEnv = await loadServerConfig([], { SWITCHBOARD_WEB: "[::1]:8080" });
  assert.equal(fromEnv.options.web, "[::1]:8080");
  assert.deepEqual(splitHostPort("[::1]:8080"), ["::1", 8080]);
  assert.deepEqual(splitHostPort("localhost:0"), ["localhost", 0]);
  assert.equal(splitHostPort("example.org:80"), undefined);
  assert.equal(splitHostPort("127.0.0.1"), undefined);
  await assert.rejects(loadServerConfig(["--web", "8080"], {}), ConfigError);
  await assert.rejects(loadServerConfig(["--web-origins", "chat.example.org"], {}), ConfigError);
  await assert.rejects(
    loadServerConfig(["--web", "127.0.0.1:0", "--web-tls"], {}),
    /--web-tls needs --web, --tls-cert and --tls-key/,
  );
});

Deno.test("web: the server program prints `web chat on <url>` and serves the chat there", async () => {
  await using server = await WebServerProcess.start(["--port", "0", "--web", "127.0.0.1:0"]);
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const page = await fetch(server.url);
  assert.equal(page.status, 200);
  await page.body?.cancel();
  await using alice = await WsClient.named(server.webPort, "alice");
  alice.send(":ping");
  assert.equal(await alice.waitFor("OK"), "OK ping");
  alice.socket.close();
  await alice.closed;
  const { code, stderr } = await server.stop();
  assert.equal(code, 0, stderr);
});
