/**
 * One Switchboard server as a node of a cluster (docs/cluster.md): the link to the NATS bus, what
 * this node publishes (every message it records, once, and its roster changes) and what it takes
 * from the other nodes (their messages, relayed to its own clients as they are; their rosters).
 *
 * Off the hot path when there is no cluster: the server builds no node, the recorder has one
 * keeper less, the hub no observer.
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { NatsConnection } from "@nats-io/transport-node";
import type {
  ClusterState,
  ClusterView,
  ConnectionHandle,
  NodeShutdown,
  NodeStats,
  SessionTakeover,
} from "../server/context.ts";
import type { Sessions } from "../server/sessions.ts";
import { ClusterSessions, SESSION_ENTRY_TTL_MS } from "./session_directory.ts";
import type { ServerStats } from "../server/stats.ts";
import type { Group, Hub, HubObserver, Peer } from "../server/hub.ts";
import type { CongestionGate } from "../server/congestion.ts";
import type { MessageKeeper, RecordedBatch, Recorder, Refusal } from "../server/record.ts";
import type { DisconnectReason } from "../protocol/errors.ts";
import { type Claim, HEARTBEAT_MS, LEASE_MS, Leases, within } from "./leases.ts";
import { RemotePeer, Roster, rosterChunks, type RosterEvent } from "./roster.ts";
import { Subjects } from "./subjects.ts";
import { encodeBatch } from "./wire.ts";
import { Backpressure, CONGESTION_POLL_MS } from "./backpressure.ts";
import { relayBatch, subjectOf } from "./relay.ts";
import { ID_SLOT_SPAN } from "../protocol/message_ids.ts";
import { nameKey } from "../protocol/grammar.ts";
import { HeldSession } from "../server/sessions.ts";
import { type ClusterAuth, natsAuthOptions } from "./nats_auth.ts";
import { CLUSTER_UNAVAILABLE, Outbox } from "./outbox.ts";
import { type MailLoan, RemoteMail } from "./remote_mail.ts";
import { answerShutdown, askShutdown, type Shutdown } from "./remote_shutdown.ts";
import type { Mailbox } from "../server/offline.ts";

/**
 * A node not heard from for this long (no heartbeat, no message) is lost: its users leave with
 * reason `node-lost` and their names are freed (ms).
 */
export const NODE_LOST_MS = 3500;
/**
 * After a break, how long held messages wait at most for another node to be heard from before they
 * are published anyway (ms): a lease's lifetime. Other nodes reconnect on their own schedule, and
 * until one of them is subscribed again core NATS would deliver the held messages to nobody.
 */
export const OUTBOX_WAIT_MS = LEASE_MS;
/** A link lost for this long is announced to the clients (ms). */
export const LINK_LOST_NOTICE_MS = 1000;

/** What a node needs from its server. */
export interface ClusterParts {
  readonly hub: Hub;
  readonly recorder: Recorder;
  /** Backpressure: a node whose clients back up holds the lobby senders of every node. */
  readonly gate: CongestionGate;
  /** The server's counters, for `:stats` on any node. */
  stats(): ServerStats;
  /** The sessions: listed cluster-wide, handed over to a node where one is resumed. */
  readonly sessions: Sessions;
  /** Seconds a broken session is held (`--resume-grace`): how long a lost node's users may resume. */
  resumeGrace(): number;
  readonly log: Logger;
  /** Offline private messages kept here, handed to the node where their recipient logs in. */
  readonly mailbox?: Mailbox | undefined;
  /** The server's graceful shutdown, for `:shutdown node <slot>` sent on another node. */
  readonly shutdown?: Shutdown | undefined;
}

