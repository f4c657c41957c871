/**
 * The `client` program's behaviour on top of the client library: pick interactive or scripted
 * mode, connect and report failures with their exit codes, get a name (asking again on a
 * terminal), then hand each typed line to the server or to a client-local command (file
 * transfers go to `_client_transfers.ts`), and show what happens. Scripted sessions turn
 * acknowledgements on, so a message the server did not take fails the exit code. Private to
 * `cli/`.
 * @module
 */

import { settleWithin, sleep } from "../core/util/time.ts";
import { SwitchboardClient } from "../core/client/client.ts";
import { ConnectError, type ConnectErrorCode } from "../core/client/errors.ts";
import type { ClientEnd, ReceivedLine } from "../core/client/events.ts";
import process from "node:process";
import { FileTransfers } from "../core/client/files.ts";
import { formatAddress, parseCommand } from "../core/protocol/grammar.ts";
import { EXIT, type ExitCode } from "./_exit_codes.ts";
import { readTlsCa } from "./_tls_ca.ts";
import type { ClientPlan } from "./_client_args.ts";
import {
  clock,
  eventRecord,
  jsonRecord,
  type Painter,
  painter,
  renderLine,
} from "./_client_render.ts";
import {
  type LineSource,
  ListLines,
  PlainScreen,
  type Screen,
  StdinLines,
  TerminalScreen,
} from "./_client_terminal.ts";
import { TransferDesk } from "./_client_transfers.ts";
import { ListenLines } from "./_client_listen.ts";
import { ConnectionStatus, isOwnMessage, ownLobbyMessage } from "./_client_presence.ts";
import { PromptAborted, readSecret } from "./_password_prompt.ts";
import { fromSlash, SLASH_HELP } from "./_client_commands.ts";
import { terminalColourDepth } from "./_client_colours.ts";
import { ringBell, wantsAttention } from "./_client_notify.ts";
import { Roster } from "./_client_completion.ts";
import { chatEditor } from "./_client_editor.ts";

/** Lobby lines from the history shown when an interactive session starts. */
const RECENT_LOBBY_LINES = 20;
/** How long the start waits for them before going on (they still show when they come). */
const RECENT_LOBBY_WAIT_MS = 1000;
/** Where `--login` finds its password (a flag would show in the process list). */
const PASSWORD_VARIABLE = "SWITCHBOARD_PASSWORD";

/** Exit code for each way connecting fails. */
const CONNECT_EXIT: Record<ConnectErrorCode, ExitCode> = {
  "refused": EXIT.refused,
  "unreachable": EXIT.unreachable,
  "timeout": EXIT.timeout,
  "access-denied": EXIT.accessDenied,
  "server-full": EXIT.serverFull,
  "shutting-down": EXIT.disconnected,
  "not-switchboard": EXIT.failure,
  "closed": EXIT.failure,
  "tls-unknown-authority": EXIT.tls,
  "tls-name-mismatch": EXIT.tls,
  "tls-expired": EXIT.tls,
  "tls-plain-server": EXIT.tls,
  "tls-handshake": EXIT.tls,
};

/** Answers to these commands are reported by the transfer's summary line instead. */
const TRANSFER_COMMAND = /^:(put|get|send|accept) /i;
/** The server's help for the wire forms of the commands the client handles itself. */
const WIRE_HELP = /^:(put|get|send) /;
/** Milliseconds to wait, when the program ends, for cancelled transfers to clean up. */
const CLEANUP_MS = 2000;

/** Shortest time between two "still disconnected" notices. */
const RETRY_NOTICE_MS = 4000;

/** Client-local commands, listed by `:help` after the server's. */
const LOCAL_HELP = [
  ":put <path> [name]          upload a file to the shared area (quote a path with spaces)",
  ":get <name> [dest]          download a shared file into --downloads (never overwrites)",
  ":files  :rm <name>          list the shared area, remove a file you uploaded",
  ":send <user|#group> <path>  offer a file to someone (a RECEIPT says what became of it)",
  ":accept <id> [dest]         save a file offered to you;  :decline <id> refuses it",
  ":run <name> [args]          run a command the server offers;  :commands lists them",
  ":status                     connection, name, groups, queued lines and transfers",
  ":wait                       wait until every transfer and answer is in",
  ":sleep <seconds>            pause before the next line (for scripts)",
  ":quit, /quit, exit, Ctrl+D    leave;  Ctrl+C clears the line (twice: leave)",
];

