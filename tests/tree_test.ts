/**
 * The source tree itself: no merge left half done. Conflict markers inside a comment or a Markdown
 * file pass every other check, so this looks for them in every tracked text file.
 */

import assert from "node:assert/strict";
import { REPO_ROOT } from "./_programs.ts";

Deno.test("no tracked file holds a merge conflict marker", async () => {
  const files = new TextDecoder().decode(
    (await new Deno.Command("git", { args: ["ls-files", "-z"], cwd: REPO_ROOT, stdout: "piped" })
      .output()).stdout,
  ).split("\0").filter((path) => /\.(ts|md|json|yml|yaml|sh)$|^\.ci\/run$/.test(path));
  assert.ok(files.length > 50, "git lists the tracked files");
  const marker = /^(<{7}|>{7}) |^={7}$/m;
  const marked: string[] = [];
  for (const path of files) {
    const text = await Deno.readTextFile(`${REPO_ROOT}/${path}`).catch(() => "");
    if (marker.test(text)) marked.push(path);
  }
  assert.deepEqual(marked, []);
});
