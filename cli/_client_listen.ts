/**
 * `client --listen`: a script that only listens. Its input never has a line; it ends when the
 * program is asked to stop (SIGINT, or SIGTERM where there is one), and the client then leaves
 * as at the end of any script (exit 0 unless something failed). Stdin is never read. Private to
 * `cli/`.
 * @module
 */

import type { LineSource } from "./_client_terminal.ts";

/** An input without lines that ends on SIGINT or SIGTERM. Listens from construction on. */
export class ListenLines implements LineSource {
  readonly #ended: Promise<null>;

  /** Starts listening for the signals. */
  constructor() {
    const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
    this.#ended = new Promise((resolve) => {
      const stop = () => {
        for (const signal of signals) Deno.removeSignalListener(signal, stop);
        resolve(null);
      };
      for (const signal of signals) Deno.addSignalListener(signal, stop);
    });
  }

  /** Never a line: `null` once the program was asked to stop. */
  next(): Promise<string | null> {
    return this.#ended;
  }
}
