/**
 * Direct transfers (`:send`): the upload is relayed through a spool file, not streamed to the
 * recipients as it arrives. The sender's bytes go to a temporary file while their SHA-256 is
 * checked; only a complete, verified file becomes an offer (`OFFER` line) to the recipients, who
 * fetch it with `:accept` (or drop it with `:decline`) when they choose.
 *
 * Why a spool file rather than streaming: recipients never see a partial or corrupted file (a
 * streamed payload cannot be taken back once a recipient's framing has promised N bytes), the
 * sender is never slowed by the slowest recipient, a recipient that does not want the file costs
 * no bandwidth, and each download is an ordinary payload with the `:get` framing. The price is
 * disk space for pending offers and the time of one extra pass over the bytes. The space is
 * bounded from the moment a `:send` is read, before any byte is stored: `--spool-quota` for the
 * whole spool, `--spool-sender-quota` for the bytes one sender has waiting (uploads in progress
 * and offers not yet settled, still counted after the sender renamed or left), and
 * `--offer-timeout` for how long they wait.
 * @module
 */

import { join } from "node:path";
import type { Caller, ServerContext } from "../context.ts";
import type { Peer } from "../hub.ts";
import { HashingFile, removeQuietly } from "../../util/hashing_file.ts";
import { TEMP_PREFIX } from "./area.ts";
import { formatLine, nameKey } from "../../protocol/grammar.ts";

/** How an offer ended for one recipient; sent to the sender as `RECEIPT <id> <user> <outcome>`. */
export type Outcome = "delivered" | "declined" | "expired" | "failed" | "left";

/**
 * Spool space held for one `:send`, from its command line until the upload is refused, broken, or
 * its offer settled; see {@linkcode Spool.reserve}.
 */
export interface SpoolHold {
  /** Bytes held. */
  readonly size: number;
  /** The connection that sent it. */
  readonly connection: number;
  /** Whom the bytes count against: the sender's name (without regard to case), kept on `:nick`. */
  sender: string;
}

/** Why {@linkcode Spool.reserve} refused: always `ERR spool-full`, with a text for the sender. */
export interface SpoolRefusal {
  code: "spool-full";
  text: string;
}

/** A verified upload waiting for its recipients. */
export interface Offer {
  /** Server-wide number, the `<id>` of `OFFER`, `:accept` and `:decline`. */
  readonly id: number;
  /** Who sent it (for receipts; may have left since). */
  readonly sender: Caller;
  /** The sender's name when it was sent. */
  readonly from: string;
  /** `#group` for a group send, otherwise the recipient's name. */
  readonly target: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  /** The spool file. */
  readonly path: string;
  /** The space it holds, given back once it is disposed of. */
  readonly hold: SpoolHold;
  /** Recipients that have neither accepted nor declined yet, by connection id. */
  readonly pending: Map<number, Caller>;
  /** Downloads in progress. */
  active: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The spool of one server: pending offers and their files. Created on first use (see
 * `server_files.ts`); it listens to the server's events to drop recipients that disconnect
 * and to delete every spool file when the server closes.
 */
export class Spool {
  readonly #ctx: ServerContext;
  readonly #offers = new Map<number, Offer>();
  #dir: Promise<string> | undefined;
  #ownsDir = false;
  #dirPath = "";
  #nextId = 1;
  #reservedBytes = 0;
  readonly #holds = new Set<SpoolHold>();
  /** Bytes held per sender key. */
  readonly #bySender = new Map<string, number>();
  #closed = false;

