/**
 * Test certificates made by `openssl` at test time in a temporary folder: a private CA, a
 * server certificate for `localhost` and 127.0.0.1, one that expired in 2020, and one for
 * another name, all signed by the CA. Nothing is checked in, so nothing expires in the repo.
 * @module
 */

/** Whether `openssl` can be run; CI installs it, so there it must exist. */
export const haveOpenssl: boolean = await new Deno.Command("openssl", {
  args: ["version"],
  stdout: "null",
  stderr: "null",
}).output().then((o) => o.success, () => false);

/** Paths of the PEM files made by {@linkcode makeCerts}. */
export interface TestCerts extends AsyncDisposable {
  /** The folder holding them. */
  dir: string;
  /** The private CA's certificate. */
  ca: string;
  /** Certificate for DNS:localhost and IP:127.0.0.1, and its key. */
  cert: string;
  key: string;
  /** A certificate for localhost valid only on 2020-01-01 (key: {@linkcode TestCerts.key}). */
  expired: string;
  /** A certificate for `other.example` only (key: {@linkcode TestCerts.key}). */
  wrongName: string;
  /** A second key that matches none of the certificates. */
  otherKey: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

const CA_CONFIG = `[ca]
default_ca = test_ca
[test_ca]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
`;

/**
 * Makes the CA and the server certificates; dispose to remove them. `extraIps` are added to the
 * server certificate's names (beside localhost and 127.0.0.1), for a server on another address.
 */
export async function makeCerts(extraIps: readonly string[] = []): Promise<TestCerts> {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-certs-" });
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(
    [
      "req",
      "-x509",
      ...key,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=Switchboard Test CA",
    ],
    dir,
  );
  for (const name of ["server.key", "other.key"]) {
    await openssl(
      ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", name],
      dir,
    );
  }
  const sign = async (name: string, san: string, dates: string[]) => {
    await openssl(
      [
        "req",
        "-new",
        "-key",
        "server.key",
        "-out",
        `${name}.csr`,
        "-subj",
        "/CN=switchboard",
        "-addext",
        `subjectAltName=${san}`,
      ],
      dir,
    );
    await openssl(
      [
        "ca",
        "-batch",
        "-config",
        "ca.cnf",
        "-cert",
        "ca.pem",
        "-keyfile",
        "ca.key",
        "-in",
        `${name}.csr`,
        "-out",
        `${name}.pem`,
        "-notext",
        ...dates,
      ],
      dir,
    );
  };
  await Deno.writeTextFile(`${dir}/ca.cnf`, CA_CONFIG);
  await Deno.writeTextFile(`${dir}/index.txt`, "");
  await Deno.writeTextFile(`${dir}/serial`, "1000\n");
  const serverNames = ["DNS:localhost", "IP:127.0.0.1", ...extraIps.map((ip) => `IP:${ip}`)];
  await sign("server", serverNames.join(","), ["-days", "2"]);
  await sign("expired", "DNS:localhost,IP:127.0.0.1", [
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20200102000000Z",
  ]);
  await sign("wrong", "DNS:other.example", ["-days", "2"]);
  return {
    dir,
    ca: `${dir}/ca.pem`,
    cert: `${dir}/server.pem`,
    key: `${dir}/server.key`,
    expired: `${dir}/expired.pem`,
    wrongName: `${dir}/wrong.pem`,
    otherKey: `${dir}/other.key`,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Certificates for one test module, made on first use (openssl takes a moment) and removed when
 * the module ends: the files are shared by its tests.
 */
export function moduleCerts(): () => Promise<TestCerts> {
  let made: Promise<TestCerts> | undefined;
  return () => {
    if (made === undefined) {
      made = makeCerts();
      made.then(({ dir }) => {
        globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
      }, () => {});
    }
    return made;
  };
}
