/**
 * Test harness for the `client` program: spawns `cli/client.ts` with the same permission set as
 * the compiled binary (`-P=client`) from the repository root, feeds its stdin, collects its
 * output as it comes, and bounds every wait. Not a test file itself.
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;
const encoder = new TextEncoder();

/** What a {@linkcode FakeServer} does with `:get <name>`: write anything, or close. */
export type FakeGet = (
  name: string,
  write: (data: Uint8Array | string) => Promise<void>,
  close: () => void,
) => Promise<void>;

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

/**
 * A pretend server for one connection: greets, welcomes any name, answers `:ack on` and `:ping`
 * (and acknowledges no message: a server that loses them), and answers `:get <name>` with
 * whatever `onGet` writes (raw bytes, anything at all) — the misbehaviours a real server never
 * shows.
 */
export class FakeServer implements AsyncDisposable {
  readonly #listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  readonly #served: Promise<void>;
  #conn: Deno.TcpConn | undefined;

  /** Listens on 127.0.0.1, port 0, and serves the first connection. */
  constructor(onGet: FakeGet = async () => {}) {
    this.#served = this.#serve(onGet);
  }

  /** The port to connect to. */
  get port(): number {
    return this.#listener.addr.port;
  }

  async #serve(onGet: FakeGet): Promise<void> {
    let conn: Deno.TcpConn;
    try {
      conn = this.#conn = await this.#listener.accept();
    } catch {
      return; // Closed before anyone came.
    }
    const write = async (data: Uint8Array | string) => {
      const bytes = typeof data === "string" ? encoder.encode(data) : data;
      for (let offset = 0; offset < bytes.length;) {
        offset += await conn.write(bytes.subarray(offset));
      }
    };
    const close = () => {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    };
    try {
      await write("HELLO sb/1 chat 0.0.0 :fake\n");
      let buffered = "";
      let registered = false;
      const decoder = new TextDecoder();
      const buffer = new Uint8Array(4096);
      for (;;) {
        const count = await conn.read(buffer);
        if (count === null) break;
        buffered += decoder.decode(buffer.subarray(0, count), { stream: true });
        for (let newline = buffered.indexOf("\n"); newline >= 0; newline = buffered.indexOf("\n")) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (!registered) {
            registered = true;
            await write(`WELCOME ${line} 1 :hi\n`);
          } else if (line === ":ping" || line.startsWith(":ack ")) {
            await write(line === ":ping" ? "OK ping\n" : "OK ack on\n");
          } else if (line.startsWith(":get ")) {
            await onGet(line.slice(5), write, close);
          } else if (line === ":quit") {
            await write("BYE quit :bye\n");
            close();
            return;
          }
        }
      }
    } catch {
      // The client went away, or the test closed the connection on purpose.
    } finally {
      close();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    try {
      this.#conn?.close();
    } catch {
      // Closed already.
    }
    await this.#served;
  }
}
