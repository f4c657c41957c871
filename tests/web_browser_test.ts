/**
 * The web chat page in a real browser: Debian's chromium driven by playwright-core (skipped
 * outside CI when chromium is missing, with a warning; on CI a missing chromium fails).
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Locator } from "playwright-core";
import { connect, eventually, startTestServer } from "./_helpers.ts";
import { webPort } from "./_websocket.ts";
import { WebServerProcess } from "./_web_server.ts";
import { writeAccountsFile } from "../core/config/accounts_file.ts";
import { hashPassword } from "../core/util/password_hash.ts";
import {
  type ChatPage,
  CuttableProxy,
  launch,
  openChat,
  RUN_BROWSER_TESTS,
  say,
} from "./_browser.ts";

const browserTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({
    name,
    ignore: !RUN_BROWSER_TESTS,
    // playwright keeps the browser's pipes and timers of its own.
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });

/** Waits until the open conversation of `chat` shows a message containing `text`. */
function seen(chat: ChatPage, text: string) {
  return chat.page.locator(".log:not([hidden]) li.msg", { hasText: text }).first().waitFor({
    timeout: 15_000,
  });
}

/** How many messages of conversation log `label` contain `text`. */
function countIn(chat: ChatPage, label: string, text: string): Promise<number> {
  return chat.page.locator(`ol.log[aria-label="${label}"] li.msg`, { hasText: text }).count();
}

/** Console errors other than the browser's own note of a failed WebSocket while offline. */
function realErrors(chat: ChatPage): string[] {
  return chat.errors.filter((error) => !/WebSocket connection to .* failed/.test(error));
}

