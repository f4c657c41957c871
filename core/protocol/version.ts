/**
 * Switchboard's version and build identity, as shown by every program's `--version`.
 *
 * The release version is read from `deno.json`, so there is one place to bump it. The git commit
 * is {@linkcode BUILD_COMMIT}: `"dev"` in the sources, and replaced by the commit in the copy of
 * the sources that `deno task compile` builds (see `scripts/compile.ts`), so a compiled binary
 * says exactly which commit it was built from while `deno run` keeps working unchanged.
 * @module
 */

import denoConfig from "../../deno.json" with { type: "json" };
import { PROTOCOL_VERSION } from "./grammar.ts";

/**
 * The release version, from `deno.json`.
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * console.assert(/^\d+\.\d+\.\d+/.test(VERSION));
 * ```
 */
export const VERSION: string = denoConfig.version;

/**
 * The git commit this build comes from, or `"dev"` when running from source. The compile step
 * rewrites this exact line in its copy of the sources; keep it on one line.
 */
export const BUILD_COMMIT: string = "dev";

/**
 * The `--version` text of a program: its name, the release, the git commit, the protocol and the
 * Deno runtime with its target (for a compiled binary, the runtime it embeds).
 *
 * @example
 * ```ts
 * import { versionText } from "./version.ts";
 * const text = versionText("server");
 * console.assert(text.startsWith("server (switchboard) ") && text.includes(`deno ${Deno.version.deno}`));
 * ```
 */
export function versionText(program: string): string {
  return `${program} (switchboard) ${VERSION}, commit ${BUILD_COMMIT}, protocol ${PROTOCOL_VERSION}, deno ${Deno.version.deno} (${Deno.build.target})`;
}