/** Where the bus is and what the cluster is called. */
export interface ClusterSettings {
  /** NATS servers, `nats://host:port`. */
  readonly urls: readonly string[];
  /** The cluster's name: subject prefix and bucket names. */
  readonly name: string;
  /** Credentials and TLS for the bus; see core/cluster/nats_auth.ts. */
  readonly auth?: ClusterAuth | undefined;
  /** Bytes held while the link is down (`outbox.ts`). @default {OUTBOX_BYTES} */
  readonly outboxBytes?: number | undefined;
  /** Users per roster message (`roster.ts`). @default {ROSTER_CHUNK} */
  readonly rosterChunk?: number | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** What `#request` answers when nobody subscribes to the node's subject any more. */
const NO_RESPONDERS = "\u0000no responders";

/** A cluster node; see the module comment. */
export class ClusterNode implements MessageKeeper, HubObserver, ClusterView {
  readonly #parts: ClusterParts;
  readonly #settings: ClusterSettings;
  readonly #subjects: Subjects;
  readonly #roster: Roster;
  readonly instance = crypto.randomUUID().slice(0, 8);
  #nc: NatsConnection | undefined;
  #leases: Leases | undefined;
  /** Other nodes by instance id: when last heard, and their slot. */
  readonly #nodes = new Map<string, { seen: number; slot: number }>();
  #up = false;
  /** Clients were told the link is lost (and will be told when it is back). */
  #told = false;
  #resyncing = false;
  #closed = false;
  #timers: ReturnType<typeof setInterval>[] = [];
  readonly #backpressure: Backpressure;
  #sessions: ClusterSessions | undefined;
  /**
   * Nodes lost lately (by instance id): when, and their users with their groups, whose sessions
   * may still be resumed here for the resume grace.
   */
  readonly #lost = new Map<string, { at: number; users: Map<string, string[]> }>();
  readonly #outbox: Outbox;
  /** The link is back and the outbox waits to hear from another node before it is published. */
  #outboxWaits = false;
  readonly #mail: RemoteMail;
  /** Rosters sent so far: each one's chunks carry its number. */
  #rosterSerial = 0;

