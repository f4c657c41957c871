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
 * each read written back as it is, one pending read per connection, nothing parsed. With
 * `--echo --log FILE` it is the floor of an echo that keeps a request log with every line's text,
 * as Switchboard's default does (issue 13): each line also gets `<time> <peer> <size> bytes:
 * <text>` in FILE, gathered in a 64 KiB buffer written with one `writeSync` when full — no escaping,
 * no rotation, no log framework (used by hand, not by `deno task bench`).
 *
 * With `--raw --history FILE --log FILE` it is the floor of a relay that keeps every message as
 * Switchboard's default configuration does (issue 20: the CPU and latency goals are measured with
 * the history and the request log on): each read's complete lines are relayed, get one line each
 * in the log (as `--echo --log`), and are stored as one row per read in an SQLite table (WAL,
 * `synchronous = NORMAL`, as `core/server/history/store.ts`), one transaction at most every 50 ms
 * — the cheapest layout for SQLite (the history keeps a row per message, so that it can be
 * searched and trimmed one by one). No escaping, no retention, no ids beyond a counter.
 *
 * In the sb dialect (the default), `--log FILE` keeps the three records a Switchboard session
 * leaves by default (connected, registered, disconnected): each as a line with its ISO time in
 * FILE and as a shorter one on stderr (the console), each gathered in a 64 KiB buffer written with
 * one `writeSync` when full and at SIGTERM — the floor of the churn scenario with Switchboard's
 * default logging (used by hand).
 *
 * ```sh
 * deno run --allow-net scripts/bench/floor_server.ts [--port 0] [--read-bytes 1024] [--raw|--echo]
 * deno run --allow-net --allow-write scripts/bench/floor_server.ts --echo --read-bytes 65536 --log /tmp/floor.log
 * deno run --allow-net --allow-read --allow-write scripts/bench/floor_server.ts --raw --read-bytes 65536 \
 *   --history /tmp/floor.db --log /tmp/floor.log
 * ```
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import { FloorClients } from "./floor_clients.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    raw: { type: "boolean", default: false },
    echo: { type: "boolean", default: false },
    "read-bytes": { type: "string", default: "1024" },
    log: { type: "string" },
    history: { type: "string" },
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
    const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
    // A line cut by the end of a read waits here for its end (`--log`, `--history`).
    let partial = new Uint8Array(0);
    for (;;) {
      const count = await conn.read(buffer);
      if (count === null) break;
      const chunk = buffer.slice(0, count);
      clients.broadcast(chunk, conn);
      if (log !== undefined || history !== undefined) {
        const joined = partial.length === 0 ? chunk : concat(partial, chunk);
        const end = joined.lastIndexOf(10) + 1;
        if (log !== undefined) logLines(joined.subarray(0, end), peer);
        history?.keep(joined.subarray(0, end));
        partial = joined.slice(end);
      }
    }
  } catch {
    // Reset: the client is gone.
  } finally {
    clients.forget(conn);
  }
}

/** `--log`: the request log's file and its buffer. */
const log = values.log === undefined ? undefined : {
  file: Deno.openSync(values.log, { create: true, append: true }),
  buffer: new Uint8Array(1 << 20),
  used: 0,
};
const encoder = new TextEncoder();

/** `--log`: one line per complete line of `chunk`; returns where the last partial line starts. */
function logLines(chunk: Uint8Array, peer: string): number {
  const sink = log!;
  const head = encoder.encode(`${new Date().toISOString()} ${peer} `);
  let start = 0;
  for (let end = chunk.indexOf(10); end >= 0; end = chunk.indexOf(10, start)) {
    if (sink.used + head.length + 20 + end - start > sink.buffer.length) {
      sink.file.writeSync(sink.buffer.subarray(0, sink.used));
      sink.used = 0;
    }
    const buffer = sink.buffer;
    buffer.set(head, sink.used);
    let at = sink.used + head.length;
    // The size in decimal, then " bytes: ".
    const size = end - start;
    const digits = size < 10 ? 1 : size < 100 ? 2 : size < 1000 ? 3 : size < 10000 ? 4 : 10;
    for (let i = digits - 1, rest = size; i >= 0; i--, rest = Math.floor(rest / 10)) {
      buffer[at + i] = 0x30 + (rest % 10);
    }
    at += digits;
    buffer.set(BYTES, at);
    at += BYTES.length;
    buffer.set(chunk.subarray(start, end + 1), at);
    sink.used = at + end + 1 - start;
    start = end + 1;
  }
  return start;
}
const BYTES = encoder.encode(" bytes: ");

/** `--history`: complete lines, one row per read, one transaction at most every 50 ms. */
const history = values.history === undefined ? undefined : (() => {
  const db = new DatabaseSync(values.history);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
  db.exec(
    "CREATE TABLE IF NOT EXISTS reads (first_id INTEGER PRIMARY KEY, time INTEGER NOT NULL, " +
      "count INTEGER NOT NULL, lines BLOB NOT NULL)",
  );
  const insert = db.prepare("INSERT INTO reads (first_id, time, count, lines) VALUES (?,?,?,?)");
  let nextId = 1;
  let open = false;
  const commit = () => {
    if (open) db.exec("COMMIT");
    open = false;
  };
  return {
    keep(lines: Uint8Array): void {
      if (lines.length === 0) return;
      let count = 0;
      for (let at = lines.indexOf(10); at >= 0; at = lines.indexOf(10, at + 1)) count++;
      if (!open) {
        db.exec("BEGIN");
        open = true;
        setTimeout(commit, 50);
      }
      insert.run(nextId, Date.now(), count, lines);
      nextId += count;
    },
    close(): void {
      commit();
      db.close();
    },
  };
})();

if ((log !== undefined || history !== undefined) && (values.echo || values.raw)) {
  // The benchmark stops the floor with SIGTERM: what is buffered is written first.
  Deno.addSignalListener("SIGTERM", () => {
    if (log !== undefined) log.file.writeSync(log.buffer.subarray(0, log.used));
    history?.close();
    Deno.exit(0);
  });
}

/** `--echo`: every read written back as it is, before the next read (and logged, `--log`). */
async function echo(conn: Deno.TcpConn): Promise<void> {
  const buffer = new Uint8Array(readBytes);
  const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
  // A line cut by the end of a read waits here for its end (`--log`).
  let partial = new Uint8Array(0);
  try {
    for (;;) {
      const count = await conn.read(buffer);
      if (count === null) break;
      if (log !== undefined) {
        const joined = partial.length === 0
          ? buffer.subarray(0, count)
          : concat(partial, buffer.subarray(0, count));
        partial = joined.slice(logLines(joined, peer));
      }
      for (let at = 0; at < count;) at += await conn.write(buffer.subarray(at, count));
    }
  } catch {
    // Reset: the client is gone.
  } finally {
    clients.forget(conn);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/** The session records of `--log` in the sb dialect: FILE and the console, in batches. */
function sessionLog(file: Deno.FsFile): (text: string) => void {
  type Batch = { out: { writeSync(p: Uint8Array): number }; buffer: Uint8Array; used: number };
  const files: Batch = { out: file, buffer: new Uint8Array(64 * 1024), used: 0 };
  const console: Batch = { out: Deno.stderr, buffer: new Uint8Array(64 * 1024), used: 0 };
  const put = (batch: Batch, line: string) => {
    if (batch.used + line.length * 3 > batch.buffer.length) {
      batch.out.writeSync(batch.buffer.subarray(0, batch.used));
      batch.used = 0;
    }
    batch.used += encoder.encodeInto(line, batch.buffer.subarray(batch.used)).written;
  };
  Deno.addSignalListener("SIGTERM", () => {
    for (const batch of [files, console]) batch.out.writeSync(batch.buffer.subarray(0, batch.used));
    Deno.exit(0);
  });
  return (text) => {
    const time = new Date().toISOString();
    put(files, `${time} [INF] switchboard.conn: ${text}\n`);
    put(console, `${time.slice(11, 19)} info  ${text}\n`);
  };
}

const note = values.log === undefined || values.echo ? undefined : sessionLog(log!.file);
const serve = (conn: Deno.TcpConn) => clients.serve(conn, readBytes, undefined, note);
const handle = values.echo ? echo : values.raw ? relay : serve;
for await (const conn of listener) void handle(conn);
