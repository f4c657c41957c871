/**
 * The admin token: taken from configuration as given (never written anywhere), or generated at
 * start and written to a token file with mode 0600 that the `shutdown` program reads. The file
 * is removed when the server exits.
 * @module
 */

import { dirname } from "node:path";

/** Where a server on `port` writes its generated token, relative to the working directory. */
export function defaultTokenFile(port: number): string {
  return `.switchboard/admin-${port}.token`;
}

/** 32 random bytes as hex. */
export function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** A token file that deletes itself on dispose (only if it still holds our token). */
export interface TokenFile extends AsyncDisposable {
  /** The file's path. */
  readonly path: string;
}

/** Writes `token` to `path` (creating its folder), readable by the owner only. */
export async function writeTokenFile(path: string, token: string): Promise<TokenFile> {
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(path, token + "\n", { mode: 0o600 });
  // `mode` applies only when the file is created; a stale file from a crashed server keeps its own.
  if (Deno.build.os !== "windows") await Deno.chmod(path, 0o600);
  return {
    path,
    async [Symbol.asyncDispose]() {
      try {
        if ((await Deno.readTextFile(path)).trim() === token) await Deno.remove(path);
      } catch {
        // Already gone.
      }
    },
  };
}

/** Reads a token file written by {@linkcode writeTokenFile}. */
export async function readTokenFile(path: string): Promise<string> {
  return (await Deno.readTextFile(path)).trim();
}
