/**
 * Remote commands (`:run`): programs an operator declared in the config file, run without a
 * shell. The client names a command and may add words; they are added to the declared `argv` as
 * separate arguments (after a `--`, unless the command declares a pattern for them; see
 * `command_args.ts`) — data, never parsed by a shell — so `; rm -rf /` is three harmless
 * arguments. At most `--max-running` programs run at once on the whole server; one more `:run` is
 * answered `ERR busy` at once, not queued, and a slot is free again once its program has ended.
 * Output comes back as `STDOUT`/`STDERR` lines while the program runs, paced by the client's
 * queue; the timeout, a disconnect or a shutdown kill the program (its whole process group on Unix
 * when the server has unrestricted `--allow-run`), and every run is logged with who ran what and
 * how it ended.
 * @module
 */

import { describeError } from "../../util/describe_error.ts";
import { commandArgs, placeArgs } from "./_run_args.ts";
import { type CommandFamily, sendUsage } from "./_spec.ts";
import type { Caller, ServerContext, Session } from "../context.ts";
import type { RemoteCommand } from "../../config/options.ts";
import { errLine, formatLine, neutralize, okLine, splitWords } from "../../protocol/grammar.ts";

/** `:run` and `:commands`. */
export const RUN_COMMANDS: CommandFamily = {
  run: { needs: "name", usage: ":run <command> [args...]", run: runRemote },
  commands: { needs: "name", usage: ":commands", run: listCommands },
};

/** Longest output line sent, in bytes of text; longer output lines are cut into pieces. */
export const MAX_OUTPUT_LINE_BYTES = 4096;
/** Milliseconds between the polite SIGTERM and the SIGKILL of a program being stopped. */
const KILL_GRACE_MS = 1000;

/** Lines of `:commands`: each command a client may run, and whether it needs admin rights. */
function listCommands(ctx: ServerContext, caller: Caller): void {
  let count = 0;
  for (const [name, spec] of Object.entries(ctx.options.commands)) {
    if (spec.admin && !caller.admin) continue;
    caller.send(formatLine("COMMAND", [name, spec.admin ? "admin" : "user", spec.timeout]));
    count++;
  }
  caller.send(okLine("commands", count));
}

/** The command a client asked for, if declared (own keys only: `constructor` is not a command). */
function findCommand(
  ctx: ServerContext,
  name: string,
): Required<RemoteCommand> | undefined {
  const commands = ctx.options.commands;
  return Object.hasOwn(commands, name) ? commands[name] : undefined;
}

/** One `:run` to carry out: who asked, for which declared command, with which words. */
export interface RunRequest {
  /** The server. */
  ctx: ServerContext;
  /** Who asked; gets the final line. */
  caller: Caller;
  /** The caller's connection, which receives the output. */
  session: Session;
  /** The declared command's name. */
  name: string;
  /** Its declaration, defaults filled in. */
  spec: Required<RemoteCommand>;
  /** The client's words, checked already. */
  words: string[];
  /** Aborts the run (the client left, the server shuts down). */
  signal: AbortSignal;
}

/** The log properties naming a run: client, address, command. */
function who(run: RunRequest): { name: string; peer: string; command: string } {
  return { name: run.caller.name, peer: run.caller.address, command: run.name };
}

/**
 * Runs a declared command for `caller` and streams its output; sends the final line:
 * `OK run <name> <exit-code>`, `ERR timeout`, `ERR run-failed`, or `ERR busy` when
 * `--max-running` programs are running already. Never throws.
 */
async function execute(run: RunRequest): Promise<void> {
  const { ctx, caller } = run;
  const release = ctx.runSlots.take();
  if (release === undefined) {
    const limit = ctx.runSlots.limit;
    const message = "run {command} for {name} ({peer}) refused: max-running {limit} reached";
    ctx.log.limits.warning(message, { ...who(run), limit });
    caller.send(
      errLine("busy", `too many commands running on the server (limit ${limit}); try again later`),
    );
    return;
  }
  try {
    await supervise(run);
  } finally {
    release();
  }
}

