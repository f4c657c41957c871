/**
 * Browser tests' helpers: Debian's `chromium` (or `CHROMIUM_PATH`) driven by playwright-core,
 * never a downloaded browser; a chat page signed in under a name; and a TCP proxy the tests cut
 * to break a page's connection without stopping the server.
 * @module
 */

import { type Browser, chromium, type Page } from "playwright-core";

/** The chromium executable: `CHROMIUM_PATH`, else `chromium` or `chromium-browser` on PATH. */
export function findChromium(): string | undefined {
  const given = Deno.env.get("CHROMIUM_PATH");
  if (given) return given;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    for (const name of ["chromium", "chromium-browser"]) {
      try {
        if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
      } catch {
        // Not there.
      }
    }
  }
  return undefined;
}

/** Where the browser tests run: chromium is found, or CI (where a missing one must fail). */
export const CHROMIUM: string | undefined = findChromium();
/** True when the browser tests should run (chromium found, or on CI where missing one fails). */
export const RUN_BROWSER_TESTS: boolean = CHROMIUM !== undefined || Deno.env.get("CI") === "true";
if (!RUN_BROWSER_TESTS) {
  console.warn(
    "web browser tests skipped: no chromium (apt-get install chromium, or CHROMIUM_PATH)",
  );
}

/** Launches headless chromium (`--no-sandbox` when running as root, as in CI containers). */
export function launch(): Promise<Browser> {
  if (CHROMIUM === undefined) {
    throw new Error("chromium is not installed (apt-get install chromium)");
  }
  const root = Deno.uid?.() === 0;
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: root ? ["--no-sandbox"] : [],
  });
}

/** A page of the chat with its console errors and dialogs collected. */
export interface ChatPage {
  page: Page;
  /** Console errors and uncaught exceptions, as text. */
  errors: string[];
  /** Dialogs opened (alert, confirm …): a script ran that should not have. */
  dialogs: string[];
}

/** Opens `url` in a new context and signs in as `name`; resolves once the chat shows. */
export async function openChat(browser: Browser, url: string, name: string): Promise<ChatPage> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(url);
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Join", exact: true }).click();
  await page.getByLabel("Message", { exact: true }).waitFor({ state: "visible" });
  return { page, errors, dialogs };
}

/** Types `text` in the message box and presses Enter. */
export async function say(page: Page, text: string): Promise<void> {
  const box = page.getByLabel("Message", { exact: true });
  await box.fill(text);
  await box.press("Enter");
}

/** Texts of the messages shown in the open conversation (the `.text` of each line). */
export function shownTexts(page: Page): Promise<string[]> {
  return page.locator(".log:not([hidden]) li.msg .text").allTextContents();
}

/** A TCP proxy to `targetPort` whose connections {@linkcode CuttableProxy.cut} resets at once. */
export class CuttableProxy implements AsyncDisposable {
  readonly port: number;
  readonly #listener: Deno.TcpListener;
  readonly #conns = new Set<Deno.Conn>();
  readonly #loop: Promise<void>;

  constructor(targetPort: number) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = this.#listener.addr.port;
    this.#loop = this.#accept(targetPort);
  }

  async #accept(targetPort: number): Promise<void> {
    for (;;) {
      let client: Deno.Conn;
      try {
        client = await this.#listener.accept();
      } catch {
        return;
      }
      void (async () => {
        let server: Deno.Conn;
        try {
          server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
        } catch {
          client.close();
          return;
        }
        this.#conns.add(client);
        this.#conns.add(server);
        const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
          try {
            await from.readable.pipeTo(to.writable, { preventClose: true });
          } catch {
            // Cut or closed.
          }
          this.#close(from);
          this.#close(to);
        };
        await Promise.all([pipe(client, server), pipe(server, client)]);
      })();
    }
  }

  #close(conn: Deno.Conn): void {
    if (!this.#conns.delete(conn)) return;
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }

  /** Closes every proxied connection (both ends), as a network failure would. */
  cut(): void {
    for (const conn of [...this.#conns]) this.#close(conn);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    this.cut();
    await this.#loop;
  }
}
