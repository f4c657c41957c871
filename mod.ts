/**
 * Switchboard: a multi-client TCP messaging toolkit for Deno. One server accepts many clients,
 * each connection is its own async task, and clients broadcast, send private messages, talk in
 * groups, or just echo. The wire protocol (`sb/1`) is plain UTF-8 lines, usable by hand with
 * `ncat`; it is specified in `docs/protocol.md`.
 *
 * This module is the public API: the same surface the `server`, `client` and `shutdown` programs
 * and the tests use. It is a table of contents of `core/`, one section per folder:
 * `server/`, `net/` (transports), `client/`, `protocol/`, `config/`, `log/`
 * (`docs/architecture.md` says what each holds).
 *
 * @example Embed a server
 * ```ts
 * import { startServer } from "./mod.ts";
 *
 * await using server = await startServer({ port: 0, logDir: "" });
 * const stop = server.on("message", (m) => console.log(`${m.from} → ${m.target}: ${m.text}`));
 * console.log(`listening on port ${server.addr.port}`);
 * stop();
 * await server.shutdown({ reason: "done" });
 * ```
 * @module
 */

// Running a server.
export { type Server, startServer } from "./core/server/server.ts";
export {
  type AccessOptions,
  type CommandArgs,
  DEFAULT_OPTIONS,
  type LogFormat,
  type LogMessages,
  type RemoteCommand,
  type ResolvedServerOptions,
  type ServerMode,
  type ServerOptions,
} from "./core/config/options.ts";
export type { ServerEventMap, ServerEventName } from "./core/server/events.ts";
export {
  NEW_CONNECTION_SETTINGS,
  type ReloadResult,
  RESTART_SETTINGS,
} from "./core/server/reload.ts";
export type { ServerStats } from "./core/server/stats.ts";

// Transports: the seam a connection runs on. TCP, TLS, and WebSocket (the web chat's listener).
// `bindListener` is the earlier name of `listenTcp`.
export { dialTcp, listenTcp, listenTcp as bindListener } from "./core/net/tcp.ts";
export {
  classifyTlsError,
  dialTls,
  listenTls,
  type TlsDialOptions,
  type TlsListenOptions,
  type TlsProblem,
} from "./core/net/tls.ts";
export { listenWeb, type WebListener, type WebListenOptions } from "./core/web/listener.ts";
export { WebSocketClosed, WebSocketStream } from "./core/net/websocket.ts";
export {
  type ByteStream,
  HandshakeFailed,
  HandshakeRefused,
  ListenerClosed,
  PeerGoneBeforeAccept,
  type StreamAddress,
  type StreamListener,
  writeAll,
} from "./core/net/stream.ts";

// Connecting as a client: registration, commands with their answers, PING handled,
// reconnection with the same name and groups.
export { type RegisterResult, type SendStatus, SwitchboardClient } from "./core/client/client.ts";
export type { ClientOptions, ResolvedClientOptions, ServerAddress } from "./core/client/options.ts";
export type {
  ClientEnd,
  ClientEventMap,
  ClientLineEvent,
  ClientState,
  EchoEvent,
  EndReason,
  ReceivedLine,
} from "./core/client/events.ts";
export type { Answer } from "./core/client/answer.ts";
export { ConnectError, type ConnectErrorCode } from "./core/client/errors.ts";
export type { Dialer } from "./core/client/link.ts";
export type {
  PayloadReceiver,
  PayloadSink,
  TransferHooks,
  UploadAnswer,
} from "./core/client/payload.ts";
export type { PayloadSource } from "./core/protocol/payload.ts";
// Files from the client's side: :put, :get, :send, :accept with local files, verified and
// never overwriting; acknowledgement bookkeeping for :ack on.
export {
  downloadNameProblem,
  type FileTransferOptions,
  FileTransfers,
  type TransferCallbacks,
  type TransferError,
  type TransferKind,
  type TransferProgress,
  type TransferResult,
} from "./core/client/files.ts";
export { AckTracker, isPlainMessage, type NumberedLine } from "./core/client/acks.ts";
export {
  type Backoff,
  exponentialBackoff,
  type ExponentialBackoffOptions,
  fixedBackoff,
  type JitterOptions,
} from "./core/client/backoff.ts";
export {
  type AckEvent,
  type ByeEvent,
  type ChatEvent,
  type CommandEvent,
  type ErrEvent,
  type EventBase,
  type FileEvent,
  type FileInfoEvent,
  type GroupEvent,
  type HelloEvent,
  type HelpEvent,
  type HistoryEvent,
  type JoinEvent,
  type KickEvent,
  type LeaveEvent,
  type MemberEvent,
  type NackEvent,
  type NickEvent,
  type OfferEvent,
  type OkEvent,
  type OutputEvent,
  parseServerLine,
  type PingEvent,
  type PrivateEvent,
  type RawServerLine,
  type ReceiptEvent,
  type ServerEvent,
  type ServerEventType,
  type SessionEvent,
  splitServerLine,
  type StatEvent,
  type UnknownEvent,
  type UserEvent,
  type WelcomeEvent,
  type WhoamiEvent,
} from "./core/protocol/server_line.ts";

// Configuration the way the `server` program reads it.
export { ConfigError, loadServerConfig, type ServerConfig } from "./core/config/config_file.ts";
export { CidrList } from "./core/util/cidr.ts";

// Logging (LogTape sinks for server.log / errors.log and the console).
export { configureLogging, LOG_CATEGORIES, type LoggingOptions } from "./core/log/configure.ts";

// Admin token files, as the `server` writes them and `shutdown` reads them.
export {
  defaultTokenFile,
  generateToken,
  readTokenFile,
  type TokenFile,
  writeTokenFile,
} from "./core/config/admin_token.ts";

// The wire protocol.
export {
  DISCONNECT_REASONS,
  type DisconnectReason,
  type ErrorCode,
  SwitchboardError,
} from "./core/protocol/errors.ts";
export {
  formatAddress,
  MAX_NAME_LENGTH,
  nameProblem,
  PROTOCOL_VERSION,
} from "./core/protocol/grammar.ts";
export { nameSkeleton } from "./core/protocol/name_skeleton.ts";
export { LineParser, TOO_LONG } from "./core/protocol/line_parser.ts";
export { LineReader, type Readable } from "./core/protocol/line_reader.ts";

export { VERSION, versionText } from "./core/protocol/version.ts";
