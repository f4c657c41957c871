/**
 * The clients of a Deno floor server (`floor_server.ts`, `floor_workers.ts`): the least a Deno
 * program does to speak Switchboard's registration and relay lines — `HELLO …` on accept, the first
 * line a name (`WELCOME <name> 1 :hi`), `:quit` answered `BYE quit :bye`, other lines to every
 * other client as `MSG <name> * :<line>`, the lines of one read queued once per recipient, what
 * queues while a client's write is in flight written together in its next write.
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HELLO = encoder.encode("HELLO switchboard-floor 1 chat\n");
const BYE = encoder.encode("BYE quit :bye\n");

/** One client: its name and what waits to be written to it. */
interface Client {
  readonly name: string;
  /** What waits while a write is in flight: written together, in one write, when it is done. */
  queued: Uint8Array[];
  writing: boolean;
}

/** The named clients of one thread. */
export class FloorClients {
  readonly #clients = new Map<Deno.TcpConn, Client>();

  /** Adds `conn` without a name (`--raw`: it only relays). */
  add(conn: Deno.TcpConn): void {
    this.#clients.set(conn, { name: "", queued: [], writing: false });
  }

  /**
   * Writes `bytes` to every client but `except`, after what each is still writing: what comes
   * while a client's write is in flight is coalesced into its next write, as any server that
   * queues per connection does (the C server, Switchboard).
   */
  broadcast(bytes: Uint8Array, except?: Deno.TcpConn): void {
    for (const [conn, client] of this.#clients) {
      if (conn === except) continue;
      client.queued.push(bytes);
      if (!client.writing) void this.#drain(conn, client);
    }
  }

  /**
   * Serves `conn` in the sb dialect, reading into `readBytes`-byte buffers; the lines it relays go
   * to this thread's clients and to `elsewhere` (other threads), once per read.
   */
  async serve(
    conn: Deno.TcpConn,
    readBytes: number,
    elsewhere?: (bytes: Uint8Array) => void,
  ): Promise<void> {
    const buffer = new Uint8Array(readBytes);
    let pending = "";
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
            this.#clients.set(conn, { name: line, queued: [], writing: false });
            await conn.write(encoder.encode(`WELCOME ${line} 1 :hi\n`));
          } else if (line === ":quit") {
            await conn.write(BYE);
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
  forget(conn: Deno.TcpConn): void {
    this.#clients.delete(conn);
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }

  /** Writes what is queued for `client` until nothing is; a client that is gone is dropped. */
  async #drain(conn: Deno.TcpConn, client: Client): Promise<void> {
    client.writing = true;
    try {
      while (client.queued.length > 0) {
        const queued = client.queued;
        client.queued = [];
        const bytes = queued.length === 1 ? queued[0]! : concat(queued);
        for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
      }
    } catch {
      this.#clients.delete(conn);
    } finally {
      client.writing = false;
    }
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const joined = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    joined.set(chunk, at);
    at += chunk.length;
  }
  return joined;
}