/** Runs the program with a parsed command line; resolves with the exit code. */
export async function runClient(plan: ClientPlan): Promise<number> {
  const interactive = !plan.json && !plan.listen && plan.send.length === 0 &&
    Deno.stdin.isTerminal() &&
    Deno.stdout.isTerminal();
  const colorAllowed = plan.color && !Deno.noColor;
  let log: SessionLog | undefined;
  if (plan.logFile !== undefined) {
    try {
      log = SessionLog.open(plan.logFile);
    } catch (error) {
      console.error(
        `client: cannot write the log file ${plan.logFile}: ${(error as Error).message}`,
      );
      return EXIT.usage;
    }
  }
  let tls: { caCerts?: string[] } | undefined;
  if (plan.tls) {
    const ca = plan.tlsCa === undefined ? undefined : await readTlsCa(plan.tlsCa);
    if (ca !== undefined && "problem" in ca) {
      console.error(`client: ${ca.problem}`);
      return EXIT.usage;
    }
    tls = ca === undefined ? {} : { caCerts: [ca.pem] };
  }
  // Asked before connecting, so that the server's registration timeout does not run meanwhile.
  let password: string | undefined;
  if (plan.login) {
    const got = await loginPassword(plan.name as string);
    if (typeof got === "number") {
      log?.close();
      return got;
    }
    password = got;
  }
  const app = new ClientApp(
    plan,
    password,
    interactive,
    {
      out: painter(colorAllowed && !plan.json && Deno.stdout.isTerminal(), terminalColourDepth()),
      err: painter(colorAllowed && Deno.stderr.isTerminal()),
    },
    log,
    tls,
  );
  try {
    return await app.run();
  } finally {
    app.close();
    log?.close();
  }
}

/** Appends what the client shows to a file, one line each with a full timestamp, no colours. */
class SessionLog {
  readonly #file: Deno.FsFile;
  readonly #encoder = new TextEncoder();

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  static open(path: string): SessionLog {
    return new SessionLog(Deno.openSync(path, { append: true, create: true, write: true }));
  }

  write(time: Date, text: string): void {
    const bytes = this.#encoder.encode(`${time.toISOString()} ${text}\n`);
    try {
      for (let offset = 0; offset < bytes.length;) {
        offset += this.#file.writeSync(bytes.subarray(offset));
      }
    } catch {
      // A full disk must not end the chat.
    }
  }

  close(): void {
    try {
      this.#file.close();
    } catch {
      // Closed already.
    }
  }
}

/**
 * The password for `--login`: `SWITCHBOARD_PASSWORD`, else asked without echo on a terminal.
 * Returns an exit code instead when there is none (or the person left the prompt).
 */
async function loginPassword(name: string): Promise<string | ExitCode> {
  const fromEnv = Deno.env.get(PASSWORD_VARIABLE);
  if (fromEnv !== undefined && fromEnv !== "") {
    if (/[\r\n]/.test(fromEnv)) {
      console.error(`client: ${PASSWORD_VARIABLE} must be one line`);
      return EXIT.usage;
    }
    return fromEnv;
  }
  if (!Deno.stdin.isTerminal()) {
    console.error(
      `client: --login needs a password: set ${PASSWORD_VARIABLE}, or run on a terminal to be asked (it is never a flag)`,
    );
    return EXIT.usage;
  }
  try {
    const password = await readSecret(`Password for ${name}: `);
    if (password !== "") return password;
    console.error("client: no password given");
    return EXIT.usage;
  } catch (error) {
    // Like closing the name prompt: the person has simply left.
    if (error instanceof PromptAborted) return EXIT.ok;
    if (error instanceof RangeError) {
      console.error(`client: ${error.message}`);
      return EXIT.usage;
    }
    throw error;
  }
}