  /** A node for the server with `parts`; {@linkcode ClusterNode.start} joins. */
  constructor(parts: ClusterParts, settings: ClusterSettings) {
    this.#parts = parts;
    this.#settings = settings;
    this.#subjects = new Subjects(settings.name);
    this.#outbox = new Outbox(settings.outboxBytes, parts.log);
    this.#mail = new RemoteMail(parts.mailbox, parts.log);
    this.#backpressure = new Backpressure(parts.gate, (on) => {
      if (!this.#up) return;
      const news = JSON.stringify({ node: this.instance, on });
      this.#nc?.publish(this.#subjects.congestion, encoder.encode(news));
    });
    this.#roster = new Roster(
      parts.hub,
      (peer, reason, text) => this.#closeRemote(peer, reason, text),
    );
  }

  /** Whether the bus is reachable now. */
  get up(): boolean {
    return this.#up;
  }

  /** The cluster as this node sees it now; see {@linkcode ClusterState}. */
  state(): ClusterState {
    return {
      name: this.#settings.name,
      slot: this.slot,
      up: this.#up,
      nodes: this.#nodes.size + 1,
      dropped: this.#outbox.dropped.batches,
    };
  }

  /** This node's numbering slot (0 until started). */
  get slot(): number {
    return this.#leases?.slot ?? 0;
  }

  /**
   * Connects, opens the buckets, takes a slot (ids continue at `slot × 2^41 + now in ms`),
   * subscribes, and asks the other nodes for their rosters.
   */
  async start(): Promise<void> {
    const { connect } = await import("@nats-io/transport-node");
    const { Kvm } = await import("@nats-io/kv");
    const nc = await connect({
      servers: [...this.#settings.urls],
      name: `switchboard-${this.instance}`,
      noEcho: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 2000,
      maxPingOut: 2,
      ...await natsAuthOptions(this.#settings.urls, this.#settings.auth ?? {}),
    });
    this.#nc = nc;
    const replicas = Math.min(3, this.#settings.urls.length);
    const kvm = new Kvm(nc);
    // Created by whichever node comes first; the others find it (or race and then open it).
    const bucket = (name: string, ttl: number) =>
      kvm.create(name, { history: 1, replicas, ...(ttl > 0 ? { ttl } : {}) })
        .catch(() => kvm.open(name))
        .catch(() => kvm.open(name));
    const nodes = await bucket(`${this.#settings.name}-nodes`, LEASE_MS);
    const names = await bucket(`${this.#settings.name}-names`, 0);
    const sessions = await bucket(`${this.#settings.name}-sessions`, SESSION_ENTRY_TTL_MS);
    const leases = new Leases(nodes, names, this.instance);
    const slot = await leases.takeSlot();
    this.#leases = leases;
    this.#parts.recorder.continueAt(slot * ID_SLOT_SPAN + Date.now(), true);
    const s = this.#subjects;
    nc.subscribe(s.lobby, { callback: (_, m) => this.#onBatch("lobby", m.subject, m.data) });
    nc.subscribe(s.groups, { callback: (_, m) => this.#onBatch("group", m.subject, m.data) });
    nc.subscribe(s.users, { callback: (_, m) => this.#onBatch("user", m.subject, m.data) });
    nc.subscribe(s.presence, { callback: (_, m) => this.#onPresence(m.data) });
    nc.subscribe(s.hello, { callback: (_, m) => this.#onHello(m.data) });
    nc.subscribe(s.heartbeat, { callback: (_, m) => this.#onHeartbeat(m.data) });
    nc.subscribe(s.congestion, { callback: (_, m) => this.#onCongestion(m.data) });
    nc.subscribe(s.stats, {
      callback: (_, m) => void m.respond(encoder.encode(JSON.stringify(this.#ownStats()))),
    });
    nc.subscribe(s.mail, {
      callback: (_, m) =>
        void m.respond(this.#mail.answer(m.data, nc.info?.max_payload ?? 1 << 20)),
    });
    nc.subscribe(s.mailTaken, { callback: (_, m) => this.#mail.settle(m.data) });
    nc.subscribe(s.node(slot), {
      callback: (_, m) => void m.respond(encoder.encode(this.#onRequest(m.data))),
    });
    this.#sessions = new ClusterSessions(
      sessions,
      () => ({ instance: this.instance, slot: this.slot }),
      (error) => this.#parts.log.debug("session directory: {error}", { error }),
    );
    this.#up = true;
    this.#parts.sessions.listIn(this.#sessions);
    this.#parts.hub.observer = this;
    this.#parts.recorder.addKeeper(this);
    this.#hello();
    this.#timers.push(setInterval(() => this.#beat(), HEARTBEAT_MS));
    this.#timers.push(setInterval(() => this.#checkNodes(), HEARTBEAT_MS / 2));
    this.#timers.push(setInterval(() => this.#backpressure.check(), CONGESTION_POLL_MS));
    void this.#watchStatus(nc);
    this.#parts.log.info("joined cluster {name} as slot {slot} ({instance})", {
      name: this.#settings.name,
      slot,
      instance: this.instance,
    });
  }

  /**
   * Claims `name` cluster-wide; see `Leases.claim`. A name held in the bucket by a user nobody
   * here sees is asked again for a moment: its `LEAVE` can arrive before its holder's release.
   */
  async claim(name: string): Promise<Claim> {
    for (let attempt = 0;; attempt++) {
      if (!this.#up || this.#leases === undefined) return "unavailable";
      const claim = await this.#leases.claim(name);
      if (claim !== "taken" || this.#parts.hub.holderLike(name) !== undefined || attempt >= 5) {
        return claim;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** This node's counters, then those of every other node that answers within a second. */
  async nodeStats(): Promise<readonly NodeStats[]> {
    const all: NodeStats[] = [this.#ownStats()];
    const others = this.#nodes.size;
    if (this.#nc === undefined || !this.#up || others === 0) return all;
    try {
      const answers = await this.#nc.requestMany(this.#subjects.stats, undefined, {
        strategy: "count",
        maxMessages: others,
        maxWait: 1000,
      });
      for await (const answer of answers) {
        const stats = parse<NodeStats>(answer.data);
        if (stats !== undefined) all.push(stats);
      }
    } catch {
      // Whoever answered is shown.
    }
    return all.sort((a, b) => a.slot - b.slot);
  }

  /**
   * Takes over the session of `token` from the node that holds it (`:resume` of a session this
   * node does not know): that node hands it over if it is alive; if it was lost, its users may be
   * resumed here within the resume grace. The name is taken over from that node in the bucket.
   */
  async takeOverSession(token: string): Promise<SessionTakeover | { refused: string }> {
    const directory = this.#sessions;
    if (!this.#up || directory === undefined || this.#leases === undefined) {
      return { refused: "the cluster cannot be reached now; try again soon" };
    }
    const entry = await directory.find(token).catch(() => undefined);
    if (entry === undefined || entry.node === this.instance) {
      return { refused: "unknown or expired session" };
    }
    let groups: string[] | undefined;
    // A node that died a moment ago is still counted alive, but nobody answers for it any more.
    const answer = this.#nodes.has(entry.node)
      ? await this.#request(entry.slot, { op: "handover", token, to: this.instance })
      : NO_RESPONDERS;
    if (answer !== NO_RESPONDERS) {
      const handed = answer === undefined
        ? undefined
        : parse<{ groups: string[] }>(encoder.encode(answer));
      if (handed?.groups === undefined) {
        return { refused: `its node could not hand it over (${answer ?? "no answer"})` };
      }
      groups = handed.groups;
    } else {
      const remote = this.#roster.find(entry.name, entry.node);
      const lost = this.#lost.get(entry.node);
      if (remote !== undefined) groups = [...remote.groups].map((group) => group.name);
      else if (lost !== undefined && Date.now() - lost.at <= this.#parts.resumeGrace() * 1000) {
        groups = lost.users.get(nameKey(entry.name));
      }
      if (groups === undefined) return { refused: "its node is gone, and the session with it" };
    }
    const claim = await this.#leases.takeOver(entry.name, `${entry.slot}:${entry.node}`);
    if (claim !== "ok") {
      return {
        refused: claim === "taken"
          ? "its name was taken meanwhile"
          : "the cluster cannot be reached now",
      };
    }
    return { ...entry, groups };
  }

  /**
   * Puts `peer`, a connection that took a session over, in the user's place: silently in place
   * of the user's remote peer (everyone else's nodes move it here), or, when the user had left
   * already (its node was lost), as a new arrival in its groups.
   */
  placeSession(peer: Peer, takeover: SessionTakeover): void {
    const hub = this.#parts.hub;
    const remote = hub.find(takeover.name);
    if (remote instanceof RemotePeer) {
      this.#roster.forget(remote);
      hub.swap(remote, peer);
      this.#publish({
        op: "move",
        node: this.instance,
        name: peer.name,
        groups: [...peer.groups].map((group) => group.name),
      });
      return;
    }
    peer.name = takeover.name;
    hub.register(peer);
    for (const name of takeover.groups) {
      const group = hub.findGroup(name);
      if (group === undefined) hub.createGroup(name, peer);
      else hub.join(peer, group);
    }
  }

  #ownStats(): NodeStats {
    const { connections, messages, deliveries } = this.#parts.stats();
    const users = this.#parts.hub.online - this.#roster.size;
    const dropped = this.#outbox.dropped.batches;
    return { slot: this.slot, stats: { users, connections, messages, deliveries, dropped } };
  }

  /** `account`'s offline messages kept by the other nodes, lent by them (`remote_mail.ts`). */
  takeMail(account: string): Promise<MailLoan> {
    const nc = this.#up ? this.#nc : undefined;
    return this.#mail.take(nc, this.#subjects, account, this.#nodes.size);
  }

  /** Asks the node holding `slot` to shut down (`:shutdown node`; `remote_shutdown.ts`). */
  shutdownNode(slot: number, grace?: number, reason?: string): Promise<NodeShutdown> {
    if (this.#nc === undefined || !this.#up) return Promise.resolve("unavailable");
    return askShutdown(this.#nc, this.#subjects.node(slot), grace, reason);
  }

  /** Gives `name` up (its user left, or the registration was abandoned). */
  release(name: string): void {
    if (this.#up) void this.#leases?.release(name);
  }

  // --- MessageKeeper: every message recorded here goes to the bus once.

  /**
   * Publishes a batch recorded here (not one relayed from another node); while the link is down
   * it waits in the outbox, and one that does not fit there is refused (`NACK`).
   */
  keep(batch: RecordedBatch): Refusal | void {
    const subject = this.#nc === undefined ? undefined : subjectOf(batch, this.#subjects);
    if (subject === undefined) return;
    // Behind what the outbox still holds: a node's messages go out in the order they were said.
    if (!this.#up || this.#outboxWaits) {
      const held = this.#outbox.hold(subject, encodeBatch(batch, batch.wire), batch.count);
      return held ? undefined : CLUSTER_UNAVAILABLE;
    }
    try {
      this.#nc!.publish(subject, encodeBatch(batch, batch.wire));
    } catch (error) {
      this.#parts.log.warn("could not publish to {subject}: {error}", { subject, error });
      return CLUSTER_UNAVAILABLE;
    }
  }

  // --- HubObserver: this node's roster changes go to the other nodes.

  /** A local user registered (name line, `:login`). */
  registered(peer: Peer): void {
    if (peer instanceof RemotePeer) return;
    this.#publish({ op: "join", node: this.instance, name: peer.name });
    // A `:login` did not claim its name through the line handler: claim it now.
    if (peer.account === undefined) return;
    void this.claim(peer.name).then((claim) => {
      if (claim === "taken") this.#clash(peer);
    });
  }

  /** A local user was renamed. */
  renamed(peer: Peer, oldName: string): void {
    if (peer instanceof RemotePeer) {
      // An admin here renamed a user of another node (`:rename`): its node makes it so.
      if (!this.#roster.applying) {
        void this.#ask(peer, { op: "rename", name: oldName, to: peer.name });
      }
      return;
    }
    this.#publish({ op: "rename", node: this.instance, name: peer.name, from: oldName });
    this.release(oldName);
    void this.claim(peer.name);
  }

  /** A local user left. */
  removed(peer: Peer, reason: string, kickText: string | undefined): void {
    if (peer instanceof RemotePeer) return;
    this.#publish({ op: "leave", node: this.instance, name: peer.name, reason, kick: kickText });
    this.release(peer.name);
  }

  /** A local user joined (or created) a group. */
  joined(peer: Peer, group: Group): void {
    if (peer instanceof RemotePeer) return;
    this.#publish({ op: "gjoin", node: this.instance, name: peer.name, group: group.name });
  }

  /** A local user left a group. */
  left(peer: Peer, group: Group, reason: string): void {
    if (peer instanceof RemotePeer) return;
    this.#publish({ op: "gpart", node: this.instance, name: peer.name, group: group.name, reason });
  }

  /** Leaves the cluster: gives the slot up and drains the link. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    if (this.#parts.hub.observer === this) this.#parts.hub.observer = undefined;
    this.#mail.takeAllBack();
    if (this.#up) await this.#leases?.leave();
    await this.#nc?.drain().catch(() => {});
  }

  // --- What comes from the bus.

  #onBatch(kind: "lobby" | "group" | "user", subject: string, data: Uint8Array): void {
    if (!relayBatch(this.#parts, kind, subject, data)) return;
    if (!this.#backpressure.said && this.#backpressure.congested) this.#backpressure.check();
  }

  #onCongestion(data: Uint8Array): void {
    const news = parse<{ node: string; on: boolean }>(data);
    if (news !== undefined) this.#backpressure.set(news.node, news.on);
  }

  #onPresence(data: Uint8Array): void {
    const event = parse<RosterEvent>(data);
    if (event === undefined) return;
    this.#heard(event.node);
    this.#roster.apply(event);
  }

  #onHello(data: Uint8Array): void {
    const hello = parse<{ node: string; slot: number }>(data);
    if (hello === undefined || hello.node === this.instance) return;
    this.#heard(hello.node, hello.slot);
    this.#publishRoster();
  }

  #onHeartbeat(data: Uint8Array): void {
    const beat = parse<{ node: string; slot: number; congested?: boolean }>(data);
    if (beat === undefined) return;
    // Repeated with every beat: a lost "off" never holds senders for long.
    this.#backpressure.set(beat.node, beat.congested === true);
    // A node not known yet (new, or back after a break): everyone says who they have.
    if (!this.#nodes.has(beat.node)) this.#hello();
    this.#heard(beat.node, beat.slot);
  }

  /** A request from another node about a user of this one: `kick`, `rename` or `handover`. */
  #onRequest(data: Uint8Array): string {
    const request = parse<{ op: string; name: string; text?: string; to?: string; token?: string }>(
      data,
    );
    if (request?.op === "shutdown") return answerShutdown(data, this.#parts.shutdown);
    const hub = this.#parts.hub;
    if (request?.op === "handover") return this.#handOver(request.token ?? "", request.to ?? "");
    const peer = request === undefined ? undefined : hub.find(request.name);
    if (peer === undefined || peer instanceof RemotePeer) return "no such user";
    if (request?.op === "kick") {
      void (peer as ConnectionHandle).close("kicked", request.text ?? "kicked");
      return "ok";
    }
    if (request?.op === "rename" && request.to !== undefined) {
      if (hub.isTaken(request.to, peer)) return "taken";
      hub.rename(peer, request.to);
      return "ok";
    }
    return "bad request";
  }

  /**
   * Hands the session of `token` to node `to`, where it is being resumed: the user becomes a
   * remote peer of that node here, without a `LEAVE`; a connection still open is replaced.
   */
  #handOver(token: string, to: string): string {
    const handed = token === "" || to === "" ? undefined : this.#parts.sessions.handOver(token);
    if (handed === undefined) return "no such session";
    const moved = this.#roster.adopt(handed.name, to);
    this.#parts.hub.swap(handed.previous, moved);
    if (!(handed.previous instanceof HeldSession)) {
      void (handed.previous as ConnectionHandle).close?.("replaced", "resumed on another node");
    }
    this.#parts.log.info("session of {name} handed over to node {node}", {
      name: handed.name,
      node: to,
    });
    return JSON.stringify({ groups: handed.groups.map((group) => group.name) });
  }

  #heard(node: string, slot?: number): void {
    const known = this.#nodes.get(node);
    this.#nodes.set(node, { seen: Date.now(), slot: slot ?? known?.slot ?? 0 });
    if (this.#outboxWaits) this.#flushOutbox();
  }

  /** Publishes what the outbox held, in order; see {@linkcode OUTBOX_WAIT_MS}. */
  #flushOutbox(): void {
    if (!this.#outboxWaits || this.#closed) return;
    this.#outboxWaits = false;
    this.#outbox.flush((subject, payload) => this.#nc?.publish(subject, payload));
  }

  // --- Liveness, both ways.

  #beat(): void {
    if (!this.#up || this.#nc === undefined) return;
    void this.#leases?.renew().catch(() => {});
    this.#nc.publish(
      this.#subjects.heartbeat,
      encoder.encode(
        JSON.stringify({
          node: this.instance,
          slot: this.slot,
          congested: this.#backpressure.said,
        }),
      ),
    );
  }

  #checkNodes(): void {
    const now = Date.now();
    for (const [node, { seen, slot }] of this.#nodes) {
      if (now - seen < NODE_LOST_MS) continue;
      this.#nodes.delete(node);
      this.#backpressure.set(node, false);
      this.#lost.set(node, { at: now, users: this.#roster.usersOf(node) });
      const peers = this.#roster.dropNode(node, "node-lost");
      this.#parts.log.warn("node {node} lost: {count} users left", { node, count: peers.length });
      // Whoever sees it first frees the names (a compare-and-set: the others find them gone).
      if (this.#up) {
        for (const peer of peers) void this.#leases?.release(peer.name, `${slot}:${node}`);
      }
    }
    const grace = this.#parts.resumeGrace() * 1000;
    for (const [node, { at }] of this.#lost) if (now - at > grace) this.#lost.delete(node);
    // Remote users whose node never said a word (a roster from a node already lost).
    for (const node of [...this.#roster.nodes()]) {
      if (!this.#nodes.has(node)) this.#roster.dropNode(node, "node-lost");
    }
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.#closed) return;
      if (status.type === "disconnect" && this.#up) {
        // Names cannot be checked from now on; clients are told only if it lasts (a failover
        // to another NATS server takes a fraction of a second).
        this.#up = false;
        this.#backpressure.clear();
        this.#parts.log.warn("cluster link lost");
        setTimeout(() => {
          if (this.#up || this.#closed || this.#told) return;
          this.#told = true;
          this.#tell("cluster link lost: users of other nodes are out of reach until it is back");
        }, LINK_LOST_NOTICE_MS);
      } else if (status.type === "reconnect" && !this.#up && !this.#resyncing) {
        this.#parts.log.info("cluster link back");
        this.#resyncing = true;
        void this.#resync().finally(() => this.#resyncing = false);
      }
    }
  }

  /**
   * After a break: renew the lease, claim every local name again, and exchange rosters. The
   * clash rule: a name another live node holds in the bucket stays with that node; the local
   * user with it is closed (`BYE replaced`). Retried until the bus answers.
   */
  async #resync(): Promise<void> {
    const leases = this.#leases!;
    while (!this.#closed) {
      try {
        await leases.renew();
        for (const peer of [...this.#parts.hub.peers()]) {
          if (peer instanceof RemotePeer) continue;
          const claim = await leases.claim(peer.name);
          if (claim === "unavailable") throw new Error("bus not ready");
          if (claim === "taken") this.#clash(peer);
        }
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    if (this.#closed) return;
    this.#up = true;
    // Held batches go out once another node is heard from again (it is subscribed by then: core
    // NATS would drop them for a node still reconnecting), or after OUTBOX_WAIT_MS; what is
    // recorded meanwhile queues behind them.
    if (this.#outbox.size > 0) {
      this.#outboxWaits = true;
      // Among the node's timers: a close clears it, so nothing is published on a drained link.
      this.#timers.push(setTimeout(() => this.#flushOutbox(), OUTBOX_WAIT_MS));
    }
    if (this.#told) this.#tell("cluster link back");
    this.#told = false;
    this.#hello();
    this.#publishRoster();
  }

  #clash(peer: Peer): void {
    this.#parts.log.warn("name {name} is held by another node: closing the local user", {
      name: peer.name,
    });
    const reason: DisconnectReason = "replaced";
    void (peer as ConnectionHandle).close?.(reason, `${peer.name} is in use on another node`);
  }

  /** `MSG server * :<text>` to this node's own clients only. */
  #tell(text: string): void {
    this.#parts.hub.broadcast(encoder.encode(`MSG server * :${text}\n`));
  }

  #hello(): void {
    const hello = { node: this.instance, slot: this.slot };
    this.#nc?.publish(this.#subjects.hello, encoder.encode(JSON.stringify(hello)));
  }

  #publishRoster(): void {
    const users: [string, string[]][] = [];
    for (const peer of this.#parts.hub.peers()) {
      if (peer instanceof RemotePeer) continue;
      users.push([peer.name, [...peer.groups].map((g) => g.name)]);
    }
    const serial = ++this.#rosterSerial;
    const chunks = rosterChunks(this.instance, users, serial, this.#settings.rosterChunk);
    for (const chunk of chunks) this.#publish(chunk);
  }

  #publish(event: RosterEvent): void {
    try {
      this.#nc?.publish(this.#subjects.presence, encoder.encode(JSON.stringify(event)));
    } catch (error) {
      this.#parts.log.warn("could not publish a roster change: {error}", { error });
    }
  }

  #closeRemote(peer: RemotePeer, reason: string, text: string): Promise<void> {
    return this.#ask(peer, { op: reason === "kicked" ? "kick" : reason, name: peer.name, text });
  }

  /**
   * Sends `request` to the node with `slot`: its answer, {@linkcode NO_RESPONDERS} when the bus
   * knows nobody listens there (the node is gone), or `undefined` when no answer came in time.
   */
  async #request(slot: number, request: Record<string, string>): Promise<string | undefined> {
    if (this.#nc === undefined || !this.#up) return undefined;
    const payload = encoder.encode(JSON.stringify(request));
    try {
      return (await within(this.#nc.request(this.#subjects.node(slot), payload))).string();
    } catch (error) {
      const text = `${error} ${(error as Error)?.cause ?? ""}`;
      return /no responders/i.test(text) ? NO_RESPONDERS : undefined;
    }
  }

  /** Sends a request about `peer` to its node; failures are logged. */
  async #ask(peer: RemotePeer, request: Record<string, string>): Promise<void> {
    const slot = this.#nodes.get(peer.node)?.slot;
    if (slot === undefined || this.#nc === undefined || !this.#up) return;
    const payload = encoder.encode(JSON.stringify(request));
    try {
      const answer = await within(this.#nc.request(this.#subjects.node(slot), payload));
      if (answer.string() !== "ok") throw new Error(answer.string());
    } catch (error) {
      this.#parts.log.warn("{op} of {name} on its node failed: {error}", {
        op: request.op,
        name: peer.name,
        error,
      });
    }
  }
}

function parse<T>(data: Uint8Array): T | undefined {
  try {
    return JSON.parse(decoder.decode(data)) as T;
  } catch {
    return undefined;
  }
}
