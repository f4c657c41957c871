/**
 * The recording point: every message the server accepts (a lobby line, `:group send`, `:pm`, a
 * console broadcast, an echoed line) passes through {@linkcode Recorder.record}, and only there.
 * It gives the message its id, encodes it to wire bytes once, routes it through the hub, then
 * counts it, acknowledges it, logs it and emits it. Message history and a cluster hook in here:
 * one place sees every message, in the order the server accepted them.
 *
 * The hot path is a batch: a connection hands over every lobby line of one read at once, and
 * they become one buffer that every recipient queues as the same `Uint8Array`.
 * @module
 */

import type { CongestionGate, HeldSender } from "./congestion.ts";
import type { Group, Hub, Peer } from "./hub.ts";
import type { MessageLog } from "../log/message_log.ts";
import type { ServerEventMap } from "./events.ts";
import type { StatsCounter } from "./stats.ts";
import type { Emitter } from "../util/emitter.ts";
import type { ErrorCode } from "../protocol/errors.ts";

/** One accepted message, as everything after the recording point sees it. */
export interface ChatMessage {
  /** Server-assigned, strictly increasing: a later message always has a larger id. */
  readonly id: number;
  /** When the server accepted it, in ms since the epoch. */
  readonly time: number;
  /** The sender's name: `server` for the console, `""` for an unnamed echo-mode client. */
  readonly from: string;
  /** `*` for the lobby, `#group`, the recipient's name for a private message, or `echo`. */
  readonly target: string;
  /** The text as UTF-8 bytes, control characters already neutralised. */
  readonly text: Uint8Array;
}

/** Who sent the messages being recorded. */
export interface Origin {
  /** The sender's name (`server` for the console). */
  readonly name: string;
  /** The sender's address as `ip:port`, or `console`, for the request log. */
  readonly address: string;
  /** The sender's hub peer, left out of a broadcast to the lobby or a group. */
  readonly peer?: Peer | undefined;
  /** What backpressure holds back when a recipient is congested (absent for the console). */
  readonly holdable?: HeldSender | undefined;
  /** Sends `ACK` for `count` lobby messages just recorded, when the sender asked for them. */
  acknowledge?(count: number): void;
  /**
   * Sends `NACK <seq> <code> :<text>` for `count` lobby messages just recorded, when the sender
   * asked for acknowledgements: a keeper could not take them (see {@linkcode Refusal}).
   */
  refuse?(count: number, code: ErrorCode, text: string): void;
  /** Whether the sender asked for `ACK`s: keepers make the messages durable first. */
  readonly ack?: boolean;
  /** Queues bytes to the sender itself (echo mode); `messages` as in {@linkcode Peer.deliver}. */
  deliver?(bytes: Uint8Array, messages?: number): void;
  /** Messages of this sender recorded so far (a connection's, for `/connz`); counted here. */
  messagesIn?: number;
}

/**
 * Texts that are slices of one buffer, as the lines of an echo run are: recorded without a view
 * per line (on a flood of 1 KiB echo lines, those views were a tenth of the server's time).
 */
export interface TextSlices {
  /** The buffer the texts are in. */
  readonly bytes: Uint8Array;
  /** The start and end offset of each text in `bytes`, one pair per text, in order. */
  readonly bounds: readonly number[];
}

/** The texts of messages recorded together: separate buffers, or slices of one. */
export type MessageTexts = readonly Uint8Array[] | TextSlices;

/** Where recorded messages go. */
export type Route =
  | { readonly kind: "lobby" }
  | { readonly kind: "group"; readonly group: Group }
  | { readonly kind: "user"; readonly peer: Peer }
  /** A private message to an account holder who is offline: kept by the mailbox, sent to nobody. */
  | { readonly kind: "offline"; readonly account: string }
  /** Back to the sender as `verbatim`: the lines with their own line endings. */
  | { readonly kind: "echo"; readonly verbatim: Uint8Array };

/**
 * Messages recorded together, as a {@linkcode MessageKeeper} gets them: ids `firstId` to
 * `firstId + count - 1`, all from `from` along `route`, and their wire lines in one buffer.
 */
export interface RecordedBatch {
  /** The id of the first message; the others follow one by one. */
  readonly firstId: number;
  /** How many messages. */
  readonly count: number;
  /** When the server accepted them, in ms since the epoch. */
  readonly time: number;
  /** The sender's name (`server` for the console). */
  readonly from: string;
  /** The sender's hub peer (absent for the console). */
  readonly sender: Peer | undefined;
  /** Where they went (never `echo`: echoed lines are not kept). */
  readonly route: Exclude<Route, { kind: "echo" }>;
  /** `*`, `#group` or the recipient's name, as in `MSG` lines and the log. */
  readonly target: string;
  /**
   * The wire lines (`MSG <from> <target> :<text>\n` or `PM <from> :<text>\n`), one per message,
   * in one buffer that nothing else writes to: a keeper may hold on to it.
   */
  readonly wire: Uint8Array;
  /** Bytes of each line before its text (the same for every line of the batch). */
  readonly prefixLength: number;
  /** Recorded by another cluster node and relayed here (`Recorder.relay`), not recorded here. */
  readonly relayed?: boolean;
}

