/**
 * A real listener whose accepted streams are wrapped: `wrap` gets each accepted stream and
 * returns the methods it replaces (to count, record or break them); the rest go to the stream.
 * @module
 */

import type { ByteStream, StreamListener } from "../mod.ts";

/** `inner`, with every accepted stream's methods replaced as `wrap` says. */
export function wrapAccepted(
  inner: StreamListener,
  wrap: (stream: ByteStream) => Partial<ByteStream>,
): StreamListener {
  return {
    addr: inner.addr,
    close: () => inner.close(),
    async accept(): Promise<ByteStream> {
      const stream = await inner.accept();
      return {
        remoteAddr: stream.remoteAddr,
        read: (buffer) => stream.read(buffer),
        write: (bytes) => stream.write(bytes),
        closeWrite: () => stream.closeWrite(),
        close: () => stream.close(),
        setNoDelay: (noDelay) => stream.setNoDelay?.(noDelay),
        ...wrap(stream),
      };
    },
  };
}
