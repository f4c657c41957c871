/**
 * Exit codes shared by the `server`, `client` and `shutdown` programs, so a script can tell a
 * refused connection from a wrong token without parsing messages. Documented in the README.
 * @module
 */

/** Process exit codes. */
export const EXIT = Object.freeze(
  {
    /** Done as asked. */
    ok: 0,
    /** Anything else that went wrong (port in use, server error, lost connection). */
    failure: 1,
    /** Bad flags or configuration. */
    usage: 2,
    /** Nothing listens there (connection refused). */
    refused: 3,
    /** Host or network unreachable, or the name does not resolve. */
    unreachable: 4,
    /** Connecting or waiting for the server took too long. */
    timeout: 5,
    /** The server's access list refused this address. */
    accessDenied: 6,
    /** The server is full (`ERR server-full` or `ERR too-many-connections`). */
    serverFull: 7,
    /** The chosen name was refused and there is no terminal to ask for another. */
    nameRefused: 8,
    /** Not allowed: a wrong admin token, or no admin rights. */
    notAllowed: 9,
    /** An admin kicked this client. */
    kicked: 10,
    /** Disconnected by the server for any other reason (idle, stale, slow consumer, shutdown). */
    disconnected: 11,
    /**
     * TLS could not be set up: the server's certificate is signed by an unknown authority, is
     * for another name, has expired, or the server does not speak TLS.
     */
    tls: 12,
    /**
     * `--login` was refused: a wrong name or password, too many attempts (the server's lockout),
     * the server wants TLS for passwords, or it was too busy to check; also when a reconnect
     * cannot log in again.
     */
    loginFailed: 13,
  } as const,
);

/** One of the values of {@linkcode EXIT}. */
export type ExitCode = typeof EXIT[keyof typeof EXIT];