/**
 * What a keeper answers when it could not take a batch (a cluster node whose link is down and
 * whose outbox is full): a sender of lobby messages with acknowledgements on gets
 * `NACK <seq> <code> :<text>` for them instead of `ACK`. The messages were still delivered here.
 */
export interface Refusal {
  readonly code: ErrorCode;
  readonly text: string;
}

/**
 * Something that keeps what passes the recording point: the message history, the messages a
 * resumed session may have missed. Called after delivery, in the order of the ids; it must not
 * throw and must not block (batch its own writes).
 */
export interface MessageKeeper {
  /**
   * Takes one batch of lobby, group or private messages. Returns a {@linkcode Refusal} when it
   * could not (nothing, the usual case, when it did).
   */
  keep(batch: RecordedBatch): Refusal | void;
  /**
   * Makes everything kept so far durable (the history commits its queue), before a sender that
   * asked for acknowledgements gets its `ACK`: an acknowledged message is never lost.
   */
  durable?(): void;
}

/** Each message of `batch` as its text bytes (views into `batch.wire`), in order. */
export function* batchTexts(batch: RecordedBatch): Generator<Uint8Array> {
  let start = 0;
  const { wire, prefixLength } = batch;
  for (let i = 0; i < batch.count; i++) {
    const end = wire.indexOf(NEWLINE, start + prefixLength);
    yield wire.subarray(start + prefixLength, end);
    start = end + 1;
  }
}

/** The lobby route, shared: it carries nothing. */
export const LOBBY: Route = Object.freeze({ kind: "lobby" });

/** What the recorder needs from its server. */
export interface RecorderParts {
  readonly hub: Hub;
  readonly gate: CongestionGate;
  readonly counters: StatsCounter;
  readonly messages: MessageLog;
  readonly events: Emitter<ServerEventMap>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NEWLINE = 0x0a;
const NO_KEEPERS: readonly MessageKeeper[] = [];

/** The server's one recording point; see the module comment. */
export class Recorder {
  readonly #parts: RecorderParts;
  #nextId = 1;
  #keepers: readonly MessageKeeper[] = NO_KEEPERS;

  /** A recorder for one server. */
  constructor(parts: RecorderParts) {
    this.#parts = parts;
  }

  /** The id the next message gets. */
  get nextId(): number {
    return this.#nextId;
  }

  /**
   * Continues numbering at `id` (a history that outlives the process already used the ids
   * below it). Ids only grow: a smaller `id` is ignored, unless `exact` (a cluster node moving
   * to its own range of ids before its first message).
   */
  continueAt(id: number, exact = false): void {
    this.#nextId = exact ? id : Math.max(this.#nextId, id);
  }

