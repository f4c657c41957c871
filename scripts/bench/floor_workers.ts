/**
 * What the p99 goal of issue 20 would take: the Deno floor's fan-out (`floor_server.ts`, sb
 * dialect) spread over `--workers` isolates, each with its own `reusePort` listener on one port
 * (the kernel shares the connections out) and its own share of the sockets. A line read by one
 * worker is written to its own clients and posted once to every other worker, which writes it to
 * theirs: each thread makes 1/W of the writes per message. Measured against one worker with
 * `loadgen fanout --dialect sb --rate 1000` (docs/perf.md, "Issue 20").
 *
 * ```sh
 * deno run -A scripts/bench/floor_workers.ts [--workers 2] [--port 0]
 * ```
 * @module
 */

import { parseArgs } from "node:util";
import { FloorClients } from "./floor_clients.ts";

const { values } = parseArgs({
  options: { workers: { type: "string", default: "2" }, port: { type: "string", default: "0" } },
});

if (import.meta.main && !("WorkerGlobalScope" in globalThis)) {
  const count = Number(values.workers);
  let port = Number(values.port);
  if (port === 0) {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    port = probe.addr.port;
    probe.close();
  }
  const workers = Array.from({ length: count }, (_, index) => {
    const worker = new Worker(import.meta.url, { type: "module" });
    worker.postMessage({ start: { port, index } });
    return worker;
  });
  // Lines go from the worker that read them to every other worker, through here.
  workers.forEach((worker, from) => {
    worker.onmessage = (event: MessageEvent<{ ready?: true; line?: Uint8Array }>) => {
      if (event.data.ready) {
        if (++ready === count) console.log(`listening on ${port}`);
        return;
      }
      for (let to = 0; to < count; to++) if (to !== from) workers[to]!.postMessage(event.data);
    };
  });
  let ready = 0;
} else if ("WorkerGlobalScope" in globalThis) {
  /** This worker's side of its channel to the main thread (typed as a window by default). */
  const scope = self as unknown as {
    onmessage:
      | ((event: MessageEvent<{ start?: { port: number }; line?: Uint8Array }>) => void)
      | null;
    postMessage(message: unknown): void;
  };
  const clients = new FloorClients();
  const post = (bytes: Uint8Array) => scope.postMessage({ line: bytes });
  scope.onmessage = (event) => {
    if (event.data.line !== undefined) return clients.broadcast(event.data.line);
    const listener = Deno.listen({
      hostname: "127.0.0.1",
      port: event.data.start!.port,
      reusePort: true,
    });
    scope.postMessage({ ready: true });
    void (async () => {
      for await (const conn of listener) void clients.serve(conn, 65536, post);
    })();
  };
}
