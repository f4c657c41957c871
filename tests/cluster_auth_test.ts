/**
 * The cluster's credentials and TLS (docs/cluster.md, "Credentials and TLS") against a real
 * `nats-server` with JetStream that requires them: user and password, a token, an nkey, a
 * `.creds` file (operator mode, JWTs signed here), and mutual TLS with a CA made by openssl. Each case has two Switchboard nodes (one in this process,
 * one a `server` subprocess where the flags and variables themselves are under test) chatting
 * across the bus, and a node with wrong credentials that stops at start with one sentence.
 * Skipped when `nats-server` is missing, except in CI (CI=true), where that is a failure.
 */

import assert from "node:assert/strict";
import { connect, startTestServer } from "./_helpers.ts";
import { hasNatsServer, NatsCluster, type NatsClusterOptions } from "./_nats.ts";
import { runProgram, ServerProcess } from "./_programs.ts";
import { haveOpenssl, makeCerts } from "./_certs.ts";
import { loadServerConfig } from "../core/config/config_file.ts";
import { resolveOptions, type ServerOptions } from "../core/config/options.ts";
import { planReload } from "../core/server/reload.ts";

const HAVE_NATS = await hasNatsServer();
if (!HAVE_NATS && Deno.env.get("CI") === "true") {
  throw new Error("nats-server is missing: CI installs it (.ci/run)");
}
const options = { ignore: !HAVE_NATS, sanitizeOps: false, sanitizeResources: false };
const tlsOptions = { ...options, ignore: !HAVE_NATS || !haveOpenssl };

let clusters = 0;
const clusterName = () => `auth${Date.now() % 100000}x${++clusters}`;

/** Arguments of a `server` subprocess on the bus at `urls`, without history or log files. */
function serverArgs(urls: string, name: string, more: string[] = []): string[] {
  const base = ["--port", "0", "--host", "127.0.0.1", "--log-dir", "", "--cluster", urls];
  return [...base, "--cluster-name", name, ...more];
}

/**
 * One node in this process with `auth` and one `server` subprocess with `args` and `env` on the
 * bus at `nats`: a lobby line of the subprocess' user reaches the in-process node's user.
 */
async function chatAcross(
  nats: NatsCluster,
  auth: ServerOptions,
  args: string[],
  env: Record<string, string>,
): Promise<void> {
  const name = clusterName();
  const n1 = await startTestServer({ cluster: nats.urls.split(","), clusterName: name, ...auth });
  try {
    await using n2 = await ServerProcess.start(serverArgs(nats.urls, name, args), { env });
    try {
      await using alice = await connect(n1, "alice");
      await using bob = await connect(n2.port, "bob", "127.0.0.1");
      await alice.waitFor("JOIN bob");
      await bob.send("hello over the bus");
      assert.equal(await alice.waitFor("MSG "), "MSG bob * :hello over the bus");
    } finally {
      n2.kill("SIGTERM");
      await n2.child.status;
    }
  } finally {
    await n1.shutdown({ grace: 0.2 });
  }
}

/**
 * A `server` subprocess that must not start: exit 1, one `server:` line naming why, no stack
 * trace, never `listening`.
 */