  /**
   * Delivers a batch another cluster node recorded (its ids, its wire lines) to the peers here, as
   * {@linkcode Recorder.record} delivers, and hands it to the keepers (marked `relayed`). Nothing
   * is encoded again. With `deliver` false it only goes to the keepers: a private message to a
   * user of another node, kept in case that user's session is resumed here.
   */
  relay(received: RecordedBatch, deliver = true): number {
    const { hub, counters } = this.#parts;
    const batch: RecordedBatch = received.relayed === true
      ? received
      : { ...received, relayed: true };
    const { wire, firstId, route, sender } = batch;
    let recipients = 0;
    if (!deliver) {
      // Kept, not delivered.
    } else if (route.kind === "lobby") {
      recipients = hub.broadcastMessages(wire, sender, withIds(wire, firstId));
    } else if (route.kind === "group") {
      recipients = hub.groupMessages(route.group, wire, sender, withIds(wire, firstId));
    } else if (route.kind === "user") {
      route.peer.deliver(route.peer.ids === true ? withIds(wire, firstId)() : wire);
      recipients = 1;
    }
    for (const keeper of this.#keepers) keeper.keep(batch);
    counters.deliveries += recipients * batch.count;
    return recipients;
  }

  /** Hands every lobby, group and private message from now on to `keeper` as well. */
  addKeeper(keeper: MessageKeeper): void {
    this.#keepers = [...this.#keepers, keeper];
  }

  /**
   * Records `texts` (one message each, in order) from `origin` along `route`: assigns ids,
   * encodes them to wire lines once, delivers them, counts, acknowledges (lobby lines only),
   * logs and emits them. Returns how many clients each message was queued to.
   */
  record(origin: Origin, route: Route, texts: MessageTexts): number {
    const slices = "bounds" in texts ? texts : undefined;
    const count = slices === undefined
      ? (texts as readonly Uint8Array[]).length
      : slices.bounds.length / 2;
    if (count === 0) return 0;
    const { hub, gate, counters, messages, events } = this.#parts;
    const firstId = this.#nextId;
    this.#nextId += count;
    const time = Date.now();
    const target = targetOf(route);
    // Whatever this delivery puts in a congested queue holds back the sender, not everyone.
    const previousSender = gate.sender;
    if (origin.holdable !== undefined) gate.sender = origin.holdable;
    let recipients: number;
    let prefix = "";
    let wire: Uint8Array | undefined;
    switch (route.kind) {
      case "lobby":
        prefix = `MSG ${origin.name} * :`;
        wire = encode(prefix, texts);
        recipients = hub.broadcastMessages(wire, origin.peer, withIds(wire, firstId), count);
        break;
      case "group":
        prefix = `MSG ${origin.name} ${target} :`;
        wire = encode(prefix, texts);
        recipients = hub.groupMessages(
          route.group,
          wire,
          origin.peer,
          withIds(wire, firstId),
          count,
        );
        break;
      case "user":
        prefix = `PM ${origin.name} :`;
        wire = encode(prefix, texts);
        route.peer.deliver(route.peer.ids === true ? withIds(wire, firstId)() : wire, count);
        recipients = 1;
        break;
      case "offline":
        prefix = `PM ${origin.name} :`;
        wire = encode(prefix, texts);
        recipients = 0;
        break;
      case "echo":
        origin.deliver?.(route.verbatim, count);
        recipients = 1;
        break;
    }
    gate.sender = previousSender;
    let refusal: Refusal | void = undefined;
    if (wire !== undefined && this.#keepers.length > 0) {
      const batch: RecordedBatch = {
        firstId,
        count,
        time,
        from: origin.name,
        sender: origin.peer,
        route: route as RecordedBatch["route"],
        target,
        wire,
        prefixLength: encoder.encode(prefix).length,
      };
      for (const keeper of this.#keepers) refusal = keeper.keep(batch) ?? refusal;
    }
    counters.messages += count;
    if (origin.messagesIn !== undefined) origin.messagesIn += count;
    counters.deliveries += recipients * count;
    if (route.kind === "lobby" && origin.acknowledge !== undefined) {
      if (origin.ack === true) { for (const keeper of this.#keepers) keeper.durable?.(); }
      if (refusal !== undefined && origin.refuse !== undefined) {
        origin.refuse(count, refusal.code, refusal.text);
      } else origin.acknowledge(count);
    }
    if (messages.enabled) {
      const { name, address } = origin;
      if (slices === undefined) {
        for (const text of texts as readonly Uint8Array[]) {
          messages.add(time, name, address, target, recipients, text);
        }
      } else {
        const { bytes, bounds } = slices;
        for (let i = 0; i < bounds.length; i += 2) {
          messages.add(time, name, address, target, recipients, bytes, bounds[i], bounds[i + 1]);
        }
      }
    }
    if (events.has("message")) {
      for (let i = 0; i < count; i++) {
        const text = textAt(texts, i);
        events.emit("message", {
          id: firstId + i,
          time,
          from: origin.name,
          target,
          text: decoder.decode(text),
          recipients,
        });
      }
    }
    return recipients;
  }
}

/** The target as the log, the events and the wire name it. */
function targetOf(route: Route): string {
  switch (route.kind) {
    case "lobby":
      return "*";
    case "group":
      return `#${route.group.name}`;
    case "user":
      return route.peer.name;
    case "offline":
      return route.account;
    case "echo":
      return "echo";
  }
}

/** Text `i` of `texts`. */
function textAt(texts: MessageTexts, i: number): Uint8Array {
  if (!("bounds" in texts)) return texts[i] as Uint8Array;
  return texts.bytes.subarray(texts.bounds[2 * i], texts.bounds[2 * i + 1]);
}

/** Makes the lines of `wire` as `@<id> <line>`, ids from `firstId` on, when called. */
function withIds(wire: Uint8Array, firstId: number): () => Uint8Array {
  return () => prefixIds(wire, firstId);
}

/**
 * `@<id> <line>` for every line of `wire`, ids from `firstId` on: the form a connection with
 * `:ids on` (a client that can resume) receives.
 */
export function prefixIds(wire: Uint8Array, firstId: number, lines = Infinity): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  let start = 0;
  for (let id = firstId; start < wire.length && id - firstId < lines; id++) {
    const end = wire.indexOf(NEWLINE, start) + 1;
    const head = encoder.encode(`@${id} `);
    parts.push(head, wire.subarray(start, end));
    size += head.length + end - start;
    start = end;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** `<prefix><text>\n` for every text, in one buffer: what each recipient queues. */
function encode(prefix: string, texts: MessageTexts): Uint8Array {
  const head = encoder.encode(prefix);
  const list = "bounds" in texts
    ? Array.from({ length: texts.bounds.length / 2 }, (_, i) => textAt(texts, i))
    : texts;
  let size = 0;
  for (const text of list) size += head.length + text.length + 1;
  const out = new Uint8Array(size);
  let at = 0;
  for (const text of list) {
    out.set(head, at);
    at += head.length;
    out.set(text, at);
    at += text.length;
    out[at++] = NEWLINE;
  }
  return out;
}
