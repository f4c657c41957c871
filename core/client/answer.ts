/**
 * The answer to one command, as `SwitchboardClient.request` (and the file transfers built on it)
 * hand it back: the data lines the server sent for it, then its final line.
 * @module
 */

import type { EchoEvent } from "./events.ts";
import type { ErrEvent, OkEvent, ServerEvent } from "../protocol/server_line.ts";

/** The answer to one command: its data lines and its final `OK`/`ERR` line. */
export interface Answer {
  /** The command line sent. */
  command: string;
  /**
   * `OK …` or `ERR …` (from an echo server: the echo, or the `ERR` in its place); `undefined`
   * when the connection dropped before the answer came.
   */
  final: OkEvent | ErrEvent | EchoEvent | undefined;
  /** Data lines (`USER`, `MEMBER`, …) that came before the final line. */
  data: ServerEvent[];
}
