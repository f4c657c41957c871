/**
 * One wording for errors shown to people, in logs, replies and the client.
 * @module
 */

/**
 * A short sentence for `error`: the common network failures in plain words, otherwise the
 * error's message.
 */
export function describeError(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionReset) return "connection reset by peer";
  if (error instanceof Deno.errors.BrokenPipe) return "the connection broke";
  if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
    return "connection closed";
  }
  return error instanceof Error ? error.message : String(error);
}
