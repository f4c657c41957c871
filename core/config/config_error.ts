/**
 * The error of a configuration the server refuses: its own file so that every reader of a
 * configuration source (the config file, the accounts file) can throw it without importing
 * the others.
 * @module
 */

/** A configuration the server refuses to start with; its message names the source and the reason. */
export class ConfigError extends Error {
  /** Always `"ConfigError"`. */
  override name = "ConfigError";
}
