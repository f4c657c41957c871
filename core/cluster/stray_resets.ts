/**
 * A guard against stray errors of Deno's Node compatibility layer on the NATS client's sockets.
 * When a NATS server refuses a connection it closes the socket: with `-ERR 'Authorization
 * Violation'` and bytes unread (a reset), or, for a TLS client without the certificate it asks
 * for, with a TLS alert. The NATS client has removed its listeners from that socket by then (or
 * never had one on the TLS layer), and Deno still reports the reset or the alert as an `error`
 * event nobody listens to, which would end the process as an uncaught error — after the client
 * rejected `connect` with its own clear error, or while it waits for its connect timeout. Node
 * drops such a read once the socket is destroyed; this guard does the same for those two errors
 * only, and keeps the last one so that a join that times out can say what the bus answered.
 * @module
 */

let installed = false;
let last: { message: string; at: number } | undefined;

/** Whether `error` is a reset or a TLS alert read by Node-compatible socket code. */
function stray(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  const stack = String(error.stack);
  return stack.includes("ext:deno_node/") &&
    (code === "ECONNRESET" || error.message.startsWith("received fatal alert"));
}

/** Installs the guard (once per process): see the module comment. */
export function ignoreStrayResets(): void {
  if (installed) return;
  installed = true;
  globalThis.addEventListener("error", (event) => {
    if (!stray(event.error)) return;
    event.preventDefault();
    last = { message: event.error.message, at: Date.now() };
  });
}

/** The last stray error within `withinMs`, e.g. `received fatal alert: BadCertificate`. */
export function recentStrayError(withinMs = 30_000): string | undefined {
  return last !== undefined && Date.now() - last.at <= withinMs ? last.message : undefined;
}
