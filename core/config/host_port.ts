/**
 * `host:port` addresses as the `http` and `web` settings take them, and origins (`webOrigins`): an IPv4 address, `[IPv6]` or
 * `localhost`, a colon, and a port from 0 to 65535 (0 picks a free one).
 *
 * @example
 * ```ts
 * import { parseHostPort } from "./host_port.ts";
 * console.assert(parseHostPort("127.0.0.1:8222")?.port === 8222);
 * console.assert(parseHostPort("[::1]:0")?.hostname === "::1");
 * console.assert(parseHostPort("8222") === undefined);
 * ```
 * @module
 */

import { isIpAddress } from "../util/cidr.ts";

/** A parsed `host:port`. */
export interface HostPort {
  /** IP address (IPv6 without brackets) or `localhost`. */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
}

/** Parses `host:port` (IPv6 in brackets); `undefined` when `text` is not one. */
export function parseHostPort(text: string): HostPort | undefined {
  const match = /^(\[[^\]]+\]|[^:\[\]]+):([0-9]{1,5})$/.exec(text.trim());
  if (match === null) return undefined;
  const rawHost = match[1]!;
  const hostname = rawHost.startsWith("[") ? rawHost.slice(1, -1) : rawHost;
  const port = Number(match[2]);
  if (port > 65535) return undefined;
  if (hostname !== "localhost" && !isIpAddress(hostname)) return undefined;
  if (!rawHost.startsWith("[") && hostname.includes(":")) return undefined;
  return { hostname, port };
}

/**
 * `"127.0.0.1:8080"` → `["127.0.0.1", 8080]`, `"[::1]:0"` → `["::1", 0]`: {@linkcode parseHostPort}
 * as a pair (the web chat's `web` setting); undefined when the text is not a `host:port`.
 *
 * @example
 * ```ts
 * import { splitHostPort } from "./host_port.ts";
 * console.assert(splitHostPort("[::1]:8080")?.[1] === 8080);
 * console.assert(splitHostPort("example.org:80") === undefined);
 * ```
 */
export function splitHostPort(text: string): [host: string, port: number] | undefined {
  const parsed = parseHostPort(text);
  return parsed === undefined ? undefined : [parsed.hostname, parsed.port];
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
