/**
 * The transport seam. A connection works on any {@linkcode ByteStream} and the server accepts
 * from any {@linkcode StreamListener}: TCP is one implementation (`tcp.ts`); TLS or a WebSocket
 * adapter is one more file in this folder, and nothing above it changes. The shapes are those
 * of `Deno.Conn` and `Deno.Listener`, so a Deno socket fits without a wrapper on the hot path.
 * @module
 */

/** Where a stream's other end is (for TCP the peer's IP address and port). */
export interface StreamAddress {
  /** Host name or IP address. */
  readonly hostname: string;
  /** Port number. */
  readonly port: number;
}

/** A connected, ordered, two-way byte stream; `Deno.TcpConn` and `Deno.TlsConn` fit. */
export interface ByteStream {
  /** The other end. */
  readonly remoteAddr: StreamAddress;
  /** Reads into `buffer`; resolves with the byte count, or `null` once the peer stopped sending. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some bytes and resolves with how many were taken (possibly fewer than given). */
  write(bytes: Uint8Array): Promise<number>;
  /** Ends the sending side; reading goes on. */
  closeWrite(): Promise<void>;
  /** Closes both sides at once. */
  close(): void;
  /**
   * Turns Nagle's algorithm off (`true`): small writes go out without waiting for the peer to
   * acknowledge the previous one. Absent where the transport decides itself (TLS turns it off at
   * the handshake). See `Connection.thirdWrite` for when the server calls it.
   */
  setNoDelay?(noDelay: boolean): void;
  /**
   * The peer's bytes were encrypted on their way even though the listener is not TLS (a WebSocket
   * behind `wss:` or a TLS proxy). Absent: the listener's `security` decides.
   */
  readonly secure?: boolean;
}

/** Writes all of `bytes`, however many writes that takes. */
export async function writeAll(
  stream: Pick<ByteStream, "write">,
  bytes: Uint8Array,
): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await stream.write(bytes.subarray(offset));
}

/** A source of accepted streams; what the server's accept loop reads from. */
export interface StreamListener {
  /** The local address (the real port when bound to port 0). */
  readonly addr: StreamAddress;
  /** What runs inside TCP, for logs (`"tls"`); absent for plain TCP. */
  readonly security?: string;
  /**
   * The next accepted stream. Rejects with {@linkcode PeerGoneBeforeAccept} for a connection
   * its peer gave up while it waited (routine: skip it), with {@linkcode ListenerClosed} once
   * closed, with anything else when the listener itself is in trouble (out of descriptors).
   */
  accept(): Promise<ByteStream>;
  /** Stops listening; a pending `accept` rejects with {@linkcode ListenerClosed}. */
  close(): void;
}

/** A connection reset or aborted by its peer before it could be accepted. */
export class PeerGoneBeforeAccept extends Error {
  /** Wraps the transport's own error. */
  constructor(options?: ErrorOptions) {
    super("the peer left before the connection was accepted", options);
    this.name = "PeerGoneBeforeAccept";
  }
}

/** The listener was closed: no more connections will come. */
export class ListenerClosed extends Error {
  /** Wraps the transport's own error. */
  constructor(options?: ErrorOptions) {
    super("the listener is closed", options);
    this.name = "ListenerClosed";
  }
}

/**
 * A connection that never became a stream: its transport's setup (the TLS handshake) failed or
 * did not finish in time. Routine on the internet (a scanner, a plain-text client on the TLS
 * port); the listener has closed it already, and the accept loop counts it and moves on.
 */
export class HandshakeFailed extends Error {
  /** The peer's address. */
  readonly remoteAddr: StreamAddress;
  /** True when the handshake did not finish in time, false when it failed. */
  readonly timedOut: boolean;
  /** Wraps the transport's own error (none for a timeout). */
  constructor(remoteAddr: StreamAddress, timedOut: boolean, options?: ErrorOptions) {
    super(
      timedOut
        ? "the handshake did not finish in time"
        : `the handshake failed: ${(options?.cause as Error | undefined)?.message ?? "unknown"}`,
      options,
    );
    this.name = "HandshakeFailed";
    this.remoteAddr = remoteAddr;
    this.timedOut = timedOut;
  }
}

/**
 * A connection closed unanswered because as many handshakes as the listener allows were already
 * in progress (`maxHandshakes`): a {@linkcode HandshakeFailed}, so it is counted and logged as one.
 */
export class HandshakeRefused extends HandshakeFailed {
  /** How many handshakes the listener runs at once. */
  readonly limit: number;
  /** `limit`: the listener's `maxHandshakes`. */
  constructor(remoteAddr: StreamAddress, limit: number) {
    super(remoteAddr, false);
    this.message = `too many handshakes in progress (${limit}): closed unanswered`;
    this.name = "HandshakeRefused";
    this.limit = limit;
  }
}
