/**
 * Who may connect: the access lists, `--max-clients`, `--max-per-ip`, and whether the address
 * has admin rights from the start (`admins`). The server asks at accept, before a connection
 * task exists; a refused peer gets one `ERR` line and the stream is closed.
 * @module
 */

import type { ResolvedServerOptions } from "../config/options.ts";
import type { ByteStream } from "../net/stream.ts";
import type { DisconnectReason, ErrorCode } from "../protocol/errors.ts";
import { errLine } from "../protocol/grammar.ts";
import { CidrList } from "../util/cidr.ts";
import { settleWithin } from "../util/time.ts";

/** Why a peer is turned away: the `ERR` code, the reason counted, the text sent. */
export type Refusal = readonly [code: ErrorCode, reason: DisconnectReason, text: string];

/** How long a refused peer's `ERR` line may take to go out before the stream is closed. */
const REFUSAL_WRITE_MS = 1000;
const encoder = new TextEncoder();

/** The server's admission rules and its count of connections per address. */
export class Admission {
  #options: ResolvedServerOptions;
  #allow: CidrList;
  #deny: CidrList;
  #admins: CidrList;
  readonly #perIp = new Map<string, number>();

  /** Rules from the server's options. */
  constructor(options: ResolvedServerOptions) {
    this.#options = options;
    this.#allow = new CidrList(options.access.allow);
    this.#deny = new CidrList(options.access.deny);
    this.#admins = new CidrList(options.admins);
  }

  /**
   * Takes the rules of reloaded options (access lists, admins, caps); the count of open
   * connections per address is kept.
   */
  configure(options: ResolvedServerOptions): void {
    this.#options = options;
    this.#allow = new CidrList(options.access.allow);
    this.#deny = new CidrList(options.access.deny);
    this.#admins = new CidrList(options.admins);
  }

  /** Why a peer from `ip` is refused now, with `open` connections already open; or undefined. */
  refusal(ip: string, open: number, draining: boolean): Refusal | undefined {
    if (draining) return ["shutting-down", "shutdown", "the server is shutting down"];
    const { maxClients, maxPerIp } = this.#options;
    if (!this.allowed(ip)) {
      return ["refused", "refused", "your address is not allowed to connect"];
    }
    if (open >= maxClients) {
      return [
        "server-full",
        "server-full",
        `the server is full (${maxClients} connections); try again later`,
      ];
    }
    if (maxPerIp > 0 && (this.#perIp.get(ip) ?? 0) >= maxPerIp) {
      return ["too-many-connections", "refused", `at most ${maxPerIp} connections per address`];
    }
    return undefined;
  }

  /** True when the access lists let `ip` connect (deny wins; a non-empty allow list admits only its members). */
  allowed(ip: string): boolean {
    const { access } = this.#options;
    return !(
      (access.deny.length > 0 && this.#deny.matches(ip)) ||
      (access.allow.length > 0 && !this.#allow.matches(ip))
    );
  }

  /** True when `ip` is in `admins`: its connections start with admin rights. */
  isAdmin(ip: string): boolean {
    return this.#admins.matches(ip);
  }

  /** Counts a connection from `ip` as open. */
  admitted(ip: string): void {
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
  }

  /** Counts a connection from `ip` as closed. */
  closed(ip: string): void {
    const left = (this.#perIp.get(ip) ?? 1) - 1;
    if (left > 0) this.#perIp.set(ip, left);
    else this.#perIp.delete(ip);
  }
}

/** Tells a refused peer why (one `ERR` line, at most a second), then closes the stream. */
export async function turnAway(stream: ByteStream, refusal: Refusal): Promise<void> {
  const [code, , text] = refusal;
  try {
    await settleWithin(stream.write(encoder.encode(errLine(code, text))), REFUSAL_WRITE_MS);
  } finally {
    try {
      stream.close();
    } catch {
      // Closed.
    }
  }
}