/** Starts the program, streams its output, stops it when it must, and sends the final line. */
async function supervise(run: RunRequest): Promise<void> {
  const { ctx, caller, session, name, spec, words, signal } = run;
  const [program = "", ...fixed] = spec.argv;
  const args = placeArgs(fixed, words, spec.args);
  const started = performance.now();
  const subject = who(run);
  ctx.log.admin.info("run {command} for {name} ({peer}): {argv}", {
    ...subject,
    argv: [program, ...args],
  });
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      // The server's environment (its admin token, for one) is none of the program's business.
      clearEnv: true,
      // Its own process group, so a timeout also stops whatever it started.
      detached: Deno.build.os !== "windows",
    }).spawn();
  } catch (error) {
    const why = spawnProblem(error, program);
    ctx.log.admin.warning("run {command} for {name} ({peer}) failed to start: {error}", {
      ...subject,
      error: why,
    });
    caller.send(errLine("run-failed", `${name}: ${why}`));
    return;
  }

  let timedOut = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    if (killTimer !== undefined) return;
    kill(child, "SIGTERM");
    killTimer = setTimeout(() => kill(child, "SIGKILL"), KILL_GRACE_MS);
  };
  const timeout = setTimeout(() => {
    timedOut = true;
    stop();
  }, spec.timeout * 1000);
  const onAbort = () => stop();
  signal.addEventListener("abort", onAbort, { once: true });

  let status: Deno.CommandStatus;
  try {
    await Promise.all([
      pump(child.stdout, "STDOUT", name, session, signal),
      pump(child.stderr, "STDERR", name, session, signal),
    ]);
    status = await child.status;
  } finally {
    clearTimeout(timeout);
    signal.removeEventListener("abort", onAbort);
  }
  clearTimeout(killTimer);

  const ms = Math.round(performance.now() - started);
  const outcome = timedOut ? "timeout" : signal.aborted ? "killed" : "exited";
  ctx.log.admin.info(
    "run {command} for {name} ({peer}) {outcome}: exit code {code} after {ms} ms",
    { ...subject, outcome, code: status.code, signal: status.signal, ms },
  );
  if (timedOut) {
    caller.send(errLine("timeout", `${name} ran longer than ${spec.timeout} s and was killed`));
  } else if (signal.aborted) {
    caller.send(errLine("run-failed", `${name} was stopped: the connection is closing`));
  } else {
    caller.send(okLine("run", name, status.code));
  }
}

/**
 * Sends a program's output stream as `<verb> <name> :<line>` lines; a line longer than
 * {@linkcode MAX_OUTPUT_LINE_BYTES} is cut (at a UTF-8 character boundary). Reading pauses while
 * the client's queue is full, which in turn pauses the program once its pipe fills up. After the
 * client is gone the stream is still read to its end, so the program is never stuck on a pipe.
 */
async function pump(
  stream: ReadableStream<Uint8Array>,
  verb: string,
  name: string,
  session: Session,
  signal: AbortSignal,
): Promise<void> {
  const decoder = new TextDecoder();
  let line = new Uint8Array(MAX_OUTPUT_LINE_BYTES);
  let length = 0;
  let sending = true;
  const emit = async (bytes: Uint8Array) => {
    if (!sending) return;
    let text = decoder.decode(bytes);
    if (text.endsWith("\r")) text = text.slice(0, -1);
    sending = await session.sendPaced(formatLine(verb, [name], neutralize(text)), signal);
  };
  for await (const chunk of stream) {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline < 0 ? chunk.length : newline;
      let piece = chunk.subarray(start, end);
      while (length + piece.length > MAX_OUTPUT_LINE_BYTES) {
        // Cut a long line where a character starts, so the pieces stay valid UTF-8.
        let cut = MAX_OUTPUT_LINE_BYTES - length;
        while (cut > 0 && ((piece[cut] ?? 0) & 0xc0) === 0x80) cut--;
        if (cut === 0 && length === 0) cut = MAX_OUTPUT_LINE_BYTES;
        line.set(piece.subarray(0, cut), length);
        await emit(line.subarray(0, length + cut));
        length = 0;
        piece = piece.subarray(cut);
      }
      line.set(piece, length);
      length += piece.length;
      if (newline < 0) break;
      await emit(line.subarray(0, length));
      length = 0;
      line = new Uint8Array(MAX_OUTPUT_LINE_BYTES);
      start = newline + 1;
    }
  }
  if (length > 0) await emit(line.subarray(0, length));
}

/**
 * Signals the program's whole process group; Deno allows that only with unrestricted run
 * permission, so with a list of allowed programs only the program itself is signalled.
 */
function kill(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    if (Deno.build.os !== "windows") Deno.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

function spawnProblem(error: unknown, program: string): string {
  if (error instanceof Deno.errors.NotFound) return `program ${program} not found`;
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return `the server may not run ${program} (it needs --allow-run for it)`;
  }
  return describeError(error);
}

/** `:run <command> [args...]` → `STDOUT`/`STDERR` lines, then `OK run <command> <exit-code>`. */
function runRemote(ctx: ServerContext, caller: Caller, rest: string): void {
  const [name = "", words = ""] = splitWords(rest, 1);
  if (name === "") return sendUsage(caller, RUN_COMMANDS, "run");
  const session = caller.session;
  if (session === undefined) {
    caller.send(errLine("not-allowed", "the console cannot run commands"));
    return;
  }
  const spec = findCommand(ctx, name);
  if (spec === undefined) {
    caller.send(errLine("no-such-command", `no command "${neutralize(name)}"; try :commands`));
    return;
  }
  if (spec.admin && !caller.admin) {
    caller.send(errLine("not-allowed", `${name} is for admins (see :auth)`));
    return;
  }
  const args = commandArgs(words, spec);
  if (typeof args === "string") {
    caller.send(errLine("bad-args", args));
    return;
  }
  session.defer(
    (signal) => execute({ ctx, caller, session, name, spec, words: args, signal }),
    { abortOnEof: true },
  );
}