  constructor(ctx: ServerContext) {
    this.#ctx = ctx;
    ctx.events.on("disconnect", ({ id }) => this.#forget(id));
    ctx.events.on("rename", ({ id, to }) => this.#rename(id, to));
    ctx.events.on("closed", () => this.#close());
  }

  /** Bytes of spool files and uploads in progress. */
  get usedBytes(): number {
    return this.#reservedBytes;
  }

  /** Bytes that the sender called `name` has waiting in the spool (uploads and offers). */
  senderBytes(name: string): number {
    return this.#bySender.get(nameKey(name)) ?? 0;
  }

  /**
   * Holds `size` bytes of spool space for a `:send` from `sender` (connection `connection`), or
   * says why not: the sender's waiting bytes would pass `--spool-sender-quota`, or the spool's
   * would pass `--spool-quota` (0 = no limit for either).
   */
  reserve(sender: string, connection: number, size: number): SpoolHold | SpoolRefusal {
    const { spoolQuota, spoolSenderQuota } = this.#ctx.options;
    const key = nameKey(sender);
    const waiting = this.#bySender.get(key) ?? 0;
    if (spoolSenderQuota > 0 && waiting + size > spoolSenderQuota) {
      return {
        code: "spool-full",
        text: `you have ${waiting} bytes waiting for recipients; a sender may have at most ` +
          `${spoolSenderQuota} (wait for :accept or :decline, or for offers to expire)`,
      };
    }
    if (spoolQuota > 0 && this.#reservedBytes + size > spoolQuota) {
      const free = Math.max(0, spoolQuota - this.#reservedBytes);
      return {
        code: "spool-full",
        text: `the spool has ${free} of ${spoolQuota} bytes free; try again later`,
      };
    }
    const hold: SpoolHold = { size, connection, sender: key };
    this.#holds.add(hold);
    this.#reservedBytes += size;
    this.#bySender.set(key, waiting + size);
    return hold;
  }

  /** Gives back space held by {@linkcode Spool.reserve}; a second call does nothing. */
  release(hold: SpoolHold): void {
    if (!this.#holds.delete(hold)) return;
    this.#reservedBytes -= hold.size;
    this.#charge(hold.sender, -hold.size);
  }

  #charge(key: string, bytes: number): void {
    const total = (this.#bySender.get(key) ?? 0) + bytes;
    if (total === 0) this.#bySender.delete(key);
    else this.#bySender.set(key, total);
  }

  /** A sender renamed: what it holds now counts against its new name. */
  #rename(connection: number, to: string): void {
    const key = nameKey(to);
    for (const hold of this.#holds) {
      if (hold.connection !== connection || hold.sender === key) continue;
      this.#charge(hold.sender, -hold.size);
      hold.sender = key;
      this.#charge(key, hold.size);
    }
  }

  /** A new temporary file in the spool folder (created on first use). */
  async createFile(): Promise<HashingFile> {
    return await HashingFile.create(await this.#folder(), `${TEMP_PREFIX}send-`);
  }

  /**
   * Turns a verified spool file into an offer: every recipient gets
   * `OFFER <id> <from> <target> <name> <size> <sha256>`. The offer expires after
   * `--offer-timeout` seconds.
   */
  offer(
    sender: Caller,
    target: string,
    recipients: Caller[],
    file: { name: string; size: number; sha256: string; path: string; hold: SpoolHold },
  ): Offer {
    const offer: Offer = {
      id: this.#nextId++,
      sender,
      from: sender.name,
      target,
      ...file,
      pending: new Map(),
      active: 0,
      timer: undefined,
    };
    for (const recipient of recipients) {
      const id = recipient.session?.id;
      if (id !== undefined) offer.pending.set(id, recipient);
    }
    this.#offers.set(offer.id, offer);
    const line = formatLine("OFFER", [
      offer.id,
      offer.from,
      target,
      offer.name,
      offer.size,
      offer.sha256,
    ]);
    for (const recipient of offer.pending.values()) recipient.send(line);
    offer.timer = setTimeout(() => this.#expire(offer), this.#ctx.options.offerTimeout * 1000);
    this.#ctx.log.traffic.info(
      "offer {id} of {file} ({bytes} bytes) from {name} to {target}: {recipients} recipients",
      {
        id: offer.id,
        file: offer.name,
        bytes: offer.size,
        name: offer.from,
        target,
        recipients: offer.pending.size,
      },
    );
    return offer;
  }

  /**
   * Takes the offer `id` for `caller` (who must be one of its pending recipients): it is no longer
   * pending for them. Returns undefined when there is no such offer for this caller.
   */
  claim(id: number, caller: Caller): Offer | undefined {
    const offer = this.#offers.get(id);
    const session = caller.session;
    if (offer === undefined || session === undefined) return undefined;
    if (offer.pending.get(session.id) !== caller) return undefined;
    offer.pending.delete(session.id);
    return offer;
  }

  /** Sends `RECEIPT` to the sender and deletes the spool file once nobody needs it. */
  settle(offer: Offer, recipient: string, outcome: Outcome): void {
    const sender = offer.sender;
    if (sender.session?.open ?? false) {
      sender.send(formatLine("RECEIPT", [offer.id, recipient, outcome]));
    }
    this.#ctx.log.traffic.info("offer {id} of {file} to {name}: {outcome}", {
      id: offer.id,
      file: offer.name,
      name: recipient,
      outcome,
    });
    this.#dispose(offer);
  }

  #expire(offer: Offer): void {
    offer.timer = undefined;
    const waiting = [...offer.pending.values()];
    offer.pending.clear();
    for (const recipient of waiting) this.settle(offer, recipient.name, "expired");
    this.#dispose(offer);
  }

  #forget(connectionId: number): void {
    for (const offer of [...this.#offers.values()]) {
      const recipient = offer.pending.get(connectionId);
      if (recipient === undefined) continue;
      offer.pending.delete(connectionId);
      this.settle(offer, recipient.name, "left");
    }
  }

  #dispose(offer: Offer): void {
    if (offer.pending.size > 0 || offer.active > 0 || !this.#offers.has(offer.id)) return;
    this.#offers.delete(offer.id);
    clearTimeout(offer.timer);
    this.release(offer.hold);
    // Synchronous: one unlink, and no operation outlives the server.
    try {
      Deno.removeSync(offer.path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        this.#ctx.log.server.error("cannot remove spool file {file}: {error}", {
          file: offer.path,
          error: String(error),
        });
      }
    }
  }

