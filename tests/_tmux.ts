/**
 * A program in a real pseudo-terminal: `tmux` runs it, `send-keys` types and `capture-pane`
 * reads the screen. For tests of password prompts (`server accounts add`, `client --login`);
 * tests check {@linkcode HAS_TMUX} and skip without it. (tests/client_tty_test.ts has its own,
 * richer copy for the client's line editor.)
 * @module
 */

import { REPO_ROOT } from "./_programs.ts";

function hasTmux(): boolean {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** Whether tmux is installed. */
export const HAS_TMUX: boolean = hasTmux();

let sessions = 0;

/** A tmux server of its own (unique socket), running one program in a 100×30 window. */
export class Terminal implements AsyncDisposable {
  readonly socket = `sb-tmux-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}-${++sessions}`;
  #socketPath: string | undefined;

  /**
   * Runs `cli/<program>.ts` with its permission set; when it exits the window shows
   * `exit=<code>` and stays open. Colours are off unless `env` sets `NO_COLOR` to `""`.
   */
  async start(
    program: "server" | "client",
    args: string[],
    env: Record<string, string> = {},
  ): Promise<void> {
    const command = [Deno.execPath(), "run", "-q", `-P=${program}`, `cli/${program}.ts`, ...args]
      .map(quote).join(" ");
    const envArgs = Object.entries({ DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...env })
      .filter(([, v]) => v !== "")
      .flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    const unset = env.NO_COLOR === "" ? "env -u NO_COLOR " : "";
    await this.#tmux(
      "new-session",
      "-d",
      "-s",
      "main",
      "-x",
      "100",
      "-y",
      "30",
      "-c",
      REPO_ROOT,
      ...envArgs,
      `${unset}sh -c '${command}; echo "exit=$?"; sleep 60'`,
    );
    this.#socketPath = (await this.#tmux("display-message", "-p", "#{socket_path}")).trim();
  }

  /** Types keys (tmux key names such as `Enter`, `C-c`). */
  async keys(...keys: string[]): Promise<void> {
    await this.#tmux("send-keys", "-t", "main", ...keys);
  }

  /** Types text literally. */
  async type(text: string): Promise<void> {
    await this.#tmux("send-keys", "-t", "main", "-l", text);
  }

  /** The screen as text (`withStyles`: with SGR colour codes, as `capture-pane -e`). */
  async screen(withStyles = false): Promise<string> {
    return await this.#tmux("capture-pane", "-p", ...(withStyles ? ["-e"] : []), "-t", "main");
  }

  /** Waits until the screen matches `pattern`. */
  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) {
        throw new Error(`no ${pattern} on the screen within ${timeoutMs} ms:\n${screen}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#tmux("kill-server").catch(() => "");
    if (this.#socketPath !== undefined) await Deno.remove(this.#socketPath).catch(() => {});
  }

  async #tmux(...args: string[]): Promise<string> {
    const output = await new Deno.Command("tmux", {
      args: ["-L", this.socket, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(`tmux ${args[0]}: ${new TextDecoder().decode(output.stderr)}`);
    }
    return new TextDecoder().decode(output.stdout);
  }
}

function quote(arg: string): string {
  return /^[\w./:=-]+$/.test(arg) ? arg : `"${arg.replace(/["\\$`]/g, "\\$&")}"`;
}
