/**
 * Test harness for the `client` program: spawns `cli/client.ts` with the same permission set as
 * the compiled binary (`-P=client`) from the repository root, feeds its stdin, collects its
 * output as it comes, and bounds every wait. Not a test file itself.
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;
const encoder = new TextEncoder();

/** How a finished client process ended. */
export interface ClientResult {
  /** Exit code. */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
}

/** The non-empty lines of an output. */
export function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

/** A running client with piped stdin. */
export class ClientProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #readers: Promise<void>[];
  #stdout = "";
  #stderr = "";
  #stdinClosed = false;
  #result: Promise<ClientResult> | undefined;

  /** Spawns `deno run -P=client cli/client.ts ...args`. */
  constructor(args: string[], env: Record<string, string> = {}) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-P=client", "cli/client.ts", ...args],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { DENO_NO_UPDATE_CHECK: "1", ...env },
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#readers = [
      collect(this.#child.stdout, (text) => this.#stdout += text),
      collect(this.#child.stderr, (text) => this.#stderr += text),
    ];
  }

  /** Output so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** Errors and notices so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Types one line. */
  async send(line: string): Promise<void> {
    await this.#stdin.write(encoder.encode(line + "\n"));
  }

  /** Ends the input (EOF). */
  async closeInput(): Promise<void> {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    try {
      await this.#stdin.close();
    } catch {
      // The process is gone already.
    }
  }

  /** Waits until stdout (or stderr) matches `pattern`; fails with both outputs after `timeoutMs`. */
  async waitFor(
    pattern: RegExp,
    stream: "stdout" | "stderr" = "stdout",
    timeoutMs = 5000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(stream === "stdout" ? this.#stdout : this.#stderr)) {
      if (Date.now() > deadline) {
        throw new Error(
          `no ${pattern} on ${stream} within ${timeoutMs} ms\n--- stdout:\n${this.#stdout}\n--- stderr:\n${this.#stderr}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Waits for the process to exit (killing it after `timeoutMs`) and returns its result. */
  finished(timeoutMs = 8000): Promise<ClientResult> {
    this.#result ??= (async () => {
      const timer = setTimeout(() => {
        try {
          this.#child.kill("SIGKILL");
        } catch {
          // Exited meanwhile.
        }
      }, timeoutMs);
      try {
        const status = await this.#child.status;
        await this.closeInput();
        await Promise.all(this.#readers);
        return { code: status.code, stdout: this.#stdout, stderr: this.#stderr };
      } finally {
        clearTimeout(timer);
      }
    })();
    return this.#result;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Exited already.
    }
    await this.finished();
  }
}

/** Runs the client to completion with `input` on stdin. */
export async function runClient(
  args: string[],
  input = "",
  env: Record<string, string> = {},
): Promise<ClientResult> {
  await using client = new ClientProcess(args, env);
  if (input !== "") await client.send(input.replace(/\n$/, ""));
  await client.closeInput();
  return await client.finished();
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  sink: (text: string) => void,
): Promise<void> {
  for await (const text of stream.pipeThrough(new TextDecoderStream())) sink(text);
}

/** Waits until `predicate` holds, polling every 20 ms, for at most `timeoutMs`. */
export async function until(
  predicate: () => boolean,
  timeoutMs = 5000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
