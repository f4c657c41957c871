/**
 * `host:port` addresses as the `http` setting takes them: an IPv4 address, `[IPv6]` or
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