browserTest(
  "web page: two pages and a TCP client talk in the lobby, a group and privately",
  async () => {
    await using server = await startTestServer({ web: "127.0.0.1:0" });
    const url = `http://127.0.0.1:${webPort(server)}/`;
    const browser = await launch();
    try {
      const alice = await openChat(browser, url, "alice");
      const carol = await openChat(browser, url, "carol");
      await using bob = await connect(server, "bob");

      // The lobby, both ways.
      await say(alice.page, "hello everyone");
      assert.equal(await bob.waitFor("MSG alice"), "MSG alice * :hello everyone");
      await seen(carol, "hello everyone");
      await bob.send("hi from the terminal, carol");
      await seen(alice, "hi from the terminal");
      await seen(carol, "hi from the terminal");
      // Own name mentioned: highlighted; the sender has its colour.
      const line = carol.page.locator("li.msg", { hasText: "hi from the terminal" });
      assert.match(await line.getAttribute("class") ?? "", /\bmention\b/);
      assert.match(await line.locator(".from").getAttribute("style") ?? "", /color: rgb/);

      // A group: alice creates it, carol joins from the page, bob from the terminal.
      await alice.page.getByLabel("Group", { exact: true }).fill("dev");
      await alice.page.getByRole("button", { name: "Create group" }).click();
      await alice.page.getByRole("heading", { name: "#dev" }).waitFor();
      await carol.page.getByLabel("Group", { exact: true }).fill("dev");
      await carol.page.getByRole("button", { name: "Join group" }).click();
      await carol.page.getByRole("heading", { name: "#dev" }).waitFor();
      assert.equal((await bob.command(":group join dev")).at(-1), "OK group join dev");
      await say(alice.page, "in the group");
      assert.equal(await bob.waitFor("MSG alice #dev"), "MSG alice #dev :in the group");
      await seen(carol, "in the group");
      await bob.send(":group send dev from bob to the group");
      await seen(alice, "from bob to the group");

      // Privately: carol clicks alice's name; alice sees an unread count, then the message.
      await carol.page.getByRole("button", { name: "Message alice" }).click();
      await say(carol.page, "just for you, alice");
      const unread = alice.page.getByRole("button", { name: "@carol, 1 unread" });
      await unread.waitFor();
      await unread.click();
      await seen(alice, "just for you");
      await bob.send(":pm alice psst from the terminal");
      await alice.page.getByRole("button", { name: "@bob, 1 unread" }).click();
      await seen(alice, "psst from the terminal");
      await say(alice.page, "back at you, bob");
      assert.equal(await bob.waitFor("PM alice"), "PM alice :back at you, bob");

      // A typed command works as in the terminal client.
      await say(alice.page, ":whoami");
      await alice.page.locator("li.sys", { hasText: "WHOAMI alice" }).waitFor();

      // Leaving a group from the side list.
      await carol.page.getByRole("button", { name: "Leave #dev" }).click();
      assert.match(await bob.waitFor("PART carol"), /^PART carol #dev left/);

      for (const chat of [alice, carol]) {
        assert.deepEqual(chat.errors, []);
        assert.deepEqual(chat.dialogs, []);
      }
      // The README's screenshots: SWITCHBOARD_CAPTURE_WEB=docs deno test … --filter "two pages".
      const captureDir = Deno.env.get("SWITCHBOARD_CAPTURE_WEB");
      if (captureDir !== undefined) {
        await carol.page.setViewportSize({ width: 960, height: 560 });
        await carol.page.getByRole("button", { name: /^Lobby/ }).click();
        for (const scheme of ["light", "dark"] as const) {
          await carol.page.emulateMedia({ colorScheme: scheme });
          await carol.page.screenshot({ path: `${captureDir}/web-chat-${scheme}.png` });
        }
      }
    } finally {
      await browser.close();
    }
  },
);

browserTest("web page: a message with HTML shows as text and runs nothing", async () => {
  await using server = await startTestServer({ web: "127.0.0.1:0" });
  const url = `http://127.0.0.1:${webPort(server)}/`;
  const browser = await launch();
  try {
    const alice = await openChat(browser, url, "alice");
    await using bob = await connect(server, "bob");
    const evil = "<img src=x onerror=alert(1)>";
    await bob.send(evil);
    await bob.send(`:pm alice ${evil}<script>alert(2)</script>`);
    await seen(alice, evil);
    const text = await alice.page.locator("li.msg .text").first().textContent();
    assert.equal(text, evil);
    await alice.page.getByRole("button", { name: "@bob, 1 unread" }).click();
    await seen(alice, "<script>");
    await alice.page.waitForTimeout(300);
    assert.equal(await alice.page.locator(".logs img, .logs script").count(), 0);
    assert.deepEqual(alice.dialogs, []);
    assert.deepEqual(alice.errors, []);
  } finally {
    await browser.close();
  }
});

browserTest("web page: a broken connection resumes its session and loses nothing", async () => {
  await using server = await startTestServer({ web: "127.0.0.1:0" });
  await using proxy = new CuttableProxy(webPort(server));
  const url = `http://127.0.0.1:${proxy.port}/`;
  const browser = await launch();
  try {
    const alice = await openChat(browser, url, "alice");
    const carol = await openChat(browser, url, "carol");
    await using bob = await connect(server, "bob");
    await say(alice.page, "before the break");
    await seen(carol, "before the break");
    proxy.cut();
    await carol.page.locator(".banner.offline").waitFor();
    // Sent while the pages are away: replayed to them by the resume.
    await bob.send("while you were away");
    await say(alice.page, "typed while offline");
    assert.equal(
      await bob.waitFor("MSG alice * :typed", 20_000),
      "MSG alice * :typed while offline",
    );
    for (const chat of [alice, carol]) {
      await seen(chat, "while you were away");
      await chat.page.locator(".banner.online", { hasText: "Back online" }).waitFor();
      assert.equal(await countIn(chat, "Lobby", "before the break"), 1);
      assert.equal(await countIn(chat, "Lobby", "while you were away"), 1);
    }
    await seen(carol, "typed while offline");
    // The sessions were resumed: bob never saw them leave.
    const list = await bob.command(":list");
    assert.deepEqual(list.filter((l) => l.startsWith("USER")).sort(), [
      "USER alice",
      "USER bob",
      "USER carol",
    ]);
    assert.ok(!bob.buffered.some((line) => line.startsWith("LEAVE")), bob.buffered.join(" | "));
    for (const chat of [alice, carol]) assert.deepEqual(realErrors(chat), []);
  } finally {
    await browser.close();
  }
});

browserTest(
  "web page: the server restarts, the pages come back, nothing lost or shown twice",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "switchboard-web-restart-" });
    const history = ["--history", `${dir}/history.db`];
    let server = await WebServerProcess.start(["--port", "0", "--web", "127.0.0.1:0", ...history]);
    const { port, webPort: web, url } = server;
    const browser = await launch();
    try {
      const alice = await openChat(browser, url, "alice");
      const carol = await openChat(browser, url, "carol");
      await alice.page.getByLabel("Group", { exact: true }).fill("ops");
      await alice.page.getByRole("button", { name: "Create group" }).click();
      await carol.page.getByLabel("Group", { exact: true }).fill("ops");
      await carol.page.getByRole("button", { name: "Join group" }).click();
      await carol.page.getByRole("heading", { name: "#ops" }).waitFor();
      await say(carol.page, "group line before");
      await seen(alice, "group line before");
      await alice.page.getByRole("button", { name: "Lobby", exact: true }).click();
      await say(alice.page, "lobby line before");
      await carol.page.getByRole("button", { name: "Lobby, 1 unread" }).click();
      await seen(carol, "lobby line before");

      const stopped = await server.stop();
      assert.equal(stopped.code, 0, stopped.stderr);
      await alice.page.locator(".banner.offline").waitFor();
      await say(alice.page, "said while the server was down");
      server = await WebServerProcess.start([
        "--port",
        String(port),
        "--web",
        `127.0.0.1:${web}`,
        ...history,
      ]);
      await seen(carol, "said while the server was down");
      for (const chat of [alice, carol]) {
        await chat.page.locator(".banner.online", { hasText: "Back online" }).waitFor({
          timeout: 20_000,
        });
        assert.equal(await countIn(chat, "Lobby", "lobby line before"), 1);
        assert.equal(await countIn(chat, "#ops", "group line before"), 1);
      }
      assert.equal(await countIn(carol, "Lobby", "said while the server was down"), 1);
      // The groups were joined again: a group message still reaches the other page.
      await carol.page.getByRole("button", { name: /^#ops/ }).click();
      await say(carol.page, "group line after");
      await alice.page.getByRole("button", { name: "#ops, 1 unread" }).click();
      await seen(alice, "group line after");
      for (const chat of [alice, carol]) assert.deepEqual(realErrors(chat), []);
    } finally {
      await browser.close();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

browserTest("web page: a file goes from one page to the other with the same SHA-256", async () => {
  const filesDir = await Deno.makeTempDir({ prefix: "switchboard-web-area-" });
  await using server = await startTestServer({ web: "127.0.0.1:0", filesDir });
  const url = `http://127.0.0.1:${webPort(server)}/`;
  const browser = await launch();
  try {
    const alice = await openChat(browser, url, "alice");
    const carol = await openChat(browser, url, "carol");
    const content = new Uint8Array(300_000).map((_, i) => (i * 31 + 7) & 255);
    const sha = await sha256(content);

    // A direct send: alice in her conversation with carol; carol accepts.
    await alice.page.getByRole("button", { name: "Message carol" }).click();
    await alice.page.locator("#file-input").setInputFiles({
      name: "data file.bin",
      mimeType: "application/octet-stream",
      buffer: Buffer.from(content),
    });
    await carol.page.getByRole("button", { name: "@alice, 1 unread" }).click();
    await carol.page.getByRole("button", { name: "Accept data_file.bin from alice" }).click();
    const link = carol.page.getByRole("link", { name: "Save data_file.bin" });
    await link.waitFor();
    assert.equal(await link.getAttribute("download"), "data_file.bin");
    assert.equal(await savedSha256(carol, link), sha);
    await alice.page.locator("li.sys", { hasText: "carol delivered" }).waitFor();

    // The shared area: sent from the lobby with :put, downloaded from the list.
    await alice.page.getByRole("button", { name: "Lobby", exact: true }).click();
    await alice.page.locator("#file-input").setInputFiles({
      name: "notes.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("shared notes\n"),
    });
    await alice.page.locator("li.sys", { hasText: "notes.txt is in the shared files" }).waitFor();
    assert.equal(await Deno.readTextFile(`${filesDir}/notes.txt`), "shared notes\n");
    await carol.page.getByRole("button", { name: "Shared files" }).click();
    await carol.page.getByRole("button", { name: "Download notes.txt" }).click();
    const saved = carol.page.getByRole("link", { name: "Save notes.txt" });
    await saved.waitFor();
    assert.equal(
      await savedSha256(carol, saved),
      await sha256(new TextEncoder().encode("shared notes\n")),
    );
    // Chat goes on after the transfers.
    await say(alice.page, "after the files");
    await carol.page.keyboard.press("Escape");
    await carol.page.getByRole("button", { name: /^Lobby/ }).click();
    await seen(carol, "after the files");
    for (const chat of [alice, carol]) assert.deepEqual(chat.errors, []);
  } finally {
    await browser.close();
    await Deno.remove(filesDir, { recursive: true });
  }
});

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Clicks a download link as a user would and returns the SHA-256 of the file saved. */
async function savedSha256(chat: ChatPage, link: Locator): Promise<string> {
  const [download] = await Promise.all([chat.page.waitForEvent("download"), link.click()]);
  const path = await download.path();
  return await sha256(await Deno.readFile(path));
}

browserTest("web page: where accounts exist, a name and password log in", async () => {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-web-accounts-" });
  const accounts = `${dir}/accounts.json`;
  await writeAccountsFile(accounts, {
    users: { alice: { password: await hashPassword("correct horse", { N: 1024 }) } },
  });
  await using server = await startTestServer({ web: "127.0.0.1:0", accounts, requireLogin: true });
  const url = `http://127.0.0.1:${webPort(server)}/`;
  const browser = await launch();
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(url);
    const join = page.getByRole("button", { name: "Join", exact: true });
    // A name without an account is refused where the server keeps names for accounts.
    await page.getByLabel("Name").fill("guest");
    await join.click();
    await page.getByRole("alert").filter({ hasText: /account/i }).waitFor();
    await page.getByLabel("Name").fill("Alice");
    await page.getByLabel(/^Password/).fill("wrong");
    await join.click();
    await page.getByRole("alert").filter({ hasText: "wrong name or password" }).waitFor();
    await page.getByLabel(/^Password/).fill("correct horse");
    await join.click();
    await page.getByLabel("Message", { exact: true }).waitFor();
    await page.getByText("Signed in as alice").waitFor();
    assert.equal(server.stats().online, 1);
  } finally {
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
});

browserTest("web page: keyboard first, named controls, and a phone-sized screen", async () => {
  await using server = await startTestServer({ web: "127.0.0.1:0" });
  const url = `http://127.0.0.1:${webPort(server)}/`;
  const browser = await launch();
  try {
    const alice = await openChat(browser, url, "alice");
    const { page } = alice;
    await using bob = await connect(server, "bob");
    // Enter sends; Up recalls the lines sent, newest first; Down comes back.
    await say(page, "first line");
    await say(page, "second line");
    assert.equal(await bob.waitFor("MSG alice * :second"), "MSG alice * :second line");
    const box = page.getByLabel("Message", { exact: true });
    await box.press("ArrowUp");
    assert.equal(await box.inputValue(), "second line");
    await box.press("ArrowUp");
    assert.equal(await box.inputValue(), "first line");
    await box.press("ArrowDown");
    assert.equal(await box.inputValue(), "second line");
    // Every button and text field has an accessible name.
    await page.getByRole("button", { name: "Shared files" }).click();
    // The panel opens once its list has come: wait for it (isVisible() does not), so that the
    // names below are checked with its controls on the page.
    const shared = page.locator("#shared");
    await shared.waitFor({ state: "visible", timeout: 10_000 });
    const tree = await page.locator("body").ariaSnapshot();
    const unnamed = tree.split("\n").filter((line) =>
      /^\s*- (button|textbox|link|checkbox)\b/.test(line) && !/"[^"]+"/.test(line)
    );
    assert.deepEqual(unnamed, [], tree);
    // Esc closes the open panel.
    assert.ok(await shared.isVisible());
    await page.keyboard.press("Escape");
    await shared.waitFor({ state: "hidden", timeout: 10_000 });
    // On a phone the side list is a panel behind the Conversations button; Esc closes it.
    await page.setViewportSize({ width: 390, height: 740 });
    const toggle = page.getByRole("button", { name: "Conversations" });
    await toggle.waitFor();
    assert.equal(await toggle.getAttribute("aria-expanded"), "false");
    await toggle.click();
    assert.equal(await toggle.getAttribute("aria-expanded"), "true");
    await page.getByRole("button", { name: "Message bob" }).waitFor();
    await page.keyboard.press("Escape");
    assert.equal(await toggle.getAttribute("aria-expanded"), "false");
    assert.ok(await box.isVisible());
    assert.deepEqual(alice.errors, []);
  } finally {
    await browser.close();
  }
});

browserTest(
  "web page: a desktop notification while the tab is hidden, only once allowed",
  async () => {
    await using server = await startTestServer({ web: "127.0.0.1:0" });
    const url = `http://127.0.0.1:${webPort(server)}/`;
    const browser = await launch();
    try {
      const context = await browser.newContext();
      // A stand-in for the browser's notifications, recording what the page shows.
      await context.addInitScript(() => {
        const shown: string[][] = [];
        let permission = "default";
        class FakeNotification {
          static get permission() {
            return permission;
          }
          static requestPermission() {
            permission = "granted";
            return Promise.resolve(permission);
          }
          onclick: unknown = null;
          constructor(title: string, options: { body: string }) {
            shown.push([title, options.body]);
          }
        }
        Object.assign(globalThis, { Notification: FakeNotification, shownNotes: shown });
      });
      const page = await context.newPage();
      await page.goto(url);
      await page.getByLabel("Name").fill("alice");
      await page.getByRole("button", { name: "Join", exact: true }).click();
      await page.getByLabel("Message", { exact: true }).waitFor();
      await using bob = await connect(server, "bob");
      const notes = () =>
        page.evaluate(() => (globalThis as unknown as { shownNotes: string[][] }).shownNotes);
      await page.evaluate(() =>
        Object.defineProperty(
          (globalThis as unknown as { document: object }).document,
          "hidden",
          { get: () => true },
        )
      );
      await bob.send("before permission");
      await page.locator("li.msg", { hasText: "before permission" }).waitFor();
      assert.deepEqual(await notes(), []);
      await page.getByRole("button", { name: "Notify me" }).click();
      await page.getByRole("button", { name: "Notify me" }).waitFor({ state: "hidden" });
      await bob.send(":pm alice are you there?");
      await page.getByRole("button", { name: "@bob, 1 unread" }).waitFor();
      assert.deepEqual(await notes(), [["bob (private)", "are you there?"]]);
      assert.equal(await page.title(), "(1) Switchboard");
    } finally {
      await browser.close();
    }
  },
);

browserTest("web page: cut for inactivity, the page resumes at once and quietly", async () => {
  await using server = await startTestServer({ web: "127.0.0.1:0", idleTimeout: 1 });
  const url = `http://127.0.0.1:${webPort(server)}/`;
  const browser = await launch();
  try {
    const alice = await openChat(browser, url, "alice");
    await eventually(() => server.stats().disconnects.idle >= 2, 10_000, "two idle cuts");
    await using bob = await connect(server, "bob");
    await bob.send("still there?");
    await seen(alice, "still there?");
    const list = await bob.command(":list");
    assert.ok(list.includes("USER alice"), list.join(" | "));
    assert.equal(await alice.page.locator("li.sys", { hasText: "Disconnected" }).count(), 0);
    assert.deepEqual(realErrors(alice), []);
  } finally {
    await browser.close();
  }
});
