/**
 * The command-line options every program that connects to a server takes (`client`,
 * `shutdown`), declared once for `node:util` `parseArgs`.
 * @module
 */

/** `--host`, `--port`, `--tls` and `--tls-ca`. */
export const CONNECT_OPTIONS = {
  host: { type: "string" },
  port: { type: "string" },
  tls: { type: "boolean" },
  "tls-ca": { type: "string" },
} as const;

/** The default port: the server's `--port`, or its `--tls-port` with `--tls`. */
export function defaultPort(tls: boolean): string {
  return tls ? "12346" : "12345";
}
