/**
 * Reading a password: from a terminal with echo off (`readSecret`), or one line from piped stdin
 * (`readPipedLine`). Used by `server accounts add` and by the client's `--login`. Private to
 * `cli/`.
 * @module
 */

/** The user pressed Ctrl+C (or Ctrl+D on an empty line) at a password prompt. */
export class PromptAborted extends Error {
  override name = "PromptAborted";
  constructor() {
    super("aborted");
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The longest secret a prompt takes, in bytes: more is a paste gone wrong. */
const MAX_SECRET_BYTES = 4096;

/**
 * Asks for a secret on the terminal: writes `prompt` to stderr, reads keys in raw mode without
 * echoing them, and returns the line when Enter is pressed. Backspace deletes a character,
 * Ctrl+U the whole line; Ctrl+C (and Ctrl+D on an empty line) throws {@linkcode PromptAborted}.
 * The terminal is always restored to cooked mode, whatever happens. Stdin must be a terminal.
 */
export async function readSecret(prompt: string): Promise<string> {
  // Echo goes off before the prompt shows, so nothing typed after it is echoed.
  Deno.stdin.setRaw(true);
  const chars: string[] = [];
  let bytes = 0;
  const buffer = new Uint8Array(256);
  // A multi-byte character may arrive split across reads.
  const stream = new TextDecoder();
  try {
    await Deno.stderr.write(encoder.encode(prompt));
    for (;;) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) throw new PromptAborted();
      for (const char of stream.decode(buffer.subarray(0, n), { stream: true })) {
        switch (char) {
          case "\r":
          case "\n":
            return chars.join("");
          case "\x03": // Ctrl+C
            throw new PromptAborted();
          case "\x04": // Ctrl+D
            if (chars.length === 0) throw new PromptAborted();
            break;
          case "\x7f": // Backspace (DEL)
          case "\b":
            bytes -= encoder.encode(chars.pop() ?? "").length;
            break;
          case "\x15": // Ctrl+U
            chars.length = 0;
            bytes = 0;
            break;
          default:
            // Other control characters (arrow-key escapes included) are not part of a password.
            if (char < " " || char === "\x1b") break;
            bytes += encoder.encode(char).length;
            if (bytes > MAX_SECRET_BYTES) throw new RangeError("the password is too long");
            chars.push(char);
        }
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    // Raw mode swallowed the Enter's line feed: end the prompt's line.
    await Deno.stderr.write(encoder.encode("\n"));
  }
}

/**
 * Reads one line from stdin when it is not a terminal (a pipe or a file): the bytes up to the
 * first `\n` (or the end), without the `\n` or `\r\n`. Anything after that line is ignored.
 * Returns `undefined` when stdin is empty.
 */
export async function readPipedLine(): Promise<string | undefined> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(1024);
  for (;;) {
    const n = await Deno.stdin.read(buffer);
    if (n === null) break;
    const chunk = buffer.slice(0, n);
    const end = chunk.indexOf(0x0a);
    if (end >= 0) {
      chunks.push(chunk.subarray(0, end));
      total += end;
      return stripCr(joinBytes(chunks, total));
    }
    chunks.push(chunk);
    total += n;
    if (total > MAX_SECRET_BYTES) throw new RangeError("the password is too long");
  }
  return total === 0 ? undefined : stripCr(joinBytes(chunks, total));
}

function joinBytes(chunks: Uint8Array[], total: number): string {
  const all = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return decoder.decode(all);
}

function stripCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}