class ClientApp {
  readonly #plan: ClientPlan;
  /** The `--login` password; `undefined` without `--login`. */
  readonly #password: string | undefined;
  /** TLS options (`--tls`, `--tls-ca`), or undefined for plain TCP. */
  readonly #tls: { caCerts?: string[] } | undefined;
  readonly #interactive: boolean;
  readonly #paint: { out: Painter; err: Painter };
  readonly #plain = painter(false);
  readonly #log: SessionLog | undefined;
  #screen: Screen = new PlainScreen();
  #terminal: TerminalScreen | undefined;
  #client: SwitchboardClient | undefined;
  #desk: TransferDesk | undefined;
  #failure: ExitCode | undefined;
  /** Who is online and which groups exist, for Tab completion. */
  readonly #roster = new Roster();
  /** The one status line while disconnected (interactive), drawn above the transfers'. */
  readonly #connection: ConnectionStatus;
  #transferLines: readonly string[] = [];

  constructor(
    plan: ClientPlan,
    password: string | undefined,
    interactive: boolean,
    paint: { out: Painter; err: Painter },
    log: SessionLog | undefined,
    tls: { caCerts?: string[] } | undefined,
  ) {
    this.#plan = plan;
    this.#password = password;
    this.#tls = tls;
    this.#interactive = interactive;
    this.#paint = paint;
    this.#log = log;
    this.#connection = new ConnectionStatus(
      () => this.#drawStatus(),
      paint.out,
      () => process.stdout.columns || 80,
    );
  }

  async run(): Promise<number> {
    const plan = this.#plan;
    if (this.#interactive) {
      this.#notice(`connecting to ${formatAddress(plan.hostname, plan.port)}…`);
    }
    let client: SwitchboardClient;
    try {
      client = await SwitchboardClient.connect({
        hostname: plan.hostname,
        port: plan.port,
        fallbacks: plan.fallbacks,
        connectTimeout: plan.connectTimeout,
        reconnectInterval: plan.reconnectInterval,
        reconnectTimeout: plan.reconnectTimeout,
        queueLimit: plan.queueLimit,
        staleTimeout: plan.staleTimeout,
        ...(this.#tls === undefined ? {} : { tls: this.#tls }),
        // A script cannot watch: it learns from ACK/NACK what got through.
        ack: !this.#interactive,
        // A person is not cut off for reading quietly, or for a long outage: the client waits.
        linger: this.#interactive,
      });
    } catch (error) {
      if (!(error instanceof ConnectError)) throw error;
      this.#problem(error.message);
      return CONNECT_EXIT[error.code];
    }
    this.#client = client;
    const desk = this.#desk = this.#transferDesk(client);
    this.#listen(client);
    this.#greeted(client);
    if (this.#interactive) {
      const groups = () => this.#client?.groups ?? [];
      this.#terminal = new TerminalScreen(this.#prompt(), chatEditor(this.#roster, groups), {
        retracts: (line) =>
          (client.state === "dormant" && line.trim() === "") ||
          (client.mode === "chat" && client.name !== undefined && isOwnMessage(line)),
        interruptHint: () => this.#notice("Ctrl+C again leaves (so do Ctrl+D and :quit)"),
      });
      this.#screen = this.#terminal;
    }
    const input: LineSource = plan.listen
      ? new ListenLines()
      : plan.send.length > 0
      ? new ListLines(plan.send)
      : this.#terminal ?? new StdinLines();
    if (client.mode === "chat") {
      const code = await this.#register(client, input);
      if (code !== undefined) return code;
      if (client.options.ack && !client.acknowledging) {
        this.#notice(
          "the server does not acknowledge messages (:ack on was refused): delivery is not confirmed",
          "warn",
        );
      }
    }
    this.#updatePrompt();
    if (!this.#interactive && !plan.listen) leaveOnInterrupt(client);
    const ended = client.closed.then(() => undefined);
    for (;;) {
      const line = await Promise.race([input.next(), ended]);
      if (line === undefined) break;
      if (line === null) {
        // Ctrl+D on a terminal leaves now; the end of a script first waits for every transfer
        // and every answer.
        if (!this.#interactive) await this.#finishScript(client, desk);
        else this.#cancelling(desk);
        await client.quit();
        break;
      }
      if ((await this.#handle(client, line)) === "quit") {
        if (!this.#interactive) await desk.idle();
        else this.#cancelling(desk);
        await client.quit();
        break;
      }
    }
    const end = await client.closed;
    // Transfers cut short by the end remove their partial files before the program exits.
    await settleWithin(desk.idle(), CLEANUP_MS);
    return this.#report(end);
  }

  close(): void {
    this.#desk?.close();
    this.#terminal?.close();
    this.#client?.close();
  }

  // --- transfers and acknowledgements -------------------------------------------------------

  #transferDesk(client: SwitchboardClient): TransferDesk {
    const files = new FileTransfers(client, { downloads: this.#plan.downloads });
    const options = {
      offers: this.#plan.offers,
      interactive: this.#interactive,
      canAsk: Deno.stdin.isTerminal() && this.#plan.send.length === 0 && !this.#plan.listen,
    };
    return new TransferDesk(client, files, options, {
      line: (text, ok) => {
        if (!ok) this.#failure ??= EXIT.failure;
        this.#showLine(this.#paint.out.paint(ok ? "green" : "red", text), text);
      },
      notice: (text) => this.#notice(text),
      json: this.#plan.json ? (record) => this.#emitJson(record) : undefined,
      failed: () => this.#failure ??= EXIT.failure,
      status: this.#interactive
        ? (lines) => {
          this.#transferLines = lines;
          this.#drawStatus();
        }
        : undefined,
      columns: () => process.stdout.columns || 80,
    });
  }

  /** End of a script: every transfer, then every answer; then anything never acknowledged. */
  async #finishScript(client: SwitchboardClient, desk: TransferDesk): Promise<void> {
    await desk.idle();
    await client.settle();
    const missing = client.unacknowledged;
    if (missing.length === 0) return;
    this.#localError(
      `${missing.length} message${missing.length === 1 ? " was" : "s were"} never acknowledged:`,
    );
    for (const line of missing) this.#problem(`  ${line}`);
  }

  #drawStatus(): void {
    this.#screen.setStatus([...this.#connection.lines, ...this.#transferLines]);
  }

  #cancelling(desk: TransferDesk): void {
    if (desk.active === 0) return;
    this.#notice(`leaving cancels ${desk.active} transfer${desk.active === 1 ? "" : "s"}`, "warn");
  }

  // --- getting a name -----------------------------------------------------------------------

  /** Registers a name; returns an exit code when the program should stop instead. */
  async #register(client: SwitchboardClient, input: LineSource): Promise<number | undefined> {
    const ask = this.#asker(input);
    let name = this.#plan.name;
    for (;;) {
      if (name === undefined) {
        if (ask !== undefined) {
          name = (await ask("Your name: "))?.trim();
        } else if (this.#plan.send.length === 0) {
          // From a pipe, the first non-empty line is the name, as with a raw connection.
          let line: string | null;
          do line = await input.next(); while (line !== null && line.trim() === "");
          name = line?.trim();
        } else {
          this.#problem("a chat server needs a name: pass --name NAME with --send");
          client.close();
          return EXIT.usage;
        }
        if (name === undefined) {
          client.close();
          // A person who closed the prompt (Ctrl+D) has simply left.
          if (ask !== undefined) return EXIT.ok;
          this.#problem("no name given: pass --name NAME, or make it the first input line");
          return EXIT.usage;
        }
        if (name === "") {
          name = undefined;
          continue;
        }
      }
      let result;
      try {
        result = this.#password === undefined
          ? await client.register(name)
          : await client.login(name, this.#password);
      } catch (error) {
        if (!(error instanceof ConnectError)) throw error;
        this.#problem(error.message);
        return CONNECT_EXIT[error.code];
      }
      if (result.ok) {
        this.#notice(result.welcome.text || `welcome, ${result.welcome.name}`);
        // Shown before what comes next, but a server that does not answer holds nobody up.
        if (this.#interactive) {
          await settleWithin(this.#showRecentLobby(client), RECENT_LOBBY_WAIT_MS);
        }
        return undefined;
      }
      if (result.code === "closed") {
        this.#problem(`the server closed the connection while registering (${result.text})`);
        return EXIT.disconnected;
      }
      if (this.#password !== undefined) {
        // A login is not asked again: the password came from the environment or was typed once.
        this.#problem(`login as "${name}" failed: ${result.text} (${result.code})`);
        await client.quit(1000);
        return EXIT.loginFailed;
      }
      const why = `the server refused the name "${name}": ${result.text} (${result.code})`;
      if (ask === undefined) {
        this.#problem(why);
        await client.quit(1000);
        return EXIT.nameRefused;
      }
      this.#notice(why, "warn");
      name = undefined;
    }
  }

  /**
   * How to ask a person for a name: the line editor in interactive mode; a prompt on stderr
   * when stdin is still a terminal (with `--json`, `--send` or a redirected stdout); nothing
   * when input comes from a pipe or a file.
   */
  #asker(input: LineSource): ((question: string) => Promise<string | null>) | undefined {
    const terminal = this.#terminal;
    if (terminal !== undefined) return (question) => terminal.ask(question);
    if (!Deno.stdin.isTerminal()) return undefined;
    const lines = this.#plan.send.length > 0 ? new StdinLines() : input;
    return (question) => {
      new PlainScreen().prompt(question);
      return lines.next();
    };
  }

  // --- typed lines --------------------------------------------------------------------------

  async #handle(client: SwitchboardClient, typed: string): Promise<"quit" | undefined> {
    const slash = fromSlash(typed, client.name);
    if (slash.kind === "hint") {
      // A person just reads the hint; a script learns from the exit code that a line was wrong.
      if (this.#interactive) this.#notice(slash.text, "warn");
      else this.#localError(slash.text);
      return undefined;
    }
    if (slash.message) return void await this.#send(client, slash.line);
    const line = slash.line;
    const trimmed = line.trim();
    // Enter on an empty line wakes a client that is waiting to reconnect.
    if (trimmed === "") return void client.wake();
    const lower = trimmed.toLowerCase();
    if (lower === "exit" || /^[:/]quit(\s|$)/.test(lower)) return "quit";
    if (trimmed.startsWith(":") && !trimmed.startsWith("::")) {
      const { verb, rest } = parseCommand(trimmed);
      switch (verb) {
        case "help":
          await this.#help(client);
          return undefined;
        case "status":
          this.#notice(this.#status(client));
          return undefined;
        case "wait":
          await this.#desk?.idle();
          await client.settle();
          return undefined;
        case "sleep": {
          const seconds = Number(rest.trim());
          if (rest.trim() === "" || !Number.isFinite(seconds) || seconds < 0) {
            this.#localError("usage: :sleep <seconds>");
          } else {
            await sleep(seconds * 1000);
          }
          return undefined;
        }
        case "put":
        case "get":
        case "send":
        case "accept":
          if (client.mode === "chat" && this.#desk !== undefined) {
            await this.#desk.command(verb, rest);
            return undefined;
          }
      }
    }
    await this.#send(client, line);
    return undefined;
  }

  async #send(client: SwitchboardClient, line: string): Promise<void> {
    const dormant = client.state === "dormant";
    let status = client.send(line);
    if (status === "queue-full" && !this.#interactive) {
      // A script is not a person typing: wait for the connection instead of dropping lines.
      if (await client.ready()) status = client.send(line);
    }
    switch (status) {
      case "sent":
        return;
      case "queued":
        // A line that woke the client goes out in a moment: the status line says how it goes.
        if (dormant) return;
        this.#notice(
          `not connected: "${line}" is queued (${client.queued} waiting) and goes out after reconnecting`,
          "warn",
        );
        return;
      case "queue-full":
        this.#localError(
          `not sent: "${line}" (${client.options.queueLimit} lines already wait for the connection)`,
        );
        return;
      case "too-long":
        this.#localError(`not sent: the line is longer than ${client.options.maxLineBytes} bytes`);
        return;
      case "closed":
        this.#localError(`not sent: "${line}" (the connection is closed)`);
        return;
    }
  }

  async #help(client: SwitchboardClient): Promise<void> {
    if (client.mode === "echo") {
      this.#notice("echo server: every line you send comes back");
    } else if (client.state === "ready") {
      await client.request(":help");
    } else {
      this.#notice("not connected: the server's commands are listed once reconnected");
    }
    this.#notice("client commands:");
    for (const line of [...LOCAL_HELP, ...SLASH_HELP]) this.#notice(`  ${line}`);
  }

  #status(client: SwitchboardClient): string {
    const server = `${client.address} (${client.mode} server ${client.hello.version})`;
    const groups = client.groups.length === 0
      ? "no groups"
      : client.groups.map((g) => `#${g}`).join(" ");
    const state = client.state === "ready"
      ? `connected to ${server}`
      : `${client.state}: ${server}`;
    const name = client.name === undefined ? "" : ` as ${client.name}, in ${groups}`;
    const transfers = this.#desk?.active ?? 0;
    return `${state}${name}; ${client.queued} lines queued; ${transfers} transfer${
      transfers === 1 ? "" : "s"
    } running`;
  }

  // --- what the client reports --------------------------------------------------------------

  #listen(client: SwitchboardClient): void {
    client.on("line", (received) => this.#onLine(received));
    client.on("disconnect", ({ bye, error, reconnecting, unanswered, unacknowledged }) => {
      for (const command of unanswered) {
        this.#notice(`no answer came for "${command}": it may not have been carried out`, "warn");
      }
      for (const message of unacknowledged) {
        this.#localError(`no acknowledgement came for "${message}": it may not have got through`);
      }
      if (reconnecting) {
        const why = bye === undefined
          ? (error ?? "the server closed the connection")
          : `${bye.reason}: ${bye.text}`;
        const o = client.options;
        if (this.#interactive) {
          this.#notice(`connection to ${client.address} lost (${why}); reconnecting`, "warn");
          this.#connection.reconnecting(why, o.reconnectTimeout);
        } else {this.#notice(
            `connection to ${client.address} lost (${why}); reconnecting every ${o.reconnectInterval} s ` +
              `for up to ${o.reconnectTimeout} s. Lines typed meanwhile are queued.`,
            "warn",
          );}
      }
      this.#updatePrompt();
    });
    let lastRetryNotice = 0;
    client.on("reconnecting", ({ attempt, delayMs, lastError }) => {
      if (this.#interactive) return this.#connection.attempt(attempt, delayMs, lastError);
      // With a short interval, say it once every few seconds rather than at every attempt.
      if (attempt === 1 || Date.now() - lastRetryNotice < RETRY_NOTICE_MS) return;
      lastRetryNotice = Date.now();
      this.#notice(
        `still disconnected (${lastError ?? "no answer"}); next try in ${formatSeconds(delayMs)}`,
        "warn",
      );
    });
    client.on("dormant", ({ why, bye, detail }) => {
      if (why === "idle") {
        this.#notice(
          `disconnected for inactivity (${bye?.text ?? "idle"}): type to reconnect and send, ` +
            "or just Enter",
          "warn",
        );
      } else {
        this.#connection.gaveUp(detail);
      }
      this.#updatePrompt();
    });
    client.on("sent", ({ line }) => {
      // With acknowledgements on, a message is shown once the server confirmed it (#onLine).
      if (!client.acknowledging) this.#showOwn(ownLobbyMessage(line, client.name));
    });
    client.on("end", () => this.#connection.clear());
    client.on("reconnect", ({ name, groups, lostGroups, resent }) => {
      this.#connection.clear();
      this.#greeted(client);
      const parts = [`reconnected to ${client.address}${name === undefined ? "" : ` as ${name}`}`];
      if (groups.length > 0) parts.push(`rejoined ${groups.map((g) => `#${g}`).join(" ")}`);
      if (resent > 0) parts.push(`sent ${resent} queued line${resent === 1 ? "" : "s"}`);
      this.#notice(parts.join("; "));
      for (const { group, text } of lostGroups) {
        this.#notice(`could not rejoin #${group}: ${text}`, "warn");
      }
      this.#updatePrompt();
    });
  }

  #greeted(client: SwitchboardClient): void {
    const hello = client.hello;
    if (this.#plan.json) {
      this.#emitJson(eventRecord(hello, new Date()));
    } else if (this.#interactive) {
      // A chat server's greeting asks for a name, which this program takes care of.
      const greeting = hello.mode === "echo" ? `: ${hello.text}` : "";
      this.#notice(
        `connected to ${client.address} (${hello.mode} server ${hello.version})${greeting}`,
      );
    }
  }

  #onLine(received: ReceivedLine): void {
    const now = new Date();
    const event = received.event;
    if (event.type === "error" && !received.registration) {
      this.#failure ??= event.code === "not-allowed" ? EXIT.notAllowed : EXIT.failure;
    }
    if (event.type === "nack") this.#failure ??= EXIT.failure;
    if (event.type === "ok" && event.verb === "run" && event.params[1] !== "0") {
      this.#failure ??= EXIT.failure;
    }
    const me = this.#client?.name;
    const offerName = (id: number) => this.#desk?.offerName(id);
    // A transfer's own lines (FILE, OK, ERR) are summed up by its summary line; the server's
    // help for the wire forms of :put, :get and :send would only mislead.
    const hidden = (received.command !== undefined && TRANSFER_COMMAND.test(received.command)) ||
      (event.type === "help" && WIRE_HELP.test(event.text));
    const plain = renderLine(received, { me, paint: this.#plain, offerName });
    if (plain !== undefined && !hidden) this.#log?.write(now, plain);
    if (this.#plan.json) {
      this.#emitJson(jsonRecord(received, now));
    } else if (!received.registration && !hidden) {
      const text = renderLine(received, { me, paint: this.#paint.out, offerName });
      if (text !== undefined) {
        this.#screen.show(`${this.#stamp(now)}${text}`);
      }
    }
    if (event.type === "nick") this.#updatePrompt();
    this.#noticed(received, me);
    if (event.type === "offer") this.#desk?.offered(event);
    if (event.type === "ack" && received.command !== undefined) {
      this.#showOwn(ownLobbyMessage(received.command, me));
    }
  }

  /**
   * Your own lobby message, shown and logged like everyone else's (the server does not echo it
   * back). Not a JSON record: `--json` reports what the server sent (the `ack`, with acks on).
   */
  #showOwn(own: ReceivedLine | undefined): void {
    if (own === undefined || this.#plan.json) return;
    const now = new Date();
    const ctx = { me: this.#client?.name, paint: this.#plain };
    const plain = renderLine(own, ctx);
    if (plain === undefined) return;
    this.#log?.write(now, plain);
    const text = renderLine(own, { ...ctx, paint: this.#paint.out }) ?? plain;
    this.#screen.show(`${this.#paint.out.paint("gray", clock(now))} ${text}`);
  }

  /** Sender colours and completion follow who is around; a mention or a PM rings the bell. */
  #noticed({ event, registration }: ReceivedLine, me: string | undefined): void {
    this.#roster.observe(event);
    if (event.type === "welcome" && this.#interactive) void this.#learnWhoIsOnline();
    const colours = this.#paint.out.colours;
    if (event.type === "leave" && event.target === "*") colours?.forget(event.name);
    if (event.type === "nick") colours?.rename(event.from, event.to);
    if (this.#plan.bell && this.#interactive && !registration && wantsAttention(event, me)) {
      ringBell();
    }
  }

  /**
   * The last lobby lines from the server's history, dimmed, above a separator: what was said just
   * before you came. Nothing when the server keeps no history (`ERR disabled`, or an older server).
   */
  async #showRecentLobby(client: SwitchboardClient): Promise<void> {
    const answer = await client.request(`:history * ${RECENT_LOBBY_LINES}`, { quiet: true });
    const lines = answer.data.filter((event) => event.type === "history");
    if (answer.final?.type !== "ok" || lines.length === 0) return;
    for (const event of lines) {
      const plain = renderLine({ event, command: undefined, registration: false }, {
        me: client.name,
        paint: this.#plain,
      });
      if (plain !== undefined) this.#screen.show(this.#paint.out.paint("gray", plain));
    }
    this.#screen.show(
      this.#paint.out.paint("gray", `──── ${lines.length} earlier lines above ────`),
    );
  }

  /** Asks the server, quietly, who is online: Tab completes their names from the start. */
  async #learnWhoIsOnline(): Promise<void> {
    const answer = await this.#client?.request(":list", { quiet: true });
    for (const event of answer?.data ?? []) this.#roster.observe(event);
  }

  /** A line of output of the client's own (a transfer summary), timestamped like the rest. */
  #showLine(styled: string, plain: string): void {
    const now = new Date();
    this.#log?.write(now, plain);
    this.#screen.show(`${this.#stamp(now)}${styled}`);
  }

  /** The time a shown line starts with (`HH:MM:SS `), or nothing with `--no-time`. */
  #stamp(now: Date): string {
    return this.#plan.time ? `${this.#paint.out.paint("gray", clock(now))} ` : "";
  }

  #emitJson(record: Record<string, unknown>): void {
    new PlainScreen().show(JSON.stringify(record));
  }

  /** A notice (client status): above the prompt on a terminal, on stderr otherwise. */
  #notice(text: string, level: "info" | "warn" = "info"): void {
    const now = new Date();
    this.#log?.write(now, `* ${text}`);
    if (this.#interactive) {
      const paint = this.#paint.out;
      const styled = level === "warn" ? paint.paint("yellow", text) : paint.paint("gray", text);
      this.#screen.show(`${this.#stamp(now)}${styled}`);
    } else {
      this.#screen.notice(`client: ${text}`);
    }
  }

  /** A client-side error about a typed line; counts as a failure for the exit code. */
  #localError(text: string): void {
    this.#failure ??= EXIT.failure;
    this.#problem(text);
  }

  /** A problem: red above the prompt on a terminal, `client: …` on stderr otherwise. */
  #problem(text: string): void {
    const now = new Date();
    this.#log?.write(now, `! ${text}`);
    if (this.#interactive && this.#terminal !== undefined) {
      const paint = this.#paint.out;
      this.#screen.show(`${this.#stamp(now)}${paint.paint("red", text)}`);
    } else {
      new PlainScreen().notice(this.#paint.err.paint("red", `client: ${text}`));
    }
  }

  #prompt(): string {
    const client = this.#client;
    if (client === undefined) return "> ";
    const paint = this.#paint.out;
    const who = client.mode === "echo"
      ? "echo"
      : client.name === undefined
      ? ""
      : paint.self(client.name);
    const offline = client.state === "reconnecting" || client.state === "dormant"
      ? paint.paint("yellow", "(offline) ")
      : "";
    return `${offline}${who}> `;
  }

  #updatePrompt(): void {
    this.#screen.setPrompt(this.#prompt());
  }

  /** Says how the session ended and picks the exit code. */
  #report(end: ClientEnd): number {
    if (end.unsent.length > 0) {
      this.#problem(
        `${end.unsent.length} line${end.unsent.length === 1 ? " was" : "s were"} never sent:`,
      );
      for (const line of end.unsent) this.#problem(`  ${line}`);
    }
    const bye = end.bye;
    switch (end.reason) {
      case "quit":
      case "closed":
        // A person who left as asked gets 0: the failure codes are for scripts.
        if (this.#interactive) return this.#notice("disconnected. Bye!"), EXIT.ok;
        return end.unsent.length > 0 ? EXIT.failure : this.#failure ?? EXIT.ok;
      case "kicked":
        this.#problem(
          `you were kicked from the server (${bye?.text ?? "no reason given"}); not reconnecting`,
        );
        return EXIT.kicked;
      case "disconnected":
        this.#problem(
          bye !== undefined && !end.detail.startsWith("gave up")
            ? `disconnected by the server: ${bye.reason} (${bye.text})`
            : `disconnected: ${end.detail}`,
        );
        return EXIT.disconnected;
      case "lost":
        this.#problem(`connection lost: ${end.detail}`);
        return EXIT.failure;
      case "access-denied":
        this.#problem(end.detail);
        return EXIT.accessDenied;
      case "name-refused":
        this.#problem(end.detail);
        return EXIT.nameRefused;
      case "login-failed":
        this.#problem(end.detail);
        return EXIT.loginFailed;
    }
  }
}

/** Ctrl+C on a script (the terminal's line editor handles it in interactive mode): leave politely. */
function leaveOnInterrupt(client: SwitchboardClient): void {
  const leave = () => void client.quit(1000);
  Deno.addSignalListener("SIGINT", leave);
  client.closed.then(() => Deno.removeSignalListener("SIGINT", leave));
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
