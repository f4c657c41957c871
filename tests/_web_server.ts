/**
 * A `server` program started with `--web`: waits for its `web chat on <url>` line. Shared by the
 * web chat's CLI and browser tests (the browser test restarts it on the same ports).
 * @module
 */

import { LINE_TIMEOUT_MS } from "./_helpers.ts";
import { programCommand } from "./_programs.ts";

/** A running `server` program with a web listener. */
export class WebServerProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  /** `http://127.0.0.1:<port>/`. */
  readonly url: string;
  /** The plain TCP port. */
  readonly port: number;
  /** The web port. */
  readonly webPort: number;
  readonly #stderr: Promise<string>;

  private constructor(
    child: Deno.ChildProcess,
    url: string,
    port: number,
    stderr: Promise<string>,
  ) {
    this.child = child;
    this.url = url;
    this.port = port;
    this.webPort = Number(new URL(url).port);
    this.#stderr = stderr;
  }

  /** Starts `server` with `args` (give `--port` and `--web`). */
  static async start(args: string[]): Promise<WebServerProcess> {
    const child = programCommand("server", ["--no-console", "--log-dir", "", ...args]).spawn();
    const stderr = new Response(child.stderr).text();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    const deadline = Date.now() + LINE_TIMEOUT_MS * 2;
    for (;;) {
      const web = /^web chat on (\S+)$/m.exec(seen);
      const plain = /^listening on .+:(\d+)$/m.exec(seen);
      if (web !== null && plain !== null) {
        // Keep draining stdout so the child never blocks on a full pipe.
        void (async () => {
          for (let r = await reader.read(); !r.done; r = await reader.read());
        })().catch(() => {});
        return new WebServerProcess(child, web[1]!, Number(plain[1]), stderr);
      }
      const chunk = Date.now() < deadline ? await reader.read() : { done: true as const };
      if (chunk.done) {
        child.kill("SIGKILL");
        const status = await child.status;
        throw new Error(`server did not start (exit ${status.code}): ${seen}${await stderr}`);
      }
      seen += chunk.value;
    }
  }

  /** SIGTERM, then waits for the exit; returns the exit code and stderr. */
  async stop(): Promise<{ code: number; stderr: string }> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // Exited already.
    }
    const status = await this.child.status;
    return { code: status.code, stderr: await this.#stderr };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
