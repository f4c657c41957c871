/**
 * The look-alike skeleton of a name: two names with the same skeleton are too easy to mistake for
 * each other to be online at once. In the spirit of the Unicode TR39 "skeleton", restricted to the
 * ASCII name alphabet (`A-Z a-z 0-9 _ - .`) and, unlike TR39, also blind to case, since names are
 * already unique without regard to case.
 * @module
 */

/**
 * Single characters that pass for one another once case is folded: `I` (folded to `i`), `l`, `1`
 * and `i`; `O`/`0`; and the three separators. `i` joins the `l` class because `I` and `i` are one
 * letter here, and `I` passes for `l`. `5`/`S`, `2`/`Z`, `8`/`B` are left apart: they are less
 * alike in the fonts chat is read in, and folding them would collide plain names like `user5` and
 * `users`.
 */
const SINGLE: Readonly<Record<string, string>> = {
  "i": "l",
  "1": "l",
  "0": "o",
  "-": "_",
  ".": "_",
};

/** Pairs of letters that pass for one letter, replaced left to right after the single folds. */
const PAIRS: readonly (readonly [string, string])[] = [["rn", "m"], ["vv", "w"]];

/**
 * The skeleton of a valid name: lower-cased, then `i`/`1` → `l`, `0` → `o`, `-`/`.` → `_`, then
 * `rn` → `m` and `vv` → `w`. Names whose skeletons are equal are look-alikes; the skeleton is only
 * a key, never shown.
 *
 * @example
 * ```ts
 * import { nameSkeleton } from "./name_skeleton.ts";
 * console.assert(nameSkeleton("aIice") === nameSkeleton("alice"));
 * console.assert(nameSkeleton("r00t") === nameSkeleton("root"));
 * console.assert(nameSkeleton("rnallory") === nameSkeleton("mallory"));
 * console.assert(nameSkeleton("bob") !== nameSkeleton("rob"));
 * ```
 */
export function nameSkeleton(name: string): string {
  // A registration asks for the same name's skeleton three or four times in a row (reserved
  // names, accounts, names online, then the table itself): the last answer is kept.
  if (name === lastName) return lastSkeleton;
  lastSkeleton = skeletonOf(name);
  lastName = name;
  return lastSkeleton;
}

let lastName = "";
let lastSkeleton = "";

function skeletonOf(name: string): string {
  const lower = name.toLowerCase();
  // Most names have nothing to fold: they are their own skeleton, built without a new string
  // per character (2.5 % of the server's time under connection churn).
  let skeleton = lower;
  if (FOLDED.test(lower)) {
    skeleton = "";
    for (const char of lower) skeleton += SINGLE[char] ?? char;
  }
  for (const [pair, letter] of PAIRS) {
    if (skeleton.includes(pair)) skeleton = skeleton.replaceAll(pair, letter);
  }
  return skeleton;
}

/** A character {@linkcode SINGLE} folds. */
const FOLDED = /[i10.-]/;
