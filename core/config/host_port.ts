/**
 * Values of the web chat's settings: a `host:port` address (`web`) and an origin (`webOrigins`).
 * @module
 */

import { isIpAddress } from "../util/cidr.ts";

/**
 * `"127.0.0.1:8080"` → `["127.0.0.1", 8080]`, `"[::1]:0"` → `["::1", 0]`; undefined when the
 * text is not an IP address or `localhost`, a colon and a port from 0 to 65535.
 *
 * @example
 * ```ts
 * import { splitHostPort } from "./host_port.ts";
 * console.assert(splitHostPort("[::1]:8080")?.[1] === 8080);
 * console.assert(splitHostPort("example.org:80") === undefined);
 * ```
 */
export function splitHostPort(text: string): [host: string, port: number] | undefined {
  const match = /^(\[[^\]]+\]|[^:\[\]]+):([0-9]{1,5})$/.exec(text.trim());
  if (match === null) return undefined;
  const host = match[1]!.replace(/^\[(.*)\]$/, "$1");
  const port = Number(match[2]);
  if (port > 65535 || (host !== "localhost" && !isIpAddress(host))) return undefined;
  return [host, port];
}

/** Why `entry` is not an origin (`scheme://host[:port]`) or `*`; undefined when it is one. */
export function originProblem(entry: string): string | undefined {
  if (entry === "*") return undefined;
  try {
    const url = new URL(entry);
    if (!/^https?:$/.test(url.protocol) || url.origin !== entry.replace(/\/$/, "")) {
      return "expected scheme://host[:port], e.g. https://chat.example.org";
    }
  } catch {
    return "not a URL";
  }
  return undefined;
}
