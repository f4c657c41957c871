/**
 * Server options: every knob of the server, its documented default, and the resolved form the
 * server runs with. Config files, environment variables and flags all end up here.
 * @module
 */

/** How the server treats lines: relay between named clients, or return them to the sender. */
export type ServerMode = "chat" | "echo";

/** Format of the log files. */
export type LogFormat = "text" | "json";

/**
 * What `server.log` records of each message: `"full"` its line with the text, `"meta"` the line
 * without the text (sender, peer, target, recipients, size), `"off"` no message lines at all.
 */
export type LogMessages = "full" | "meta" | "off";

/** CIDR lists deciding which peers may connect. Deny wins; a non-empty allow list admits only its members. */
export interface AccessOptions {
  /** Networks allowed to connect, e.g. `["127.0.0.0/8", "::1/128"]`. @default {[]} (everyone) */
  allow?: string[];
  /** Networks refused at accept. @default {[]} */
  deny?: string[];
}

/**
 * Where a client's words go on a {@linkcode RemoteCommand}'s command line.
 *
 * - `"after-dashes"`: after a `--` appended to `argv` (only when there are words), so the program
 *   takes every word as an operand, never as an option.
 * - `{ pattern }`: right after `argv`, without `--`, but each word must match the regular
 *   expression (JavaScript syntax, `u` flag) in full — anchors are implied. The pattern decides
 *   alone: one that lets a word start with `-` lets options through.
 */
export type CommandArgs = "after-dashes" | { pattern: string };

/**
 * A command that clients may run with `:run <name> [args…]` (config file only). Only `argv` runs,
 * without a shell; the client's words are added as separate arguments, never interpreted, where
 * `args` says.
 */
export interface RemoteCommand {
  /** Program and its fixed arguments, e.g. `["/usr/bin/uptime"]`. */
  argv: string[];
  /** Seconds before the program is killed and the client gets `ERR timeout`. @default {10} */
  timeout?: number;
  /** Only admins may run it. @default {false} */
  admin?: boolean;
  /** How many words a client may append to `argv`; 0 refuses any. @default {16} */
  maxArgs?: number;
  /** Where the client's words go, and which are allowed. @default {"after-dashes"} */
  args?: CommandArgs;
}

