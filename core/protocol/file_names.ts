/**
 * File names of the shared area and of direct transfers: the one validator the server (`:put`,
 * `:send`), the client (before an upload, and for a name another user chose before a download) and
 * the area's index share, and the key under which two names are the same file.
 *
 * A name is compared and stored in Unicode NFC ({@linkcode normalizeFileName}), so `café.txt` typed
 * on Linux (NFC) and on macOS (NFD) is one file. It must be safe as one parameter of a line and as
 * a file name on Linux, macOS and Windows, and must not look like anything else: no path separator
 * or a character that looks like one (`∕ ⁄ ／ ＼ ⧸ ╱ …`), no invisible character (zero-width
 * spaces and joiners, bidirectional controls, the BOM, variation selectors: names that look alike
 * must be alike), no Windows device name (`CON`, `nul.txt`, `COM1`, …), and nothing that a
 * compatibility mapping (NFKC, or Windows' "best fit" conversion) turns into a separator, a
 * leading or trailing dot, or a device name (`．．／`, `ＣＯＮ`).
 *
 * @example
 * ```ts
 * import { fileKey, fileNameProblem, normalizeFileName } from "./file_names.ts";
 * console.assert(fileNameProblem("report-2024.pdf") === undefined);
 * console.assert(fileNameProblem("../etc/passwd") !== undefined);
 * console.assert(fileNameProblem("NUL.txt") !== undefined);
 * console.assert(fileKey("Cafe\u0301.txt") === fileKey(normalizeFileName("café.txt")));
 * ```
 * @module
 */

/** Longest file name, in UTF-8 bytes of its NFC form (file systems allow 255; the rest is headroom). */
export const MAX_FILE_NAME_BYTES = 128;

const encoder = new TextEncoder();

// Path separators, characters Windows refuses in names (a client may save there), whitespace
// (names are protocol parameters), C0/C1 controls.
// deno-lint-ignore no-control-regex
const FORBIDDEN = /[\x00-\x20\x7f-\x9f/\\:*?"<>|]/u;

// Characters that show nothing, or nothing of their own: controls (Cc), format characters (Cf:
// zero-width space and joiners, bidirectional controls, the BOM, soft hyphen), surrogates, line
// and paragraph separators, every kind of whitespace, default-ignorable code points (variation
// selectors, Hangul fillers, tags) and the blank Braille pattern.
const INVISIBLE =
  /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{White_Space}\p{Default_Ignorable_Code_Point}\u2800]/v;

// Characters drawn like `/` or `\` that no normalisation maps to them: fraction and division
// slash, set minus, big and operator solidi, box-drawing and mathematical diagonals, the Kangxi
// slash radical, combining solidus overlays, heavy ornamental solidi. (Fullwidth `／ ＼` and small
// `﹨` are caught through NFKC below.)
const LOOKALIKE_SEPARATOR =
  /[\u2044\u2215\u2216\u2571\u2572\u27cb\u27cd\u29f5\u29f8\u29f9\u2f03\u0337\u0338\u20e5\u{1f67c}\u{1f67d}]/u;

// After NFKC: a separator, including Windows' drive and stream separator `:` (from `： ﹕ ︓`).
const COMPATIBLE_SEPARATOR = /[/\\:]/u;

/** Names Windows keeps for devices, whatever the extension (`NUL.txt` is the null device). */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/**
 * The form a file name is compared and stored in: Unicode NFC. The server applies it to every name
 * a client sends (so `OK put` and `FILEINFO` show it), and the client to a name before an upload.
 */
export function normalizeFileName(name: string): string {
  return name.normalize("NFC");
}

/**
 * Why `name` cannot name a shared or sent file, or `undefined` when it can. The rules apply to its
 * NFC form ({@linkcode normalizeFileName}), which is what callers store: 1 to
 * {@linkcode MAX_FILE_NAME_BYTES} bytes; no whitespace, control character or any of
 * `/ \ : * ? " < > |`; no invisible character; no character that looks like `/` or `\`, or becomes
 * `/ \ :` under NFKC; not starting or ending with `.` (so never `.` or `..`), also after NFKC; not a
 * Windows device name (`CON PRN AUX NUL COM0-9 LPT0-9 CONIN$ CONOUT$`, any case, with or without
 * an extension), also after NFKC.
 */
export function fileNameProblem(name: string): string | undefined {
  const nfc = normalizeFileName(name);
  if (nfc.length === 0) return "a file name cannot be empty";
  if (encoder.encode(nfc).length > MAX_FILE_NAME_BYTES) {
    return `a file name has at most ${MAX_FILE_NAME_BYTES} bytes`;
  }
  if (FORBIDDEN.test(nfc)) {
    return 'a file name has no spaces, control characters, / \\ : * ? " < > |';
  }
  if (INVISIBLE.test(nfc)) {
    return "a file name has no invisible characters (zero-width, format or bidirectional)";
  }
  const compatible = nfc.normalize("NFKC");
  if (LOOKALIKE_SEPARATOR.test(nfc) || COMPATIBLE_SEPARATOR.test(compatible)) {
    return "a file name has no characters that look like / \\ or : (such as ∕ ⁄ ／ ＼ ：)";
  }
  if (nfc.startsWith(".") || compatible.startsWith(".")) {
    return "a file name cannot start with '.' or a look-alike";
  }
  if (nfc.endsWith(".") || compatible.endsWith(".")) {
    return "a file name cannot end with '.' or a look-alike";
  }
  if (WINDOWS_DEVICE.test(nfc) || WINDOWS_DEVICE.test(compatible)) {
    return "a file name cannot be a Windows device name (CON, PRN, AUX, NUL, COM1, LPT1, …), " +
      "with or without an extension";
  }
  return undefined;
}

/**
 * The key under which a file name is unique: its NFC form, without regard to case. `café.txt` in
 * NFC and in NFD, and `Café.TXT`, are one file.
 */
export function fileKey(name: string): string {
  return normalizeFileName(name).toLowerCase();
}
