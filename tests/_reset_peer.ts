/**
 * A peer that connects and resets at once (`SO_LINGER {1, 0}`, then `close`), as a scanner or a
 * crashed client does. Deno's sockets cannot set `SO_LINGER`, so this one is made through libc
 * (Linux only: the `sockaddr_in` layout and the constants below are Linux's).
 * @module
 */

const AF_INET = 2;
const SOCK_STREAM = 1;
const SOL_SOCKET = 1;
const SO_LINGER = 13;

/** True where {@linkcode resetConnections} works. */
export const canReset = Deno.build.os === "linux";

/**
 * Opens `count` TCP connections to 127.0.0.1:`port` and resets each right after its handshake,
 * so it sits reset in the listener's queue before the server accepts it. Returns how many
 * connected.
 */
export function resetConnections(port: number, count: number): number {
  const libc = Deno.dlopen("libc.so.6", {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
    setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
  });
  try {
    const address = new Uint8Array(16);
    const view = new DataView(address.buffer);
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, port, false);
    address.set([127, 0, 0, 1], 4);
    const linger = new Int32Array([1, 0]);
    let connected = 0;
    for (let i = 0; i < count; i++) {
      const fd = libc.symbols.socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0) throw new Error("socket() failed");
      if (libc.symbols.connect(fd, address, address.length) === 0) connected++;
      libc.symbols.setsockopt(fd, SOL_SOCKET, SO_LINGER, linger, 8);
      libc.symbols.close(fd);
    }
    return connected;
  } finally {
    libc.close();
  }
}