/** Options accepted by {@linkcode startServer}. Durations are in seconds. */
export interface ServerOptions {
  /** Address to bind. @default {"127.0.0.1"} */
  host?: string;
  /** Port to bind; 0 picks a free one. @default {12345} */
  port?: number;
  /**
   * PEM certificate chain file: with {@linkcode ServerOptions.tlsKey}, the server also listens
   * for TLS on {@linkcode ServerOptions.tlsPort} (same protocol inside TLS). @default {undefined}
   */
  tlsCert?: string;
  /** PEM private key file of {@linkcode ServerOptions.tlsCert}. @default {undefined} */
  tlsKey?: string;
  /** Port for TLS (when a certificate is set); 0 picks a free one. @default {12346} */
  tlsPort?: number;
  /** Listen for TLS only: the plain port is not opened. @default {false} */
  tlsOnly?: boolean;
  /**
   * `host:port` of the web chat (`core/web/`): the page on `GET /`, WebSockets on `GET /ws`;
   * port 0 picks a free one; `""` is off. @default {""}
   */
  web?: string;
  /** Serve the web chat over HTTPS/WSS with `tlsCert` and `tlsKey`. @default {false} */
  webTls?: boolean;
  /** Origins allowed to open a web chat WebSocket besides the page's own; `*` allows any. @default {[]} */
  webOrigins?: string[];
  /** Networks of reverse proxies whose `X-Forwarded-For` names the web client. @default {[]} */
  webProxies?: string[];
  /** Chat relay or echo. @default {"chat"} */
  mode?: ServerMode;
  /**
   * `host:port` of the HTTP monitoring listener (`/healthz`, `/varz`, `/connz`, `/metrics`, the
   * dashboard; see `core/monitor/`), e.g. `"127.0.0.1:8222"`; port 0 picks a free one; `""` is
   * off. @default {""}
   */
  http?: string;
  /** Serve the monitoring listener over HTTPS with `tlsCert` and `tlsKey`. @default {false} */
  httpTls?: boolean;
  /** Connections open at once; one more gets `ERR server-full`. @default {100} */
  maxClients?: number;
  /** Connections per IP address; 0 means no cap beyond `maxClients`. @default {0} */
  maxPerIp?: number;
  /** Seconds without a message or command of the client's own before `BYE idle`. @default {120} */
  idleTimeout?: number;
  /** Seconds with nothing received before the server sends `PING`. @default {30} */
  pingInterval?: number;
  /** Seconds to answer a `PING` before `BYE stale`. @default {12} */
  pingTimeout?: number;
  /** Seconds to send a name before `BYE idle`. @default {10} */
  registerTimeout?: number;
  /** Longest accepted line in bytes, without its newline. @default {65536} */
  maxLineBytes?: number;
  /** Bytes queued for one client before it is cut as a slow consumer. @default {1048576} */
  maxQueueBytes?: number;
  /** Seconds a client may stay backed up (no progress, or above the high-water mark) before it is cut. @default {5} */
  writeDeadline?: number;
  /**
   * Seconds a client whose queue holds other senders back may go without reading anything
   * before it is cut as a slow consumer (a reader making progress is left to `writeDeadline`).
   * @default {1}
   */
  stallTimeout?: number;
  /** Lines per second per connection after a burst of twice as many; 0 is off. @default {0} */
  rateLimit?: number;
  /** Online count up to which lobby announcements go to everyone. @default {100} */
  announceLimit?: number;
  /**
   * Names no client may take, nor any look-alike of them (same `nameSkeleton`): a try gets
   * `ERR name-reserved`. `[]` turns this off, except for the console's name `server`, which is
   * always reserved. @default {["admin", "root", "operator", "server", "system"]}
   */
  reservedNames?: readonly string[];
  /** Peer access lists. */
  access?: AccessOptions;
  /** Networks whose clients are admins without `:auth`. @default {[]} */
  admins?: string[];
  /** Admin token; when absent one is generated and written to `tokenFile`. */
  adminToken?: string;
  /**
   * Take secrets (`:auth` tokens, later passwords) over plain TCP from any address. Without it a
   * secret sent unencrypted from a non-loopback address is refused with `ERR tls-required` and
   * never checked; loopback peers and TLS connections are always allowed. @default {false}
   */
  allowPlainAuth?: boolean;
  /**
   * Accounts file for `:login` (JSON, see `core/config/accounts_file.ts`); read at start and on
   * reload. Account names are reserved: only `:login` takes them. @default {undefined}
   */
  accounts?: string;
  /** Only account holders may take a name: a name line or `:name` gets `ERR login-required`. @default {false} */
  requireLogin?: boolean;
  /** Where a generated admin token is written (mode 0600, removed at exit). @default {".switchboard/admin-<port>.token"} */
  tokenFile?: string;
  /** Folder of `server.log` and `errors.log`; empty string disables file logs. @default {"logs"} */
  logDir?: string;
  /** Log file format. @default {"text"} */
  logFormat?: LogFormat;
  /**
   * One line per message in `server.log` with its text (`"full"`), without it (`"meta"`, for
   * operators who must not keep what users write), or none (`"off"`; connections, commands and
   * everything else are still logged). @default {"full"}
   */
  logMessages?: LogMessages;
  /**
   * Seconds over which repeated warnings a client can trigger at will (failed `:auth`, refusals,
   * bad lines …) are counted per kind and address: the first 5 are logged, the rest summarised in
   * one line when the window ends. Library only (no flag): tests shorten it. @default {60}
   */
  logRepeatWindow?: number;
  /**
   * Failed `:auth` attempts from one address (IPv6: one /64) within a minute that lock it out;
   * 0 turns the lockout off. Library only (no flag): tests of the log throttle turn it off.
   * See `core/server/attempts.ts` for the policy. @default {5}
   */
  authMaxFailures?: number;
  /**
   * Seconds of the first lockout; each further one doubles it, up to 15 minutes. Library only
   * (no flag): tests shorten it. @default {60}
   */
  authLockout?: number;
  /** Read operator commands from stdin: true, false, or undefined for "when stdin is a TTY". */
  console?: boolean;
  /** Seconds the shutdown waits for queued bytes to reach clients. @default {5} */
  shutdownGrace?: number;
  /** Folder of the shared file area (`:put`, `:get`, `:files`, `:rm`); `""` turns it off. @default {""} */
  filesDir?: string;
  /**
   * Largest file accepted by `:put` and `:send`, in bytes (a file of exactly this size is
   * accepted); 0 is no limit. Checked on the command line, before any byte is read.
   * @default {1073741824} (1 GiB)
   */
  fileQuota?: number;
  /** Bytes the shared area may hold in total; 0 is no limit. @default {0} */
  areaQuota?: number;
  /** Folder where `:send` uploads wait for `:accept`; `""` is a fresh temporary folder. @default {""} */
  spoolDir?: string;
  /**
   * Bytes of `:send` uploads waiting in the spool at once, uploads in progress included; 0 is no
   * limit. @default {4294967296} (4 GiB)
   */
  spoolQuota?: number;
  /**
   * Bytes one sender (by name) may have waiting in the spool at once: uploads in progress and
   * offers not yet accepted, declined, expired or left by every recipient; 0 is no limit.
   * @default {1073741824} (1 GiB)
   */
  spoolSenderQuota?: number;
  /** Seconds an offer from `:send` waits for `:accept` before it expires. @default {300} */
  offerTimeout?: number;
  /**
   * Seconds the session of a connection with `:ids on` that broke (no `:quit`) is held for a
   * `:resume`: its name and groups stay, and what it missed is replayed; 0 holds none.
   * @default {120}
   */
  resumeGrace?: number;
  /** Bytes addressed to a held session before it ends as if the grace ran out. @default {1048576} */
  resumeMaxBytes?: number;
  /**
   * SQLite file of the message history (lobby and group messages, `:history`) and of offline
   * private messages; `""` turns both off. The library's default is off, so that embedding a
   * server (tests included) never writes a file unasked; the `server` program's default is
   * `data/history.db` (see `config_file.ts`). @default {""}
   */
  history?: string;
  /** Messages the history keeps at most, the oldest deleted first; 0 = no limit. @default {1000000} */
  historyMaxMessages?: number;
  /** Days the history keeps a message (and an offline private message); 0 = no limit. @default {30} */
  historyDays?: number;
  /** Offline private messages kept per recipient. @default {1000} */
  offlineMax?: number;
  /**
   * Seconds between the history's background retention passes. Library only (no flag): tests
   * shorten it. @default {10}
   */
  historyRetentionInterval?: number;
  /** The clock the history's retention compares message times with (ms). Library only: tests. */
  historyNow?: () => number;
  /**
   * NATS servers of the cluster this server joins (`nats://host:port`, several for failover);
   * empty: a single server, no cluster. See docs/cluster.md. @default {[]}
   */
  cluster?: readonly string[];
  /** The cluster's name: the prefix of its NATS subjects and key-value buckets. @default {"switchboard"} */
  clusterName?: string;
  /** NATS user of the cluster's bus; needs {@linkcode ServerOptions.clusterPassword}. @default {""} */
  clusterUser?: string;
  /** Password of {@linkcode ServerOptions.clusterUser} (environment or config file only). @default {""} */
  clusterPassword?: string;
  /** NATS authentication token of the bus (environment or config file only). @default {""} */
  clusterToken?: string;
  /** NATS `.creds` file (user JWT and nkey seed) for the bus. @default {""} */
  clusterCreds?: string;
  /** File holding an nkey user seed (`SU…`) for the bus. @default {""} */
  clusterNkey?: string;
  /** PEM CA certificate(s) the bus' TLS certificate must chain to. @default {""} */
  clusterTlsCa?: string;
  /** PEM client certificate for mutual TLS with the bus (with `clusterTlsKey`). @default {""} */
  clusterTlsCert?: string;
  /** PEM private key of `clusterTlsCert`. @default {""} */
  clusterTlsKey?: string;
  /**
   * Bytes of messages for other nodes a cluster node holds while its bus is away (more are
   * dropped, `NACK … cluster-unavailable`). Library only (no flag): tests shrink it.
   * @default {8388608}
   */
  clusterOutboxBytes?: number;
  /** Users per roster message between cluster nodes. Library only (no flag): tests shrink it. @default {2000} */
  clusterRosterChunk?: number;
  /** Acknowledge every plain message with `ACK <seq>` / `NACK <seq> …` from the start. @default {false} */
  ack?: boolean;
  /** Programs started by `:run` running at once, server-wide; one more gets `ERR busy`; 0 = no limit. @default {2 × CPU cores} */
  maxRunning?: number;
  /** Commands clients may run with `:run` (config file only), by name. @default {{}} */
  commands?: Record<string, RemoteCommand>;
  /** Cancels the server: aborting it starts a graceful shutdown. */
  signal?: AbortSignal;
  /**
   * Where `Server.reload` (SIGHUP, `:reload`) gets the new configuration: a function returning
   * the options the server would start with now (the `server` program re-reads its config file
   * and environment, with its command-line flags still winning). It throws, with a message for
   * a person, when the new configuration is invalid; nothing is applied then. Without it a reload
   * is refused. @default {undefined}
   */
  reloadOptions?: () => Promise<ServerOptions>;
}

