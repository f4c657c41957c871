/**
 * The files of the chat page (`web/chat/`), read relative to this module so that they are found
 * in the repository and, embedded with `--include web/chat`, in a compiled binary. Only the names
 * in {@linkcode PAGE_FILES} are served; each is read once and kept.
 * @module
 */

/** Served path → file in `web/chat/` and its content type. */
export const PAGE_FILES: Readonly<Record<string, readonly [file: string, type: string]>> = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/index.html": ["index.html", "text/html; charset=utf-8"],
  "/chat.css": ["chat.css", "text/css; charset=utf-8"],
  "/chat.js": ["chat.js", "text/javascript; charset=utf-8"],
  "/wire.js": ["wire.js", "text/javascript; charset=utf-8"],
  "/view.js": ["view.js", "text/javascript; charset=utf-8"],
  "/colours.js": ["colours.js", "text/javascript; charset=utf-8"],
  "/files.js": ["files.js", "text/javascript; charset=utf-8"],
  "/sha256.js": ["sha256.js", "text/javascript; charset=utf-8"],
};

const cache = new Map<string, Uint8Array>();

/** The page file served at `path`, or undefined for any other path. */
export async function pageFile(
  path: string,
): Promise<{ body: Uint8Array<ArrayBuffer>; type: string } | undefined> {
  const entry = PAGE_FILES[path];
  if (entry === undefined) return undefined;
  const [file, type] = entry;
  let body = cache.get(file);
  if (body === undefined) {
    body = await Deno.readFile(new URL(`../../web/chat/${file}`, import.meta.url));
    cache.set(file, body);
  }
  return { body: body as Uint8Array<ArrayBuffer>, type };
}