  #folder(): Promise<string> {
    this.#dir ??= (async () => {
      const configured = this.#ctx.options.spoolDir;
      if (configured === "") {
        this.#ownsDir = true;
        this.#dirPath = await Deno.makeTempDir({ prefix: "switchboard-spool-" });
        return this.#dirPath;
      }
      await Deno.mkdir(configured, { recursive: true });
      // Files of a previous run are useless: their offers died with it.
      for await (const entry of Deno.readDir(configured)) {
        if (entry.isFile && entry.name.startsWith(TEMP_PREFIX)) {
          await removeQuietly(join(configured, entry.name));
        }
      }
      this.#dirPath = configured;
      return configured;
    })();
    this.#dir.catch(() => this.#dir = undefined);
    return this.#dir;
  }

  /** The server closed: no download runs any more; remove every spool file, synchronously. */
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const offer of this.#offers.values()) {
      clearTimeout(offer.timer);
      try {
        Deno.removeSync(offer.path);
      } catch {
        // Already gone.
      }
    }
    this.#offers.clear();
    if (this.#ownsDir && this.#dirPath !== "") {
      try {
        Deno.removeSync(this.#dirPath, { recursive: true });
      } catch {
        // Already gone.
      }
    }
  }
}

/** The recipients of a `:send` once its upload is verified: online, and not the sender. */
export function recipientsOf(ctx: ServerContext, sender: Caller, target: string): Caller[] {
  const self = sender.peer;
  let peers: Peer[];
  if (target.startsWith("#")) {
    const group = ctx.hub.findGroup(target.slice(1));
    if (group === undefined || self === undefined || !group.members.has(self)) return [];
    peers = [...group.members];
  } else {
    const peer = ctx.hub.find(target);
    peers = peer === undefined ? [] : [peer];
  }
  return peers.filter((peer) => peer !== self).map(asCaller).filter((c) => c !== undefined);
}

/** A hub peer as a command caller: connections are both (test peers may not be). */
function asCaller(peer: Peer): Caller | undefined {
  const caller = peer as Partial<Caller>;
  return caller.session === undefined ? undefined : peer as unknown as Caller;
}
