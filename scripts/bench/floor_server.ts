/**
 * The floor of a Deno server for the connection scenarios (issue 20): the least a Deno program
 * must do to speak Switchboard's registration and hold or churn connections, and nothing else —
 * `Deno.listen`, one task per connection, one pending read into one buffer, a name in a map. No
 * parser beyond `indexOf`, no log, no timers, no hub, no sessions. What it costs is what any
 * Switchboard in one Deno process would cost at least, so the `conns-10k` and `churn` goals can be
 * read against it (`deno task bench:floor`).
 *
 * Protocol, as far as `loadgen conns|churn --dialect sb` needs it: `HELLO …` on accept; the first
 * line is a name, answered `WELCOME <name> 1 :hi`; `:quit` is answered `BYE quit :bye` and closes;
 * any other line goes to every other client as `MSG <name> * :<line>` (the `conns` probe).
 *
 * ```sh
 * deno run --allow-net scripts/bench/floor_server.ts [--port 0] [--read-bytes 1024]
 * ```
 * @module
 */

import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    "read-bytes": { type: "string", default: "1024" },
  },
});
const readBytes = Number(values["read-bytes"]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HELLO = encoder.encode("HELLO switchboard-floor 1 chat\n");
const BYE = encoder.encode("BYE quit :bye\n");
const clients = new Map<Deno.TcpConn, string>();

const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(values.port) });
console.log(`listening on ${listener.addr.port}`);

async function serve(conn: Deno.TcpConn): Promise<void> {
  const buffer = new Uint8Array(readBytes);
  let pending = "";
  try {
    await conn.write(HELLO);
    for (;;) {
      const count = await conn.read(buffer);
      if (count === null) break;
      pending += decoder.decode(buffer.subarray(0, count));
      for (let end = pending.indexOf("\n"); end >= 0; end = pending.indexOf("\n")) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 1);
        const name = clients.get(conn);
        if (name === undefined) {
          clients.set(conn, line);
          await conn.write(encoder.encode(`WELCOME ${line} 1 :hi\n`));
        } else if (line === ":quit") {
          await conn.write(BYE);
          return;
        } else {
          const bytes = encoder.encode(`MSG ${name} * :${line}\n`);
          for (const other of clients.keys()) {
            if (other !== conn) other.write(bytes).catch(() => {});
          }
        }
      }
    }
  } catch {
    // Reset: the client is gone.
  } finally {
    clients.delete(conn);
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
}

for await (const conn of listener) void serve(conn);
