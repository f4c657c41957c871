/**
 * A recorded batch as it travels between nodes: one header line, then the wire lines exactly as
 * the recording node queued them to its own clients. A receiving node hands those bytes to its
 * clients as they are: a message is encoded once per node.
 *
 * Header: `<firstId> <count> <time> <prefixLength> <from>\n`.
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NEWLINE = 0x0a;

/** A batch read back from the bus. */
export interface WireBatch {
  readonly firstId: number;
  readonly count: number;
  readonly time: number;
  readonly prefixLength: number;
  readonly from: string;
  /** The wire lines (a view into the received payload). */
  readonly wire: Uint8Array;
}

/** The payload for a batch. */
export function encodeBatch(
  batch: Omit<WireBatch, "wire">,
  wire: Uint8Array,
): Uint8Array {
  const { firstId, count, time, prefixLength, from } = batch;
  const head = encoder.encode(`${firstId} ${count} ${time} ${prefixLength} ${from}\n`);
  const out = new Uint8Array(head.length + wire.length);
  out.set(head);
  out.set(wire, head.length);
  return out;
}

/** The batch in `payload`, or `undefined` when it is not one. */
export function decodeBatch(payload: Uint8Array): WireBatch | undefined {
  const end = payload.indexOf(NEWLINE);
  if (end < 0) return undefined;
  const [firstId, count, time, prefixLength, from] = decoder.decode(payload.subarray(0, end))
    .split(" ");
  if (from === undefined) return undefined;
  return {
    firstId: Number(firstId),
    count: Number(count),
    time: Number(time),
    prefixLength: Number(prefixLength),
    from,
    wire: payload.subarray(end + 1),
  };
}
