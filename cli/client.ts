/**
 * `client`: chat on a Switchboard server from a terminal (a line editor whose prompt survives
 * incoming messages, timestamps, sender colours, reconnection) or from a script (`--send`,
 * piped input, `--json`). Usage and exit codes: `client --help`, and `docs/client.md`.
 * @module
 */

import { runMain } from "../core/util/permissions.ts";
import { versionText } from "../core/protocol/version.ts";
import { runClient } from "./_client_app.ts";
import { CLIENT_USAGE, parseClientArgs, UsageError } from "./_client_args.ts";
import { EXIT } from "./_exit_codes.ts";
import { withUserPaths } from "./_user_paths.ts";
import { usageProblem } from "./_usage_problem.ts";

async function main(args: string[]): Promise<number> {
  let plan;
  try {
    plan = parseClientArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    usageProblem("client", error.message, CLIENT_USAGE);
    return EXIT.usage;
  }
  if (plan === "help") return console.log(CLIENT_USAGE), EXIT.ok;
  if (plan === "version") return console.log(versionText("client")), EXIT.ok;
  return await runClient(withUserPaths(plan));
}

runMain("client", () => main(Deno.args));
