/**
 * Test helpers for the programs themselves: each runs as `deno run -P=<program> cli/<program>.ts`
 * from the repository root, with the permission set (and V8 flags) the compiled binary embeds, so
 * a permission missing from `deno.json` fails a test.
 * @module
 */

import { PROGRAMS, v8FlagsArgs } from "../scripts/_compile_plan.ts";
import { LINE_TIMEOUT_MS } from "./_helpers.ts";

const decoder = new TextDecoder();
/** The repository root: programs run here so `deno.json` and its permission sets are found. */
export const REPO_ROOT: string = new URL("..", import.meta.url).pathname;

/** Output and exit code of a finished program. */
export interface ProgramResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Builds the command for `program` with `args`, run like the compiled binary would be. */
export function programCommand(
  program: "server" | "client" | "shutdown",
  args: string[],
  options: { env?: Record<string, string>; stdin?: "piped" | "null" } = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      `-P=${program}`,
      ...v8FlagsArgs(PROGRAMS.find((p) => p.name === program)!.v8Flags),
      `cli/${program}.ts`,
      ...args,
    ],
    cwd: REPO_ROOT,
    // The server program keeps a history in data/ by default: not in the repository's folder.
    env: {
      NO_COLOR: "1",
      ...(program === "server" ? { SWITCHBOARD_HISTORY: "off" } : {}),
      ...options.env,
    },
    stdin: options.stdin ?? "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs a program to completion (with `input` on its stdin), killing it after `timeoutMs`. */
export async function runProgram(
  program: "server" | "client" | "shutdown",
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number; input?: string } = {},
): Promise<ProgramResult> {
  const piped = options.input !== undefined;
  const child = programCommand(program, args, { ...options, stdin: piped ? "piped" : "null" })
    .spawn();
  if (piped) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.input));
    await writer.close();
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 20_000);
  try {
    const output = await child.output();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** A `server` process that has printed its `listening on` line. */
export class ServerProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly hostname: string;
  readonly port: number;
  /** The TLS port (`listening on …:PORT (tls)`), when started with `--tls-cert`. */
  readonly tlsPort: number | undefined;
  readonly #stdout: Promise<string>;
  readonly #stderr: Promise<string>;

  private constructor(
    child: Deno.ChildProcess,
    hostname: string,
    port: number,
    tlsPort: number | undefined,
    stdout: Promise<string>,
    stderr: Promise<string>,
  ) {
    this.child = child;
    this.hostname = hostname;
    this.port = port;
    this.tlsPort = tlsPort;
    this.#stdout = stdout;
    this.#stderr = stderr;
  }

  /**
   * Starts `server` with `args` (add `--port 0`) and waits for `listening on HOST:PORT`, and with
   * `--tls-cert` for `listening on HOST:PORT (tls)` too (only that one with `--tls-only`, and
   * `port` is then the TLS port).
   */
  static async start(
    args: string[],
    options: { env?: Record<string, string>; stdin?: "piped" | "null" } = {},
  ): Promise<ServerProcess> {
    const child = programCommand("server", args, options).spawn();
    const stderr = new Response(child.stderr).text();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    const deadline = Date.now() + LINE_TIMEOUT_MS * 2;
    const wantTls = args.some((arg) => arg === "--tls-cert" || arg.startsWith("--tls-cert="));
    const wantPlain = !args.includes("--tls-only");
    for (;;) {
      const plain = /^listening on (.+):(\d+)$/m.exec(seen);
      const tls = /^listening on (.+):(\d+) \(tls\)$/m.exec(seen);
      const match = wantTls ? tls : plain;
      if ((plain !== null || !wantPlain) && match !== null) {
        const rest = (async () => {
          let text = seen.slice(match.index + match[0].length);
          for (let r = await lines.read(); !r.done; r = await lines.read()) text += r.value;
          return text;
        })();
        const host = (match[1] as string).replace(/^\[(.*)\]$/, "$1");
        const port = Number((plain ?? match)[2]);
        const tlsPort = tls === null ? undefined : Number(tls[2]);
        return new ServerProcess(child, host, port, tlsPort, rest, stderr);
      }
      const chunk = Date.now() < deadline ? await lines.read() : { done: true as const };
      if (chunk.done) {
        child.kill("SIGKILL");
        const status = await child.status;
        throw new Error(
          `server did not start (exit ${status.code}): ${seen}${await stderr}`,
        );
      }
      seen += chunk.value;
    }
  }

  /** Sends a signal. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    this.child.kill(signal);
  }

  /** Waits for the process to exit (killing it after `timeoutMs`) and returns its output. */
  async finished(timeoutMs = 20_000): Promise<ProgramResult> {
    const timer = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }, timeoutMs);
    try {
      const status = await this.child.status;
      return { code: status.code, stdout: await this.#stdout, stderr: await this.#stderr };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops the server the way an operator would (SIGTERM), so it removes its admin token file:
   * a file left behind would be found by a later server that happens to get the same port.
   * A server still running after two seconds is killed.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await this.finished(2_000);
  }
}