/** The options a running server uses: every default filled in. */
export interface ResolvedServerOptions extends
  Required<
    Omit<
      ServerOptions,
      | "access"
      | "adminToken"
      | "tokenFile"
      | "console"
      | "signal"
      | "reloadOptions"
      | "commands"
      | "tlsCert"
      | "tlsKey"
      | "accounts"
      | "historyNow"
    >
  > {
  /** See {@linkcode ServerOptions.historyNow}. */
  historyNow: (() => number) | undefined;
  /** See {@linkcode ServerOptions.accounts}. */
  accounts: string | undefined;
  /** See {@linkcode ServerOptions.tlsCert}. */
  tlsCert: string | undefined;
  /** See {@linkcode ServerOptions.tlsKey}. */
  tlsKey: string | undefined;
  /** Access lists, both present. */
  access: Required<AccessOptions>;
  /** `:run` commands with every default filled in. */
  commands: Record<string, Required<RemoteCommand>>;
  /** The admin token, if one was given. */
  adminToken: string | undefined;
  /** Where a generated token goes, if set. */
  tokenFile: string | undefined;
  /** Console on, off, or undefined for "when stdin is a TTY". */
  console: boolean | undefined;
  /** The cancelling signal, if any. */
  signal: AbortSignal | undefined;
  /** See {@linkcode ServerOptions.reloadOptions}. */
  reloadOptions: (() => Promise<ServerOptions>) | undefined;
}

