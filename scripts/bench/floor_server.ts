/**
 * The floor of a Deno server for the connection scenarios (issue 20): the least a Deno program
 * must do to speak Switchboard's registration and hold or churn connections, and nothing else —
 * `Deno.listen`, one task per connection, one pending read into one buffer, a name in a map. No
 * parser beyond `indexOf`, no log, no timers, no hub, no sessions. What it costs is what any
 * Switchboard in one Deno process would cost at least, so the `conns-10k` and `churn` goals can be
 * read against it (`deno task bench:floor`).
 *
 * Protocol, as far as `loadgen conns|churn|fanout --dialect sb` needs it: `HELLO …` on accept; the
 * first line is a name, answered `WELCOME <name> 1 :hi`; `:quit` is answered `BYE quit :bye` and
 * closes; any other line goes to every other client as `MSG <name> * :<line>` — the lines of one
 * read in one write per recipient, as any batching server would (the fan-out scenarios).
 *
 * With `--raw` it is the floor of a broker for `loadgen fanout --dialect raw`: no greeting, no
 * names, each read relayed as it is to every other client (complete lines, as the generator sends
 * them in whole lines per write when reads are large enough): only the reads and the writes any
 * fan-out must do.
 *
 * With `--echo` it is the floor of a line echo (`loadgen echo-rtt|echo-stream --dialect raw`):
 * each read written back as it is, one pending read per connection, nothing parsed.
 *
 * ```sh
 * deno run --allow-net scripts/bench/floor_server.ts [--port 0] [--read-bytes 1024] [--raw|--echo]
 * ```
 * @module
 */

import { parseArgs } from "node:util";
import { FloorClients } from "./floor_clients.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    raw: { type: "boolean", default: false },
    echo: { type: "boolean", default: false },
    "read-bytes": { type: "string", default: "1024" },
  },
});
const readBytes = Number(values["read-bytes"]);
const clients = new FloorClients();

const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(values.port) });
console.log(`listening on ${listener.addr.port}`);

/** `--raw`: every read goes as it is to every other client. */
async function relay(conn: Deno.TcpConn): Promise<void> {
  clients.add(conn);
  try {
    // One read buffer; what was read is copied out, since the writes of it may still be pending
    // when the next read comes (a fresh 64 KiB buffer per read was garbage enough to double the
    // paced p99).
    const buffer = new Uint8Array(readBytes);
    for (;;) {
      const count = await conn.read(buffer);
      if (count === null) break;
      clients.broadcast(buffer.slice(0, count), conn);
    }
  } catch {
    // Reset: the client is gone.
  } finally {
    clients.forget(conn);
  }
}

/** `--echo`: every read written back as it is, before the next read. */
async function echo(conn: Deno.TcpConn): Promise<void> {
  const buffer = new Uint8Array(readBytes);
  try {
    for (;;) {
      const count = await conn.read(buffer);
      if (count === null) break;
      for (let at = 0; at < count;) at += await conn.write(buffer.subarray(at, count));
    }
  } catch {
    // Reset: the client is gone.
  } finally {
    clients.forget(conn);
  }
}

const serve = (conn: Deno.TcpConn) => clients.serve(conn, readBytes);
const handle = values.echo ? echo : values.raw ? relay : serve;
for await (const conn of listener) void handle(conn);