async function refused(
  urls: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<string> {
  const result = await runProgram("server", serverArgs(urls, clusterName(), args), {
    env,
    timeoutMs,
  });
  assert.equal(result.code, 1, result.stderr);
  assert.doesNotMatch(result.stdout, /listening on/);
  // The log lines of the shutdown that follows go to the console too (no --log-dir).
  const lines = result.stderr.split("\n").filter((line) => line.startsWith("server: "));
  assert.equal(lines.length, 1, result.stderr);
  assert.doesNotMatch(result.stderr, /Uncaught|ECONNRESET|\n\s+at /);
  return lines[0]!;
}

/** A bus of one nats-server with JetStream and `extra` (its credentials). */
function bus(extra: NatsClusterOptions): Promise<NatsCluster> {
  return NatsCluster.start(1, extra);
}

Deno.test(
  "cluster auth: user and password (password from the environment only)",
  options,
  async () => {
    await using nats = await bus({
      args: ["--user", "sb", "--pass", "s3cret-pw"],
      probe: { user: "sb", pass: "s3cret-pw" },
    });
    await chatAcross(
      nats,
      { clusterUser: "sb", clusterPassword: "s3cret-pw" },
      ["--cluster-user", "sb"],
      { SWITCHBOARD_CLUSTER_PASSWORD: "s3cret-pw" },
    );
    const line = await refused(nats.urls, ["--cluster-user", "sb"], {
      SWITCHBOARD_CLUSTER_PASSWORD: "wrong-pw",
    });
    assert.equal(
      line,
      `server: cannot join the cluster: ${nats.urls} refused this node's credentials (authorization violation) (--cluster)`,
    );
    assert.doesNotMatch(line, /wrong-pw/);
    // No credentials at all: refused the same way.
    assert.match(await refused(nats.urls, [], {}), /refused this node's credentials/);
  },
);

Deno.test("cluster auth: token", options, async () => {
  await using nats = await bus({
    args: ["--auth", "bus-token-123"],
    probe: { token: "bus-token-123" },
  });
  await chatAcross(nats, { clusterToken: "bus-token-123" }, [], {
    SWITCHBOARD_CLUSTER_TOKEN: "bus-token-123",
  });
  const line = await refused(nats.urls, [], { SWITCHBOARD_CLUSTER_TOKEN: "not-the-token" });
  assert.match(line, /^server: cannot join the cluster: .*\(authorization violation\)/);
});

Deno.test("cluster auth: nkey seed file", options, async () => {
  const { nkeys } = await import("@nats-io/transport-node");
  const dir = await Deno.makeTempDir({ prefix: "sb-nkey-" });
  try {
    const user = nkeys.createUser();
    const seedFile = `${dir}/user.nk`;
    await Deno.writeTextFile(seedFile, new TextDecoder().decode(user.getSeed()) + "\n");
    const config = `${dir}/nats.conf`;
    await Deno.writeTextFile(
      config,
      `authorization { users = [ { nkey: ${user.getPublicKey()} } ] }\n`,
    );
    const { nkeyAuthenticator } = await import("@nats-io/transport-node");
    await using nats = await bus({
      args: ["-c", config],
      probe: { authenticator: nkeyAuthenticator(user.getSeed()) },
    });
    await chatAcross(nats, { clusterNkey: seedFile }, ["--cluster-nkey", seedFile], {});
    const other = nkeys.createUser();
    const otherFile = `${dir}/other.nk`;
    await Deno.writeTextFile(otherFile, new TextDecoder().decode(other.getSeed()));
    const line = await refused(nats.urls, ["--cluster-nkey", otherFile], {});
    assert.match(line, /refused this node's credentials \(authorization violation\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A JWT as NATS writes them (v2, `ed25519-nkey`), signed by `issuer` (nsc does this offline too). */
function natsJwt(
  issuer: { getPublicKey(): string; sign(data: Uint8Array): Uint8Array },
  subject: string,
  nats: Record<string, unknown>,
): string {
  const b64 = (bytes: Uint8Array) =>
    btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(
      /=+$/,
      "",
    );
  const json = (value: unknown) => b64(new TextEncoder().encode(JSON.stringify(value)));
  const header = json({ typ: "JWT", alg: "ed25519-nkey" });
  const claims = json({
    jti: crypto.randomUUID().replaceAll("-", "").toUpperCase(),
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    sub: subject,
    nats: { ...nats, version: 2 },
  });
  const signature = b64(issuer.sign(new TextEncoder().encode(`${header}.${claims}`)));
  return `${header}.${claims}.${signature}`;
}

Deno.test("cluster auth: a .creds file (operator mode, JWTs made here)", options, async () => {
  const { credsAuthenticator, nkeys } = await import("@nats-io/transport-node");
  const dir = await Deno.makeTempDir({ prefix: "sb-creds-" });
  try {
    const operator = nkeys.createOperator();
    const system = nkeys.createAccount();
    const account = nkeys.createAccount();
    const open = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, conn: -1, leaf: -1 };
    const jetstream = { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };
    const accounts = [
      [system, natsJwt(operator, system.getPublicKey(), { type: "account", limits: open })],
      [
        account,
        natsJwt(operator, account.getPublicKey(), {
          type: "account",
          limits: { ...open, ...jetstream },
        }),
      ],
    ] as const;
    const config = `${dir}/nats.conf`;
    await Deno.writeTextFile(
      config,
      [
        `operator: ${
          natsJwt(operator, operator.getPublicKey(), {
            type: "operator",
            system_account: system.getPublicKey(),
          })
        }`,
        `system_account: ${system.getPublicKey()}`,
        "resolver: MEMORY",
        `resolver_preload: {`,
        ...accounts.map(([key, jwt]) => `  ${key.getPublicKey()}: ${jwt}`),
        "}",
      ].join("\n"),
    );
    /** A .creds file for a new user signed by `signer`. */
    const credsFile = async (name: string, signer: typeof account) => {
      const user = nkeys.createUser();
      const jwt = natsJwt(signer, user.getPublicKey(), {
        type: "user",
        pub: {},
        sub: {},
        subs: -1,
        data: -1,
        payload: -1,
      });
      const seed = new TextDecoder().decode(user.getSeed());
      const text = `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n` +
        `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`;
      await Deno.writeTextFile(`${dir}/${name}`, text);
      return `${dir}/${name}`;
    };
    const good = await credsFile("node.creds", account);
    await using nats = await bus({
      args: ["-c", config],
      probe: { authenticator: credsAuthenticator(await Deno.readFile(good)) },
    });
    await chatAcross(nats, { clusterCreds: good }, ["--cluster-creds", good], {});
    // A user of an account the bus does not know.
    const stranger = await credsFile("stranger.creds", nkeys.createAccount());
    const line = await refused(nats.urls, ["--cluster-creds", stranger], {});
    assert.match(line, /refused this node's credentials \(authorization violation\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cluster auth: mutual TLS with a private CA; tls:// URLs", tlsOptions, async () => {
  await using certs = await makeCerts();
  const tls = { caFile: certs.ca, certFile: certs.cert, keyFile: certs.key };
  await using nats = await bus({
    args: [
      "--tls",
      "--tlscert",
      certs.cert,
      "--tlskey",
      certs.key,
      "--tlscacert",
      certs.ca,
      "--tlsverify",
    ],
    probe: { tls },
    scheme: "tls",
  });
  const files = ["--cluster-tls-ca", certs.ca, "--cluster-tls-cert", certs.cert];
  await chatAcross(
    nats,
    { clusterTlsCa: certs.ca, clusterTlsCert: certs.cert, clusterTlsKey: certs.key },
    [...files, "--cluster-tls-key", certs.key],
    {},
  );
  // Without the CA the bus' certificate is not trusted.
  const untrusted = await refused(
    nats.urls,
    ["--cluster-tls-cert", certs.cert, "--cluster-tls-key", certs.key],
    {},
  );
  assert.match(
    untrusted,
    /^server: cannot join the cluster: TLS with tls:\/\/127\.0\.0\.1:\d+ failed/,
  );
  // Without a client certificate the bus refuses the node (it verifies clients).
  // It only sends a TLS alert, so the client waits out its connect timeout (20 s).
  const anonymous = await refused(nats.urls, ["--cluster-tls-ca", certs.ca], {}, 40_000);
  assert.match(anonymous, /^server: cannot join the cluster: TLS with tls:.* failed \(/);
});

Deno.test("cluster auth: bad settings are one line at start (exit 2)", async (t) => {
  const base = ["--cluster", "nats://127.0.0.1:4222"];
  const problem = async (args: string[], env: Record<string, string> = {}) => {
    try {
      await loadServerConfig(args, env);
    } catch (error) {
      return (error as Error).message;
    }
    return "";
  };
  await t.step("combinations", async () => {
    assert.match(
      await problem(base, { SWITCHBOARD_CLUSTER_PASSWORD: "pw" }),
      /password \(SWITCHBOARD_CLUSTER_PASSWORD\) needs --cluster-user/,
    );
    assert.match(
      await problem([...base, "--cluster-user", "sb"]),
      /--cluster-user needs a password: SWITCHBOARD_CLUSTER_PASSWORD/,
    );
    assert.match(
      await problem([...base, "--cluster-user", "sb"], {
        SWITCHBOARD_CLUSTER_PASSWORD: "pw",
        SWITCHBOARD_CLUSTER_TOKEN: "tok",
      }),
      /one way to log in .*--cluster-user and the cluster token/,
    );
    assert.match(
      await problem([...base, "--cluster-creds", "a.creds", "--cluster-nkey", "a.nk"]),
      /not --cluster-creds and --cluster-nkey/,
    );
    assert.match(
      await problem([...base, "--cluster-tls-cert", "c.pem"]),
      /--cluster-tls-cert needs --cluster-tls-key/,
    );
    assert.match(
      await problem([...base, "--cluster-tls-key", "k.pem"]),
      /--cluster-tls-key needs --cluster-tls-cert/,
    );
    assert.match(await problem(["--cluster-user", "sb"]), /--cluster-user needs --cluster/);
    assert.equal(await problem(["--cluster-password", "pw"]).then((m) => /unknown/i.test(m)), true);
    // A bad secret is not shown back.
    const bad = await problem([...base, "--cluster-user", "sb"], {
      SWITCHBOARD_CLUSTER_PASSWORD: "a\nsecret",
    });
    assert.match(bad, /^SWITCHBOARD_CLUSTER_PASSWORD: expected 1 to 1024 characters/);
    assert.doesNotMatch(bad, /secret/);
  });

  await t.step("config file keys, relative paths from the file's folder", async () => {
    const dir = await Deno.makeTempDir({ prefix: "sb-cluster-auth-" });
    try {
      const file = `${dir}/sb.json`;
      await Deno.writeTextFile(
        file,
        JSON.stringify({
          cluster: ["tls://127.0.0.1:4222"],
          clusterUser: "sb",
          clusterPassword: "pw in the file",
          clusterTlsCa: "ca.pem",
        }),
      );
      const config = await loadServerConfig(["--config", file], {});
      assert.equal(config.options.clusterPassword, "pw in the file");
      assert.equal(config.options.clusterTlsCa, `${dir}/ca.pem`);
      assert.equal(config.sources.clusterPassword, `config file ${file}: key "clusterPassword"`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("a file that cannot be used stops the program with one line", async () => {
    const dir = await Deno.makeTempDir({ prefix: "sb-cluster-auth-" });
    try {
      await Deno.writeTextFile(`${dir}/not.creds`, "hello\n");
      const cases: [string[], RegExp][] = [
        [
          ["--cluster-creds", `${dir}/missing.creds`],
          /--cluster-creds .*: cannot read it \(no such file or folder\)/,
        ],
        [
          ["--cluster-creds", `${dir}/not.creds`],
          /--cluster-creds .*: expected a NATS \.creds file/,
        ],
        [["--cluster-nkey", `${dir}/not.creds`], /--cluster-nkey .*: expected an nkey seed/],
        [["--cluster-tls-ca", dir], /--cluster-tls-ca .*: cannot read it \(it is a folder\)/],
      ];
      for (const [args, expected] of cases) {
        const result = await runProgram("server", [
          "--port",
          "0",
          "--log-dir",
          "",
          ...base,
          ...args,
        ]);
        assert.equal(result.code, 2, result.stderr);
        const lines = result.stderr.trim().split("\n");
        assert.equal(lines.length, 1, result.stderr);
        assert.match(lines[0]!, expected);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("a reload keeps the bus' settings until a restart", () => {
    const old = resolveOptions({ cluster: ["nats://127.0.0.1:4222"], clusterUser: "a" });
    const fresh = resolveOptions({
      cluster: ["nats://127.0.0.1:4223"],
      clusterUser: "b",
      clusterTlsCa: "/ca.pem",
    });
    const plan = planReload(old, fresh, true);
    assert.deepEqual(plan.needsRestart, ["cluster", "clusterUser", "clusterTlsCa"]);
    assert.equal(plan.next.clusterUser, "a");
    assert.deepEqual(plan.next.cluster, ["nats://127.0.0.1:4222"]);
  });
});
