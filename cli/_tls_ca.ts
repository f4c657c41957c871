/**
 * `--tls-ca FILE` of the `client` and `shutdown` programs: the PEM certificate of a private CA
 * to trust besides the system's store. Read before connecting, so a file that cannot be used is
 * a usage error (exit 2) with one line, not a TLS failure that blames the server.
 * @module
 */

import { fsReason, showPath } from "../core/config/path_checks.ts";

/** The CA file's text, or the line (without the program's prefix) saying why it cannot be used. */
export async function readTlsCa(path: string): Promise<{ pem: string } | { problem: string }> {
  let pem: string;
  try {
    pem = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    return { problem: `--tls-ca ${showPath(path)}: cannot read it (${fsReason(error)})` };
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    return { problem: `--tls-ca ${showPath(path)}: not a PEM certificate (no certificate in it)` };
  }
  return { pem };
}
