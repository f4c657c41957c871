/**
 * Test helper for the log files: logging into a temp folder around a test body.
 * @module
 */

import { join } from "node:path";
import { configureLogging, type LoggingOptions } from "../core/log/configure.ts";

/**
 * Configures text logging into a temp folder, runs `body` (which gets the folder), disposes the
 * logging (so everything buffered reaches the files) and returns every file the folder then holds,
 * rotated ones included, by name. The folder is removed.
 */
export async function withLogFolder(
  logging: Partial<LoggingOptions>,
  body: (dir: string) => Promise<void>,
): Promise<Map<string, Uint8Array>> {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-logs-" });
  try {
    {
      await using _logging = await configureLogging({
        logDir: dir,
        logFormat: "text",
        console: "off",
        ...logging,
      });
      await body(dir);
    }
    const files = new Map<string, Uint8Array>();
    for (const entry of Deno.readDirSync(dir)) {
      files.set(entry.name, await Deno.readFile(join(dir, entry.name)));
    }
    return files;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