/** The names reserved when `reservedNames` is not set: those a user might take for staff. */
export const DEFAULT_RESERVED_NAMES: readonly string[] = Object.freeze([
  "admin",
  "root",
  "operator",
  "server",
  "system",
]);

/** Default value of every option, as documented on {@linkcode ServerOptions}. */
export const DEFAULT_OPTIONS: Readonly<
  Omit<
    ResolvedServerOptions,
    "access" | "admins" | "signal" | "reloadOptions" | "commands" | "webOrigins" | "webProxies"
  >
> = Object.freeze({
  host: "127.0.0.1",
  port: 12345,
  tlsCert: undefined,
  tlsKey: undefined,
  tlsPort: 12346,
  tlsOnly: false,
  web: "",
  webTls: false,
  allowPlainAuth: false,
  accounts: undefined,
  requireLogin: false,
  mode: "chat",
  http: "",
  httpTls: false,
  maxClients: 100,
  maxPerIp: 0,
  idleTimeout: 120,
  pingInterval: 30,
  pingTimeout: 12,
  registerTimeout: 10,
  maxLineBytes: 65536,
  maxQueueBytes: 1024 * 1024,
  writeDeadline: 5,
  stallTimeout: 1,
  rateLimit: 0,
  announceLimit: 100,
  reservedNames: DEFAULT_RESERVED_NAMES,
  adminToken: undefined,
  tokenFile: undefined,
  logDir: "logs",
  logFormat: "text",
  logMessages: "full",
  logRepeatWindow: 60,
  authMaxFailures: 5,
  authLockout: 60,
  console: undefined,
  shutdownGrace: 5,
  filesDir: "",
  fileQuota: 1024 ** 3,
  areaQuota: 0,
  spoolDir: "",
  spoolQuota: 4 * 1024 ** 3,
  spoolSenderQuota: 1024 ** 3,
  offerTimeout: 300,
  history: "",
  historyMaxMessages: 1_000_000,
  historyDays: 30,
  offlineMax: 1000,
  historyRetentionInterval: 10,
  historyNow: undefined,
  ack: false,
  cluster: [],
  clusterName: "switchboard",
  clusterUser: "",
  clusterPassword: "",
  clusterToken: "",
  clusterCreds: "",
  clusterNkey: "",
  clusterTlsCa: "",
  clusterTlsCert: "",
  clusterTlsKey: "",
  clusterOutboxBytes: 8 * 1024 * 1024,
  clusterRosterChunk: 2000,
  resumeGrace: 120,
  resumeMaxBytes: 1024 * 1024,
  maxRunning: defaultMaxRunning(),
});

