/**
 * The clients of a Deno floor server (`floor_server.ts`, `floor_workers.ts`): the least a Deno
 * program does to speak Switchboard's registration and relay lines — `HELLO …` on accept, the first
 * line a name (`WELCOME <name> 1 :hi`), `:quit` answered `BYE quit :bye`, other lines to every
 * other client as `MSG <name> * :<line>`, the lines of one read in one write per recipient, writes
 * to one client one after another.
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HELLO = encoder.encode("HELLO switchboard-floor 1 chat\n");
const BYE = encoder.encode("BYE quit :bye\n");

/** A connection the floor serves: a `Deno.TcpConn`, a `Deno.TlsConn`, or an adapter (TLS floor). */
export type FloorConn =
  & Pick<Deno.Conn, "read" | "write" | "close">
  & Partial<Pick<Deno.TcpConn, "remoteAddr">>;

/** One named client: its name and its last write. */
interface Client {
  readonly name: string;
  tail: Promise<void>;
}

/** The named clients of one thread. */
export class FloorClients {
  readonly #clients = new Map<FloorConn, Client>();

  /** Adds `conn` without a name (`--raw`: it only relays). */
  add(conn: FloorConn): void {
    this.#clients.set(conn, { name: "", tail: Promise.resolve() });
  }

  /** Writes `bytes` to every client but `except`, after what each is still writing. */
  broadcast(bytes: Uint8Array, except?: FloorConn): void {
    for (const [conn, client] of this.#clients) {
      if (conn !== except) client.tail = client.tail.then(() => this.#writeAll(conn, bytes));
    }
  }

  /**
   * Serves `conn` in the sb dialect, reading into `readBytes`-byte buffers; the lines it relays go
   * to this thread's clients and to `elsewhere` (other threads), once per read.
   */
  async serve(
    conn: FloorConn,
    readBytes: number,
    elsewhere?: (bytes: Uint8Array) => void,
    log?: (text: string) => void,
  ): Promise<void> {
    const buffer = new Uint8Array(readBytes);
    let pending = "";
    const addr = conn.remoteAddr;
    const peer = log === undefined || addr === undefined ? "" : `${addr.hostname}:${addr.port}`;
    log?.(`connected ${peer}`);
    try {
      await conn.write(HELLO);
      for (;;) {
        const count = await conn.read(buffer);
        if (count === null) break;
        pending += decoder.decode(buffer.subarray(0, count));
        let out = "";
        for (let end = pending.indexOf("\n"); end >= 0; end = pending.indexOf("\n")) {
          const line = pending.slice(0, end);
          pending = pending.slice(end + 1);
          const name = this.#clients.get(conn)?.name;
          if (name === undefined) {
            this.#clients.set(conn, { name: line, tail: Promise.resolve() });
            log?.(`registered ${line} (${peer})`);
            await conn.write(encoder.encode(`WELCOME ${line} 1 :hi\n`));
          } else if (line === ":quit") {
            await conn.write(BYE);
            log?.(`disconnected ${peer} ${name}: quit (bye)`);
            return;
          } else {
            out += `MSG ${name} * :${line}\n`;
          }
        }
        if (out === "") continue;
        const bytes = encoder.encode(out);
        this.broadcast(bytes, conn);
        elsewhere?.(bytes);
      }
    } catch {
      // Reset: the client is gone.
    } finally {
      this.forget(conn);
    }
  }

  /** Drops a client that is gone, and closes its connection. */
  forget(conn: FloorConn): void {
    this.#clients.delete(conn);
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }

  /** Writes all of `bytes` (a write may take part of them); a client that is gone is dropped. */
  async #writeAll(conn: FloorConn, bytes: Uint8Array): Promise<void> {
    try {
      for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
    } catch {
      this.#clients.delete(conn);
    }
  }
}
