/**
 * Debian's `chromium`, driven by `npm:playwright-core` (which never downloads a browser here):
 * the executable comes from `CHROMIUM_PATH`, or `chromium` / `chromium-browser` on `PATH`. Tests
 * check {@linkcode CHROMIUM} and skip without it, but only outside CI: CI installs the package, so
 * there a missing browser fails the run instead of hiding the test.
 * @module
 */

import { type Browser, chromium } from "playwright-core";

function findChromium(): string | undefined {
  const configured = Deno.env.get("CHROMIUM_PATH");
  if (configured !== undefined && configured !== "") return configured;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    for (const name of ["chromium", "chromium-browser"]) {
      const path = `${dir}/${name}`;
      try {
        if (Deno.statSync(path).isFile) return path;
      } catch {
        // Not in this folder.
      }
    }
  }
  return undefined;
}

/** The browser's executable, or undefined when there is none. */
export const CHROMIUM: string | undefined = findChromium();

/** True when a test that needs chromium should be skipped (no browser, and not in CI). */
export const SKIP_WITHOUT_CHROMIUM: boolean = CHROMIUM === undefined &&
  Deno.env.get("CI") !== "true";

/** What a skipped test's name says, so the skip is visible in the output. */
export const CHROMIUM_SKIP_NOTE: string = SKIP_WITHOUT_CHROMIUM
  ? " (skipped: no chromium on PATH; apt-get install chromium, or set CHROMIUM_PATH)"
  : "";

/**
 * Launches headless chromium with a fresh temporary profile. As root (a CI container) the
 * sandbox cannot start, so it is turned off there only.
 */
export async function launchChromium(): Promise<Browser> {
  if (CHROMIUM === undefined) {
    throw new Error("chromium not found: install Debian's chromium or set CHROMIUM_PATH");
  }
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: Deno.uid() === 0 ? ["--no-sandbox"] : [],
  });
}