/** Defaults of a {@linkcode RemoteCommand}'s optional fields. */
export const DEFAULT_REMOTE_COMMAND: Readonly<Omit<Required<RemoteCommand>, "argv">> = Object
  .freeze({ timeout: 10, admin: false, maxArgs: 16, args: "after-dashes" });

/** Fills in defaults. Validation of user input lives in `config.ts`; this trusts its caller. */
export function resolveOptions(options: ServerOptions = {}): ResolvedServerOptions {
  const defined = Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as ServerOptions;
  return {
    ...DEFAULT_OPTIONS,
    ...defined,
    access: { allow: options.access?.allow ?? [], deny: options.access?.deny ?? [] },
    admins: options.admins ?? [],
    webOrigins: options.webOrigins ?? [],
    webProxies: options.webProxies ?? [],
    commands: Object.fromEntries(
      Object.entries(options.commands ?? {}).map((
        [name, command],
      ) => [name, { ...DEFAULT_REMOTE_COMMAND, ...command, argv: [...command.argv] }]),
    ),
    adminToken: options.adminToken,
    tokenFile: options.tokenFile,
    tlsCert: options.tlsCert,
    tlsKey: options.tlsKey,
    accounts: options.accounts,
    console: options.console,
    signal: options.signal,
    reloadOptions: options.reloadOptions,
    historyNow: options.historyNow,
  } as ResolvedServerOptions;
}

/** The default `--max-running`: two programs per CPU core. */
function defaultMaxRunning(): number {
  const cores = globalThis.navigator?.hardwareConcurrency;
  return 2 * (typeof cores === "number" && cores > 0 ? cores : 1);
}
