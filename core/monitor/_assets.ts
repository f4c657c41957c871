/**
 * The dashboard's files, `web/dashboard/`, read relative to this module so that they are found
 * from the sources and inside a compiled binary (`deno compile --include web/dashboard`).
 * @module
 */

/** Path of the request → file name and content type. */
export const ASSETS: ReadonlyMap<string, { file: string; type: string }> = new Map([
  ["/", { file: "index.html", type: "text/html; charset=utf-8" }],
  ["/index.html", { file: "index.html", type: "text/html; charset=utf-8" }],
  ["/dashboard.js", { file: "dashboard.js", type: "text/javascript; charset=utf-8" }],
  ["/dashboard.css", { file: "dashboard.css", type: "text/css; charset=utf-8" }],
]);

const FOLDER = new URL("../../web/dashboard/", import.meta.url);

/** The bytes of `file`; read on each request (the files are small; edits show at once). */
export function readAsset(file: string): Promise<Uint8Array<ArrayBuffer>> {
  return Deno.readFile(new URL(file, FOLDER));
}
