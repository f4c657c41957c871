/**
 * The state the file features keep for one server: its shared area and its spool, both made on
 * first use, so a server that never sees `:put` or `:send` touches no disk for them. It hangs off
 * the server's context, not a module-level table, so two servers in one process (tests,
 * embedders) never share it.
 * @module
 */

import type { ServerContext } from "../context.ts";
import { FileArea } from "./area.ts";
import { Spool } from "./transfer.ts";

/** One server's shared area (`--files-dir`) and `:send` spool. */
export class ServerFiles {
  readonly #ctx: ServerContext;
  #area: Promise<FileArea> | undefined;
  #spool: Spool | undefined;

  /** State for the server behind `ctx`; nothing is opened yet. */
  constructor(ctx: ServerContext) {
    this.#ctx = ctx;
  }

  /** The shared area, opened on first use; a folder that could not be opened is tried again. */
  area(): Promise<FileArea> {
    if (this.#area === undefined) {
      const opening = FileArea.open(this.#ctx.options.filesDir, this.#ctx.log.server);
      this.#area = opening;
      opening.catch(() => {
        if (this.#area === opening) this.#area = undefined;
      });
    }
    return this.#area;
  }

  /** The spool of offers made with `:send`, created on first use. */
  get spool(): Spool {
    return this.#spool ??= new Spool(this.#ctx);
  }
}
