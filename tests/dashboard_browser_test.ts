/**
 * The dashboard in a real browser: Debian's chromium through `npm:playwright-core`, against the
 * `server` program started with `--http` (so the page, `/events` and the kick route are the ones
 * an operator gets). One test walks through what issue 17 asks of the page: it loads with no
 * console error, a TCP client shows up within two seconds, its counters move when it sends, the
 * table sorts and filters, a kick with the admin token removes the client, and the page says when
 * the server went away and when it is back (the server restarted on the same HTTP port).
 *
 * It takes a screenshot on the way (checked to be a PNG); with `SWITCHBOARD_UPDATE_SCREENSHOT=1`
 * it is written to `docs/dashboard.png` for the README, otherwise to a temporary file, so a test
 * run leaves the repository as it was.
 * @module
 */

import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { CHROMIUM_SKIP_NOTE, launchChromium, SKIP_WITHOUT_CHROMIUM } from "./_chromium.ts";
import { connect, hangGuard, type TestClient } from "./_helpers.ts";
import { programCommand, REPO_ROOT } from "./_programs.ts";

const TOKEN = "dashboard-test-token-0123456789";
/** Generous for a cold start on slow CI; never a speed assertion. */
const START_MS = 20_000;

/** A `server` program with the monitor on, and the addresses it printed. */
class MonitoredServer implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly port: number;
  readonly url: string;
  readonly output: Promise<string>;

  private constructor(
    child: Deno.ChildProcess,
    port: number,
    url: string,
    output: Promise<string>,
  ) {
    this.child = child;
    this.port = port;
    this.url = url;
    this.output = output;
  }

  /** Starts the server with `--http 127.0.0.1:<httpPort>` and waits for both of its addresses. */
  static async start(httpPort = 0): Promise<MonitoredServer> {
    const child = programCommand("server", [
      "--port",
      "0",
      "--http",
      `127.0.0.1:${httpPort}`,
      "--log-dir",
      "",
      "--no-console",
    ], { env: { SWITCHBOARD_ADMIN_TOKEN: TOKEN } }).spawn();
    // Both streams are read to the end, so the child never blocks on a full pipe.
    let seen = "";
    let wake: () => void = () => {};
    const drain = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        seen += chunk;
        wake();
      }
    };
    const output = Promise.all([drain(child.stdout), drain(child.stderr)]).then(() => seen);
    let ended = false;
    output.then(() => {
      ended = true;
      wake();
    });
    const deadline = Date.now() + START_MS;
    for (;;) {
      const tcp = /^listening on (?:.+):(\d+)$/m.exec(seen);
      const http = /^monitoring on (http:\/\/\S+)$/m.exec(seen);
      if (tcp !== null && http !== null) {
        return new MonitoredServer(child, Number(tcp[1]), `${http[1]}/`, output);
      }
      if (ended || Date.now() > deadline) {
        try {
          child.kill("SIGKILL");
        } catch {
          // Already gone.
        }
        await child.status;
        throw new Error(`server with --http did not start:\n${seen}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Stops it as an operator would (SIGTERM: a graceful shutdown) and waits for the exit. */
  async stop(): Promise<void> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    const timer = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }, 10_000);
    try {
      await this.child.status;
      await this.output;
    } finally {
      clearTimeout(timer);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

// Code that runs in the page is passed as text: this file is type-checked without the DOM library.

/** In the page: the names in the table, top to bottom. */
const NAMES_IN_PAGE =
  `[...document.querySelectorAll("#rows tr")].map((row) => row.dataset.name ?? "")`;

/** The names in the table, top to bottom. */
async function tableNames(page: Page): Promise<string[]> {
  return await page.evaluate(NAMES_IN_PAGE) as string[];
}

/** The number a cell shows (digits only: "1,204" is 1204). */
async function cellNumber(page: Page, name: string, column: string): Promise<number> {
  const text = await page.textContent(`#rows tr[data-name="${name}"] td[data-col="${column}"]`);
  return Number((text ?? "").replace(/[^0-9]/g, ""));
}

async function waitForNames(page: Page, expected: string[], what: string): Promise<void> {
  try {
    await page.waitForFunction(
      `JSON.stringify(${NAMES_IN_PAGE}) === ${JSON.stringify(JSON.stringify(expected))}`,
      undefined,
      { timeout: 5_000 },
    );
  } catch {
    assert.fail(
      `${what}: expected ${JSON.stringify(expected)}, got ${
        JSON.stringify(await tableNames(page))
      }`,
    );
  }
}

/**
 * For the README's screenshot only: a few more clients (added to `clients`, which the test
 * closes), some in a group, one that quit, and steady traffic for a while, so the charts and the
 * disconnects have something to show.
 */
async function busyMinute(port: number, clients: TestClient[]): Promise<void> {
  const others: TestClient[] = [];
  for (const name of ["carol", "dave", "erin", "mallory", "trent"]) {
    const client = await connect(port, name);
    clients.push(client);
    others.push(client);
  }
  for (const client of others.slice(0, 3)) await client.command(":group join ops");
  await (others[3] as TestClient).send(":quit");
  const talkers = [...clients.slice(0, 2), ...others.slice(0, 3)];
  const until = Date.now() + 25_000;
  for (let i = 0; Date.now() < until; i++) {
    const talker = talkers[i % talkers.length] as TestClient;
    await talker.send(i % 4 === 0 ? `:group send ops status ${i}` : `line ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 20 + 40 * Math.abs(Math.sin(i / 60))));
  }
}

Deno.test({
  name: "dashboard: live page in chromium: clients, counters, sort, kick, server lost and back" +
    CHROMIUM_SKIP_NOTE,
  ignore: SKIP_WITHOUT_CHROMIUM,
  // playwright-core keeps a pipe to the browser and timers of its own until close; the server and
  // the clients are closed by the test itself.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let server = await MonitoredServer.start();
    const clients: TestClient[] = [];
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({
        viewport: { width: 1280, height: 860 },
        colorScheme: "dark",
      });
      const page = await context.newPage();
      const consoleErrors: string[] = [];
      const pageErrors: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") consoleErrors.push(message.text());
      });
      page.on("pageerror", (error) => pageErrors.push(error.message));

      // Loads, connects to /events, shows live figures.
      const response = await page.goto(server.url);
      assert.equal(response?.status(), 200);
      await page.waitForSelector('#status[data-state="live"]', { timeout: 5_000 });
      assert.match(await page.textContent("#connections") ?? "", /^0$/);

      // A client that connects over TCP shows up within two seconds.
      const alice = await connect(server.port, "alice");
      clients.push(alice);
      const connectedAt = Date.now();
      await page.waitForSelector('#rows tr[data-name="alice"]', { timeout: 2_000 });
      assert.ok(Date.now() - connectedAt <= 2_000);
      assert.equal(await page.textContent("#connections"), "1");
      const zed = await connect(server.port, "zed");
      clients.push(zed);
      await alice.command(":group create ops");
      await page.waitForSelector('#rows tr[data-name="zed"]', { timeout: 2_000 });

      // Its counters move when it sends.
      const before = await cellNumber(page, "alice", "messagesIn");
      const totalBefore = Number((await page.textContent("#messages-in") ?? "").replace(/\D/g, ""));
      for (let i = 0; i < 5; i++) await alice.send(`hello ${i}`);
      const aliceIn = `#rows tr[data-name="alice"] td[data-col="messagesIn"]`;
      await page.waitForFunction(
        `Number((document.querySelector('${aliceIn}')?.textContent ?? "").replace(/\\D/g, "")) >= ${
          before + 5
        }`,
        undefined,
        { timeout: 3_000 },
      );
      assert.ok(
        Number((await page.textContent("#messages-in") ?? "").replace(/\D/g, "")) >=
          totalBefore + 5,
      );
      await page.waitForSelector('#rows tr[data-name="alice"] td[data-col="groups"]:text("ops")', {
        timeout: 3_000,
      });

      // The table sorts: names A to Z at first, Z to A on a click, then by messages received.
      await waitForNames(page, ["alice", "zed"], "initial order by name");
      await page.click('th[data-sort="name"]');
      await waitForNames(page, ["zed", "alice"], "after clicking Name");
      assert.equal(await page.getAttribute('th[data-sort="name"]', "aria-sort"), "descending");
      await page.click('th[data-sort="messagesIn"]');
      await waitForNames(page, ["alice", "zed"], "after clicking Msgs in (most first)");
      // The order survives the next snapshots (the rows are updated, not rebuilt).
      await page.waitForTimeout(1_200);
      await waitForNames(page, ["alice", "zed"], "a second later");

      // And filters.
      await page.fill("#filter", "ze");
      await waitForNames(page, ["zed"], "filtered by 'ze'");
      await page.fill("#filter", "");
      await waitForNames(page, ["alice", "zed"], "filter cleared");

      // No Kick button without a token; the token goes into the page, never into the URL.
      assert.equal(await page.isVisible('#rows tr[data-name="alice"] td.kick button'), false);
      await page.fill("#token", TOKEN);
      await page.click("#token-set");
      await page.waitForSelector('#rows tr[data-name="alice"] td.kick button', {
        state: "visible",
      });
      assert.ok(!page.url().includes(TOKEN), "the token is not in the URL");
      assert.equal(await page.inputValue("#token"), "");

      const forReadme = Deno.env.get("SWITCHBOARD_UPDATE_SCREENSHOT") === "1";
      if (forReadme) await busyMinute(server.port, clients);
      const shot = await page.screenshot({ fullPage: true });
      assert.deepEqual([...shot.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      if (forReadme) {
        await Deno.writeFile(`${REPO_ROOT}docs/dashboard.png`, shot);
      } else {
        const path = await Deno.makeTempFile({ prefix: "switchboard-dashboard-", suffix: ".png" });
        await Deno.writeFile(path, shot);
        await Deno.remove(path);
      }

      // A kick with the token removes the client, from the server and from the page.
      await page.click('#rows tr[data-name="alice"] td.kick button');
      await hangGuard(alice.closed(), 5_000, "alice still connected after the kick");
      await page.waitForSelector('#rows tr[data-name="alice"]', {
        state: "detached",
        timeout: 3_000,
      });
      assert.match(await page.textContent("#toast") ?? "", /Kicked alice/);
      await page.waitForSelector('#disconnects li[data-reason="kicked"]', { timeout: 3_000 });

      // Dark when the system is (the context asks for it), and a phone's width needs no sideways
      // scrolling: the table turns into one card per client.
      assert.equal(
        await page.evaluate(`getComputedStyle(document.body).backgroundColor`),
        "rgb(11, 17, 23)",
      );
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForSelector('#rows tr[data-name="zed"]', { state: "visible" });
      assert.ok(
        await page.evaluate(`document.documentElement.scrollWidth <= window.innerWidth`),
        "the page fits a phone's width",
      );
      assert.equal(
        await page.evaluate(
          `getComputedStyle(document.querySelector('#rows tr[data-name="zed"]')).display`,
        ),
        "grid",
      );
      await page.setViewportSize({ width: 1280, height: 860 });

      assert.deepEqual(consoleErrors, [], "no console error while the server is up");
      assert.deepEqual(pageErrors, []);

      // The server goes away: the page says so, clearly.
      const httpPort = Number(new URL(server.url).port);
      await server.stop();
      await page.waitForSelector('#banner[data-state="lost"]', { timeout: 5_000 });
      assert.match(await page.textContent("#banner") ?? "", /Lost the server/);
      assert.equal(await page.getAttribute("#status", "data-state"), "lost");

      // It comes back on the same HTTP port: the page reconnects by itself and says so.
      server = await MonitoredServer.start(httpPort);
      await page.waitForSelector('#banner[data-state="back"]', { timeout: 15_000 });
      assert.match(await page.textContent("#banner") ?? "", /Back at/);
      assert.equal(await page.getAttribute("#status", "data-state"), "live");
      const again = await connect(server.port, "again");
      clients.push(again);
      await page.waitForSelector('#rows tr[data-name="again"]', { timeout: 2_000 });
      await waitForNames(page, ["again"], "after the restart");

      // While it was gone, only the browser's own failed reconnects may have been logged.
      const unexpected = consoleErrors.filter((text) =>
        !/ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|Failed to load resource|EventSource/.test(text)
      );
      assert.deepEqual(unexpected, []);
      assert.deepEqual(pageErrors, []);
      await context.close();
    } finally {
      await browser.close();
      for (const client of clients) await client[Symbol.asyncDispose]();
      await server.stop();
    }
  },
});
