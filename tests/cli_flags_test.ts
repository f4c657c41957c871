/**
 * A mistyped option gets one plain sentence, a suggestion when a known option is close, and the
 * usage line, from each program alike (exit code 2).
 */

import assert from "node:assert/strict";
import { runProgram } from "./_programs.ts";
import { closestFlag, flagProblem } from "../core/util/flag_problem.ts";
import { EXIT } from "../cli/_exit_codes.ts";

Deno.test("client, server and shutdown: an unknown option says which one was meant, then the usage line", async () => {
  const cases = [
    ["client", ["--prot", "1"], "unknown option --prot (did you mean --port?)", "client [host]"],
    [
      "client",
      ["--downlaods", "x"],
      "unknown option --downlaods (did you mean --downloads?)",
      "client [host]",
    ],
    ["client", ["--name"], "option --name needs a value", "client [host]"],
    ["client", ["--frobnicate"], "unknown option --frobnicate", "client [host]"],
    ["server", ["--prot", "1"], "unknown option --prot (did you mean --port?)", "server [options]"],
    [
      "shutdown",
      ["--tokn", "x"],
      "unknown option --tokn (did you mean --token?)",
      "shutdown [host]",
    ],
  ] as const;
  for (const [program, args, problem, usage] of cases) {
    const result = await runProgram(program, [...args]);
    assert.equal(result.code, EXIT.usage, `${program} ${args.join(" ")}`);
    assert.equal(
      result.stderr,
      `${program}: ${problem}\nUsage: ${usage}${
        program === "server" ? "" : " [port] [options]"
      }\nRun \`${program} --help\` for the options.\n`,
    );
    assert.doesNotMatch(result.stderr, /Unknown option|'/, "not the parser's own sentence");
  }
});

Deno.test("flag suggestions: close typos, unique prefixes, and nothing for a stranger", () => {
  const known = ["port", "host", "name", "no-color", "downloads", "decline-files", "accept-files"];
  assert.equal(closestFlag("--prot", known), "--port");
  assert.equal(closestFlag("--nmae", known), "--name");
  assert.equal(closestFlag("--no-colour", known), "--no-color");
  assert.equal(closestFlag("--down", known), "--downloads");
  assert.equal(closestFlag("--x", known), undefined);
  assert.equal(closestFlag("--listen", known), undefined);
  assert.equal(
    flagProblem("Option '-n, --name <value>' argument missing", known),
    "option --name needs a value",
  );
  assert.equal(
    flagProblem("Option '--tls' does not take an argument", known),
    "option --tls takes no value",
  );
});
