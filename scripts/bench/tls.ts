/**
 * Certificates for the TLS scenarios: a private CA and a server certificate for `localhost`
 * (and 127.0.0.1) signed by it, made once per benchmark run with `openssl` in the work folder,
 * so the load generator verifies the server exactly as a real client would.
 * @module
 */

/** The files a TLS run needs. */
export interface TlsFiles {
  /** The server's certificate (PEM), for `--tls-cert`. */
  cert: string;
  /** The server's private key (PEM), for `--tls-key`. */
  key: string;
  /** The private CA's certificate (PEM), for loadgen's `--tls-ca`. */
  ca: string;
  /** The name the certificate is for, for loadgen's `--tls-name`. */
  name: string;
}

/** Raised when the certificates cannot be made (no `openssl`, or it failed). */
export class TlsSetupError extends Error {
  override name = "TlsSetupError";
}

async function openssl(args: string[], cwd: string): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
      .output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new TlsSetupError("openssl not found (Debian: apt-get install -y openssl)");
    }
    throw error;
  }
  if (!output.success) {
    throw new TlsSetupError(
      `openssl ${args[0]} failed: ${new TextDecoder().decode(output.stderr).trim()}`,
    );
  }
}

/**
 * Makes a CA and a server certificate signed by it in `dir/tls` (EC P-256: the handshake cost
 * measured is that of a current, common choice).
 *
 * @example
 * ```ts ignore
 * const tls = await makeTlsFiles(await Deno.makeTempDir());
 * console.log(tls.ca);
 * ```
 */
export async function makeTlsFiles(dir: string): Promise<TlsFiles> {
  const out = `${dir}/tls`;
  await Deno.mkdir(out, { recursive: true });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(
    ["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2"].concat(
      ["-subj", "/CN=switchboard bench CA"],
    ),
    out,
  );
  await openssl(
    ["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
    out,
  );
  await Deno.writeTextFile(
    `${out}/server.ext`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  );
  await openssl(
    ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key"].concat(
      ["-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext"],
    ),
    out,
  );
  return {
    cert: `${out}/server.pem`,
    key: `${out}/server.key`,
    ca: `${out}/ca.pem`,
    name: "localhost",
  };
}
