/**
 * CIDR matching for access lists and admin addresses. IPv4 (`10.0.0.0/8`) and IPv6 (`fd00::/8`)
 * networks, or bare addresses (a /32 or /128). A peer written as an IPv4-mapped IPv6 address
 * (`::ffff:10.1.2.3`) is matched as the IPv4 address it carries, so one list works whether the
 * server listens on IPv4 or on a dual-stack IPv6 socket.
 *
 * @example
 * ```ts
 * import { CidrList } from "./cidr.ts";
 * const lan = new CidrList(["10.0.0.0/8", "::1"]);
 * console.assert(lan.matches("10.9.8.7") && lan.matches("::ffff:10.0.0.1") && lan.matches("::1"));
 * console.assert(!lan.matches("192.168.0.1"));
 * ```
 * @module
 */

/** An address as a family and a big-endian 32- or 128-bit number. */
interface ParsedAddress {
  family: 4 | 6;
  value: bigint;
}

/** One network: family, masked base and prefix length. */
interface Network {
  family: 4 | 6;
  base: bigint;
  mask: bigint;
}

const IPV4_BITS = 32n;
const IPV6_BITS = 128n;

/** Parses `a.b.c.d`; undefined when it is not a dotted quad of 0–255 without leading zeros. */
function parseIpv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const byte = Number(part);
    if (byte > 255) return undefined;
    value = (value << 8n) | BigInt(byte);
  }
  return value;
}

/** Parses an IPv6 address, with `::` compression and an optional trailing dotted quad. */
function parseIpv6(text: string): bigint | undefined {
  const zone = text.indexOf("%");
  if (zone !== -1) text = text.slice(0, zone);
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): bigint[] | undefined => {
    if (half === "") return [];
    const out: bigint[] = [];
    const pieces = half.split(":");
    for (const [i, piece] of pieces.entries()) {
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIpv4(piece);
        if (v4 === undefined) return undefined;
        out.push(v4 >> 16n, v4 & 0xffffn);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        out.push(BigInt(`0x${piece}`));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const [first = "", second] = halves;
  const head = groups(first);
  const tail = second === undefined ? [] : groups(second);
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let value = 0n;
  for (const group of [...head, ...new Array<bigint>(missing).fill(0n), ...tail]) {
    value = (value << 16n) | group;
  }
  return value;
}

/** Parses an IPv4 or IPv6 address (brackets allowed); an IPv4-mapped IPv6 address becomes IPv4. */
function parseAddress(text: string): ParsedAddress | undefined {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const v4 = parseIpv4(bare);
  if (v4 !== undefined) return { family: 4, value: v4 };
  if (!bare.includes(":")) return undefined;
  const v6 = parseIpv6(bare);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { family: 4, value: v6 & 0xffffffffn };
  return { family: 6, value: v6 };
}

/** True when `text` is an IPv4 or IPv6 address. */
export function isIpAddress(text: string): boolean {
  return parseAddress(text) !== undefined;
}

/**
 * Why `text` is not a valid network, or undefined when it is one. Used by config validation to
 * name the problem ("bad prefix length /33") instead of a bare "invalid".
 */
export function cidrProblem(text: string): string | undefined {
  try {
    parseNetwork(text);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function parseNetwork(text: string): Network {
  const slash = text.indexOf("/");
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const address = parseAddress(addressText);
  if (address === undefined) throw new Error(`"${addressText}" is not an IPv4 or IPv6 address`);
  const mappedV6 = address.family === 4 && addressText.includes(":");
  const bits = address.family === 4 ? IPV4_BITS : IPV6_BITS;
  let prefix = bits;
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(prefixText)) {
      throw new Error(`"/${prefixText}" is not a prefix length`);
    }
    let given = BigInt(prefixText);
    // ::ffff:10.0.0.0/104 means 10.0.0.0/8.
    if (mappedV6) given -= IPV6_BITS - IPV4_BITS;
    const max = mappedV6 ? IPV6_BITS : bits;
    if (given < 0n || BigInt(prefixText) > max) {
      throw new Error(`prefix length /${prefixText} is out of range for ${addressText}`);
    }
    prefix = given;
  }
  const mask = ((1n << bits) - 1n) ^ ((1n << (bits - prefix)) - 1n);
  return { family: address.family, base: address.value & mask, mask };
}

/** A list of networks; {@linkcode CidrList.matches} is true when an address is in any of them. */
export class CidrList {
  readonly #networks: Network[];
  /** The networks as given, for display. */
  readonly entries: readonly string[];

  /** Parses every entry; throws `Error` naming the first invalid one. */
  constructor(entries: readonly string[]) {
    this.entries = [...entries];
    this.#networks = entries.map((entry) => {
      try {
        return parseNetwork(entry.trim());
      } catch (error) {
        throw new Error(`invalid network "${entry}": ${(error as Error).message}`);
      }
    });
  }

  /** True when the list has no entries. */
  get empty(): boolean {
    return this.#networks.length === 0;
  }

  /** True when `address` (IPv4, IPv6 or IPv4-mapped IPv6) lies in one of the networks. */
  matches(address: string): boolean {
    if (this.#networks.length === 0) return false;
    const parsed = parseAddress(address);
    if (parsed === undefined) return false;
    return this.#networks.some((network) =>
      network.family === parsed.family && (parsed.value & network.mask) === network.base
    );
  }
}

/**
 * The unit failed attempts are counted by: an IPv4 address as written (an IPv4-mapped IPv6
 * address as the IPv4 address it carries), or the /64 network of an IPv6 address, written
 * `2001:db8:0:1::/64` — one host or home usually holds a whole /64, so walking through its
 * addresses must not buy fresh attempts. Anything that is not an address (`console`) is its own key.
 *
 * @example
 * ```ts
 * import { attemptKey } from "./cidr.ts";
 * console.assert(attemptKey("::ffff:10.1.2.3") === "10.1.2.3");
 * console.assert(attemptKey("2001:db8::1") === attemptKey("2001:db8::ffff:2"));
 * console.assert(attemptKey("2001:db8::1") === "2001:db8:0:0::/64");
 * ```
 */
export function attemptKey(address: string): string {
  const parsed = parseAddress(address);
  if (parsed === undefined) return address;
  if (parsed.family === 4) {
    const v = parsed.value;
    return [v >> 24n, (v >> 16n) & 0xffn, (v >> 8n) & 0xffn, v & 0xffn].join(".");
  }
  const groups = [48n, 32n, 16n, 0n].map((shift) => ((parsed.value >> 64n >> shift) & 0xffffn));
  return `${groups.map((group) => group.toString(16)).join(":")}::/64`;
}
