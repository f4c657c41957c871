/**
 * Message ids across a cluster: node slot `s` numbers its messages from `s × 2^41` on, so an id
 * says which node recorded it ({@linkcode idSlot}) and ids of one node only grow. A connection
 * receives the ids of several nodes interleaved; what it saw is described exactly by the newest id
 * it saw from each node (one node's messages reach every node in the order of their ids).
 * @module
 */

/** Ids of node slot `s` are `s × ID_SLOT_SPAN + n`: unique cluster-wide, increasing per node. */
export const ID_SLOT_SPAN = 2 ** 41;

/** The slot of the node that recorded message `id` (0 on a single server). */
export function idSlot(id: number): number {
  return Math.floor(id / ID_SLOT_SPAN);
}

/** The newest id per slot among `ids`. */
export function newestBySlot(ids: Iterable<number>): Map<number, number> {
  const newest = new Map<number, number>();
  for (const id of ids) {
    const slot = idSlot(id);
    if (id > (newest.get(slot) ?? -1)) newest.set(slot, id);
  }
  return newest;
}
