/**
 * Entry-point plumbing shared by the three programs: run `main`, exit with its code, and turn a
 * missing Deno permission into one readable line instead of a stack trace.
 *
 * Each program runs with the narrowest permissions it needs, declared once as a permission set
 * in `deno.json` (`server`, `client`, `shutdown`) and used by the deno tasks, the tests and the
 * compiled binaries alike (see `docs/install.md`, "Permissions"). This module is where a denied
 * permission ends up: it names the access that was refused and the flag that grants it.
 * @module
 */

/** What a `Deno.errors.NotCapable` message says was refused. */
export interface DeniedAccess {
  /** The permission kind: `read`, `write`, `net`, `env`, `sys`, `run`, `ffi` or `import`. */
  kind: string;
  /** The path, host:port, variable, API or program asked for; undefined for "all of it". */
  value: string | undefined;
  /** The flag that grants it, e.g. `--allow-net`. */
  flag: string;
}

/**
 * Reads Deno's permission error message ("Requires net access to "10.0.0.1:80", run again with
 * the --allow-net flag"). Returns undefined when the message has another shape.
 *
 * @example
 * ```ts
 * import { deniedAccess } from "./permissions.ts";
 * const denied = deniedAccess('Requires env access to "HOME", run again with the --allow-env flag');
 * console.assert(denied?.kind === "env" && denied.value === "HOME" && denied.flag === "--allow-env");
 * ```
 */
export function deniedAccess(message: string): DeniedAccess | undefined {
  const match = /Requires ([a-z]+) access(?: to "((?:[^"\\]|\\.)*)")?/.exec(message);
  if (!match) return undefined;
  const kind = match[1] as string;
  const flag = /--allow-[a-z]+/.exec(message)?.[0] ?? `--allow-${kind}`;
  return { kind, value: match[2], flag };
}

/** How the program was started, which decides the advice in a permission message. */
export type LaunchKind = "source" | "binary";

/**
 * The line printed for a permission error: what was refused, and the flag that grants it. From
 * source the advice is the flag, with the value that was refused; a compiled binary cannot take
 * flags, so it says the access is not among the permissions built into the binary.
 *
 * @example
 * ```ts
 * import { permissionMessage } from "./permissions.ts";
 * const error = new Deno.errors.NotCapable(
 *   'Requires read access to "a.token", run again with the --allow-read flag',
 * );
 * const line = permissionMessage("shutdown", error, "source");
 * console.assert(line.includes("--allow-read") && !line.includes("\n"));
 * ```
 */
export function permissionMessage(
  program: string,
  error: Error,
  launch: LaunchKind = Deno.build.standalone ? "binary" : "source",
): string {
  const firstLine = (error.message.split("\n")[0] ?? "").trim();
  const denied = deniedAccess(firstLine);
  if (!denied) {
    const flag = /--allow-[a-z]+/.exec(firstLine)?.[0];
    const what = firstLine.replace(/,? run again with the --allow-[a-z]+ flag\.?$/, "");
    return flag
      ? `${program}: permission denied: ${what} (grant it with ${flag}).`
      : `${program}: permission denied: ${what}.`;
  }
  const what = denied.value === undefined
    ? `${denied.kind} access`
    : `${denied.kind} access to ${JSON.stringify(denied.value)}`;
  if (launch === "binary") {
    return `${program}: permission denied: ${what} is not among the permissions built into this ` +
      `binary (${denied.flag}); see "Permissions" in docs/install.md.`;
  }
  // A value with spaces, quotes or control characters is quoted, so the line stays one line
  // and can be pasted into a shell.
  const value = denied.value === undefined
    ? undefined
    : /^[^\s"'\\\p{Cc}]+$/u.test(denied.value)
    ? denied.value
    : JSON.stringify(denied.value);
  const grant = value === undefined ? denied.flag : `${denied.flag}=${value}`;
  return `${program}: permission denied: ${what}; grant it with ${grant}.`;
}

/** True for the two errors that mean "not allowed": Deno's sandbox, or the operating system. */
export function isPermissionError(error: unknown): error is Error {
  return error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied;
}

/** The line for a permission error of either kind. */
function describe(program: string, error: Error): string {
  if (error instanceof Deno.errors.NotCapable) return permissionMessage(program, error);
  // PermissionDenied is the operating system saying no (a port below 1024, a read-only
  // folder): no Deno flag helps, so say who refused.
  const firstLine = (error.message.split("\n")[0] ?? "").trim();
  return `${program}: the operating system refused access: ${firstLine}.`;
}

/**
 * Runs a program's `main` and exits with the code it returns. A `Deno.errors.NotCapable` (Deno's
 * sandbox) or `PermissionDenied` (the operating system) becomes one line on stderr and exit code
 * 1, whether `main` rejects with it or a callback throws it later; any other error is a bug and
 * keeps its stack trace.
 *
 * @example
 * ```ts ignore
 * import { runMain } from "./permissions.ts";
 * runMain("shutdown", async () => {
 *   await Deno.readTextFile(".switchboard/admin-12345.token");
 *   return 0;
 * });
 * ```
 */
export function runMain(program: string, main: () => Promise<number>): void {
  const fail = (error: Error): never => {
    console.error(describe(program, error));
    Deno.exit(1);
  };
  // A permission error thrown in a timer or event handler, or a rejection nobody awaited.
  globalThis.addEventListener("error", (event) => {
    if (isPermissionError(event.error)) fail(event.error);
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    if (isPermissionError(event.reason)) fail(event.reason);
  });
  main().then(
    (code) => Deno.exit(code),
    (error) => {
      if (isPermissionError(error)) fail(error);
      throw error;
    },
  );
}
