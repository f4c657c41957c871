/**
 * The NATS subjects of a cluster, one to one with where messages go: `<cluster>.lobby`,
 * `<cluster>.group.<name>`, `<cluster>.user.<name>`, plus the roster (`<cluster>.presence`,
 * `<cluster>.hello`), node heartbeats (`<cluster>.hb`), backpressure (`<cluster>.congestion`),
 * offline messages asked for at a login (`<cluster>.mail`) and requests to one node
 * (`<cluster>.node.<slot>`). A name becomes one subject token by its case-folded form with the
 * characters a token cannot hold (`.`, `*`, `>`, space, `%`) percent-encoded.
 * @module
 */

import { nameKey } from "../protocol/grammar.ts";

/** The subjects of the cluster called `cluster`. */
export class Subjects {
  readonly lobby: string;
  readonly groups: string;
  readonly users: string;
  readonly presence: string;
  readonly hello: string;
  readonly heartbeat: string;
  readonly congestion: string;
  readonly stats: string;
  /** A node's request for an account's offline messages, answered by every other node. */
  readonly mail: string;
  /** Where a login node confirms the mail it delivered: the lending nodes forget it then. */
  readonly mailTaken: string;
  readonly #prefix: string;

  /** Subjects under `cluster`. */
  constructor(cluster: string) {
    this.#prefix = cluster;
    this.lobby = `${cluster}.lobby`;
    this.groups = `${cluster}.group.>`;
    this.users = `${cluster}.user.>`;
    this.presence = `${cluster}.presence`;
    this.hello = `${cluster}.hello`;
    this.heartbeat = `${cluster}.hb`;
    this.congestion = `${cluster}.congestion`;
    this.stats = `${cluster}.stats`;
    this.mail = `${cluster}.mail`;
    this.mailTaken = `${cluster}.mail.taken`;
  }

  /** Where a group's messages go. */
  group(name: string): string {
    return `${this.#prefix}.group.${token(name)}`;
  }

  /** Where a user's private messages go. */
  user(name: string): string {
    return `${this.#prefix}.user.${token(name)}`;
  }

  /** Requests to the node holding numbering slot `slot` (`:kick` of one of its users). */
  node(slot: number): string {
    return `${this.#prefix}.node.${slot}`;
  }

  /** The name in the last token of `subject` (a group or a user), case-folded. */
  static nameIn(subject: string): string {
    return decodeURIComponent(subject.slice(subject.lastIndexOf(".") + 1));
  }
}

/** One subject token for a name: case-folded, with `. * > % space` encoded. */
export function token(name: string): string {
  return nameKey(name).replace(/[.*>% ]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
