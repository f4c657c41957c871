/**
 * How a cluster node proves itself to its NATS bus and secures the link (docs/cluster.md,
 * "Credentials and TLS"): user and password, a token, a `.creds` file (JWT and nkey seed), an
 * nkey seed file, and TLS (a CA to trust, a client certificate for mutual TLS; `tls://` URLs
 * require TLS). The settings carry NATS' own names; this file turns them into the options of the
 * NATS client's `connect`, checks the files before the server starts, and words a refusal.
 *
 * The NATS client is imported only when a creds or nkey file is used, as the node imports it
 * only when a cluster is joined.
 * @module
 */

import { fsReason } from "../config/path_checks.ts";
import type { NodeConnectionOptions } from "@nats-io/transport-node";

/** The credentials and TLS files of a cluster node; every field is optional (`""`: not set). */
export interface ClusterAuth {
  /** NATS user (`--cluster-user`); needs {@linkcode ClusterAuth.password}. */
  readonly user?: string;
  /** Password of {@linkcode ClusterAuth.user} (environment or config file only). */
  readonly password?: string;
  /** NATS authentication token (environment or config file only). */
  readonly token?: string;
  /** A NATS `.creds` file: a user JWT and its nkey seed (`--cluster-creds`). */
  readonly creds?: string;
  /** A file holding an nkey user seed, `SU…` (`--cluster-nkey`). */
  readonly nkey?: string;
  /** PEM CA certificate(s) the bus' certificate must chain to (`--cluster-tls-ca`). */
  readonly tlsCa?: string;
  /** PEM client certificate for mutual TLS (`--cluster-tls-cert`), with its key. */
  readonly tlsCert?: string;
  /** PEM private key of {@linkcode ClusterAuth.tlsCert} (`--cluster-tls-key`). */
  readonly tlsKey?: string;
}

/** The NATS client's connection options for `auth`: credentials, and TLS when asked for. */
export type NatsAuthOptions = Pick<
  NodeConnectionOptions,
  "user" | "pass" | "token" | "authenticator" | "tls"
>;

/**
 * The `connect` options for `auth` on the bus at `urls`: TLS is required when a URL is
 * `tls://` or any TLS file is set. Files are read here (the start checked them already, see
 * {@linkcode clusterFileProblem}).
 *
 * @example
 * ```ts
 * import { natsAuthOptions } from "./nats_auth.ts";
 * const options = await natsAuthOptions(["tls://127.0.0.1:4222"], { user: "sb", password: "pw" });
 * console.assert(options.user === "sb" && options.pass === "pw" && options.tls !== undefined);
 * ```
 */
export async function natsAuthOptions(
  urls: readonly string[],
  auth: ClusterAuth,
): Promise<NatsAuthOptions> {
  const options: NatsAuthOptions = {};
  if (auth.user) {
    options.user = auth.user;
    options.pass = auth.password ?? "";
  }
  if (auth.token) options.token = auth.token;
  if (auth.creds || auth.nkey) {
    const { credsAuthenticator, nkeyAuthenticator } = await import("@nats-io/transport-node");
    if (auth.creds) options.authenticator = credsAuthenticator(await Deno.readFile(auth.creds));
    else options.authenticator = nkeyAuthenticator(await readSeed(auth.nkey!));
  }
  const tlsUrl = urls.some((url) => url.startsWith("tls://"));
  if (tlsUrl || auth.tlsCa || auth.tlsCert) {
    options.tls = {
      ...(auth.tlsCa ? { caFile: auth.tlsCa } : {}),
      ...(auth.tlsCert ? { certFile: auth.tlsCert } : {}),
      ...(auth.tlsKey ? { keyFile: auth.tlsKey } : {}),
    };
  }
  return options;
}

/** The seed in an nkey file: its first word starting with `S` (NATS tools add comments). */
async function readSeed(path: string): Promise<Uint8Array> {
  const seed = seedIn(await Deno.readTextFile(path));
  return new TextEncoder().encode(seed ?? "");
}

function seedIn(text: string): string | undefined {
  return /(?:^|\s)(S[A-Z2-7]{57})(?:\s|$)/.exec(text)?.[1];
}

/** What each file setting must hold, and how to tell. */
const FILE_KINDS = {
  creds: "a NATS .creds file (a user JWT and an nkey seed)",
  nkey: "an nkey seed (SU…)",
  pem: "PEM (-----BEGIN …)",
} as const;

/**
 * Why the file `path` of setting `kind` cannot be used, or `undefined`: it cannot be read, or
 * does not hold what the setting needs. Checked at start (and on reload) so that a bad file stops
 * the server with one line rather than a failed handshake later.
 *
 * @example
 * ```ts
 * import { clusterFileProblem } from "./nats_auth.ts";
 * console.assert((await clusterFileProblem("pem", "/no/such/file")) === "cannot read it (no such file)");
 * ```
 */
export async function clusterFileProblem(
  kind: keyof typeof FILE_KINDS,
  path: string,
): Promise<string | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    return `cannot read it (${fsReason(error)})`;
  }
  const fits = kind === "pem"
    ? text.includes("-----BEGIN ")
    : kind === "nkey"
    ? seedIn(text) !== undefined
    : /-----BEGIN NATS USER JWT-----/.test(text) && /-----BEGIN USER NKEY SEED-----/.test(text);
  return fits ? undefined : `expected ${FILE_KINDS[kind]}`;
}

/**
 * The reason a join failed, as one clause for `cannot join the cluster: …`: a bus that refuses
 * the credentials says so plainly (`authorization violation`), a TLS failure names TLS (with the
 * alert the bus sent, `stray`, if one was seen). A bus that wants a client certificate and gets
 * none may only send an alert, so the client sees its connect time out: with TLS on and no
 * client certificate set, the timeout says so.
 */
export function joinFailure(
  error: unknown,
  urls: readonly string[],
  auth: ClusterAuth,
  stray?: string,
): string {
  const message = error instanceof Error ? error.message : String(error);
  const bus = urls.join(",");
  if (/authorization violation|authentication/i.test(message)) {
    return `${bus} refused this node's credentials (authorization violation)`;
  }
  const tls = urls.some((url) => url.startsWith("tls://")) || !!auth.tlsCa || !!auth.tlsCert;
  if (stray !== undefined && /alert/.test(stray)) {
    return `TLS with ${bus} failed (${message}; the bus sent "${stray}")`;
  }
  if (/certificate|tls|ssl|handshake/i.test(message)) return `TLS with ${bus} failed (${message})`;
  if (tls && !auth.tlsCert && /timeout/i.test(message)) {
    return `TLS with ${bus} failed (${message}: a bus that verifies clients wants --cluster-tls-cert)`;
  }
  return message;
}

/** The settings of a server's options that say how to reach the bus, as a {@linkcode ClusterAuth}. */
export function clusterAuth(options: {
  readonly clusterUser: string;
  readonly clusterPassword: string;
  readonly clusterToken: string;
  readonly clusterCreds: string;
  readonly clusterNkey: string;
  readonly clusterTlsCa: string;
  readonly clusterTlsCert: string;
  readonly clusterTlsKey: string;
}): ClusterAuth {
  return {
    user: options.clusterUser,
    password: options.clusterPassword,
    token: options.clusterToken,
    creds: options.clusterCreds,
    nkey: options.clusterNkey,
    tlsCa: options.clusterTlsCa,
    tlsCert: options.clusterTlsCert,
    tlsKey: options.clusterTlsKey,
  };
}
