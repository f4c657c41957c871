/**
 * The word patterns a declared `:run` command may take its arguments by
 * (`"args": {"pattern": "…"}` in the configuration): checked when the configuration loads, and
 * matched against every word a client sends.
 * @module
 */

/**
 * Compiles a declared word pattern so that it must match a whole word: the pattern has to be a
 * valid regular expression on its own (`u` flag), which keeps `^(?:…)$` around it from being
 * escaped by an unbalanced `)`. Throws a `SyntaxError` for an invalid pattern.
 */
export function compileWordPattern(pattern: string): RegExp {
  new RegExp(pattern, "u");
  return new RegExp(`^(?:${pattern})$`, "u");
}
