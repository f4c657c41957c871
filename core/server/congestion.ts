/**
 * Backpressure that holds back only the senders whose messages wait on a backed-up reader.
 *
 * A recipient is congested while its outbound queue is above the high-water mark. Two rules
 * decide who waits for it:
 *
 * - A lobby message goes to every named client, so while any named client is congested a
 *   connection holds its next lobby line back ({@linkcode CongestionGate.closed}), before it
 *   adds a single byte to that queue.
 * - Anything else (a private message, a group message, an announcement) is delivered, and if it
 *   went to a congested queue its sender is held before its next line
 *   ({@linkcode CongestionGate.blocked}) until that recipient drains or is gone.
 *
 * A connection whose own queue is congested stops reading too; that is its own business and not
 * tracked here. Everyone else (a bystander's `:ping`, a private message to a healthy reader)
 * keeps flowing. A congested reader that holds senders back is visible through
 * {@linkcode CongestionGate.holds}, so the liveness sweep can cut it when it stops reading.
 * @module
 */

/** A connection the gate may hold back; woken when nothing holds it any more. */
export interface HeldSender {
  /** Called once every recipient it waited on has drained or left. */
  unblocked(): void;
}

/** Tracks congested recipients and the senders that wait on them. */
export class CongestionGate {
  /** Named clients above their high-water mark: lobby lines wait while there is one. */
  readonly #congested = new Set<object>();
  /** Senders with a lobby line held until {@linkcode CongestionGate.closed} is false. */
  readonly #lobbyWaiters = new Set<HeldSender>();
  /** Recipient → senders that delivered to it while it was congested. */
  readonly #waitingOn = new Map<object, Set<HeldSender>>();
  /** Sender → congested recipients it waits on. */
  readonly #blockedBy = new Map<HeldSender, Set<object>>();
  /**
   * The connection whose input is being handled right now; deliveries made meanwhile are its
   * messages. Handling a line is synchronous, so one field is enough.
   */
  sender: HeldSender | undefined;
  /**
   * True while messages relayed from another cluster node are delivered: their sender is held on
   * its own node, too late for what the bus already carries, so a full queue takes them anyway
   * (up to a bound) instead of cutting the reader.
   */
  relaying = false;

  /** True while a named client is congested: lobby lines wait. */
  get closed(): boolean {
    return this.#congested.size > 0;
  }

  /** How many recipients are congested (a cluster node tells the others while it has any). */
  get congested(): number {
    return this.#congested.size;
  }

  /** True while `sender` waits on a congested recipient of something it sent. */
  blocked(sender: HeldSender): boolean {
    return this.#blockedBy.size > 0 && this.#blockedBy.has(sender);
  }

  /** True while some sender waits on `recipient`. */
  holds(recipient: object): boolean {
    if (this.#lobbyWaiters.size > 0 && this.#congested.has(recipient)) return true;
    return (this.#waitingOn.get(recipient)?.size ?? 0) > 0;
  }

  /**
   * Marks a named client congested (true), or drained (false). Draining releases the senders
   * that waited on it, and the lobby's waiters once no named client is congested.
   */
  set(recipient: object, congested: boolean): void {
    if (congested) {
      this.#congested.add(recipient);
      return;
    }
    this.#congested.delete(recipient);
    this.#release(recipient);
  }

  /** Bytes from the current {@linkcode CongestionGate.sender} went to a congested `recipient`. */
  deliveredToCongested(recipient: object): void {
    const sender = this.sender;
    if (sender === undefined || sender === recipient) return;
    let senders = this.#waitingOn.get(recipient);
    if (senders === undefined) this.#waitingOn.set(recipient, senders = new Set());
    senders.add(sender);
    let recipients = this.#blockedBy.get(sender);
    if (recipients === undefined) this.#blockedBy.set(sender, recipients = new Set());
    recipients.add(recipient);
  }

  /** Wakes `sender` (once) when no named client is congested any more. */
  waitForLobby(sender: HeldSender): void {
    if (this.#congested.size === 0) sender.unblocked();
    else this.#lobbyWaiters.add(sender);
  }

  /** Forgets a connection that closed: as a recipient (its waiters go on) and as a sender. */
  forget(connection: HeldSender): void {
    this.set(connection, false);
    this.#lobbyWaiters.delete(connection);
    for (const recipient of this.#blockedBy.get(connection) ?? []) {
      const senders = this.#waitingOn.get(recipient);
      senders?.delete(connection);
      if (senders?.size === 0) this.#waitingOn.delete(recipient);
    }
    this.#blockedBy.delete(connection);
  }

  #release(recipient: object): void {
    const senders = this.#waitingOn.get(recipient);
    if (senders !== undefined) {
      this.#waitingOn.delete(recipient);
      for (const sender of senders) {
        const recipients = this.#blockedBy.get(sender);
        recipients?.delete(recipient);
        if (recipients?.size !== 0) continue;
        this.#blockedBy.delete(sender);
        sender.unblocked();
      }
    }
    if (this.#congested.size > 0 || this.#lobbyWaiters.size === 0) return;
    const waiters = [...this.#lobbyWaiters];
    this.#lobbyWaiters.clear();
    for (const sender of waiters) sender.unblocked();
  }
}
