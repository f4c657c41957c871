/**
 * Turns a terminal screen captured with colours (`tmux capture-pane -p -e`) into an SVG image
 * for the documentation: one `<text>` row per screen line, SGR colours and bold kept, blank rows
 * at the end dropped. Only what the client prints is understood (the 16 colours, 256-colour and
 * RGB foregrounds, bold, dim); anything else is ignored.
 *
 * ```sh
 * SWITCHBOARD_CAPTURE=/tmp/session.ansi deno test -P=test --filter "own lobby" tests/client_session_tty_test.ts
 * deno run --allow-read --allow-write scripts/capture_svg.ts /tmp/session.ansi docs/client-session.svg
 * ```
 * @module
 */

/** Layout of the image. */
export interface SvgOptions {
  /** Font size in pixels. @default {14} */
  fontSize?: number;
  /** A caption drawn as the window title. @default {""} */
  title?: string;
}

/** The 16 ANSI colours, as a dark terminal theme shows them. */
const PALETTE = [
  "#1e1e1e",
  "#e06c75",
  "#98c379",
  "#e5c07b",
  "#61afef",
  "#c678dd",
  "#56b6c2",
  "#d0d0d0",
  "#7f848e",
  "#ff7b86",
  "#b5e890",
  "#ffd68a",
  "#82c4ff",
  "#e09cf0",
  "#7fd8e3",
  "#ffffff",
];
const FOREGROUND = "#d0d0d0";
const BACKGROUND = "#1e1e1e";

interface Style {
  color: string;
  bold: boolean;
  dim: boolean;
}

interface Span extends Style {
  column: number;
  text: string;
}

/**
 * The SVG of a captured screen.
 *
 * @example
 * ```ts
 * import { ansiToSvg } from "./capture_svg.ts";
 * const svg = ansiToSvg("\x1b[32mok\x1b[39m & done\n");
 * console.assert(svg.includes('fill="#98c379"') && svg.includes("&amp; done"));
 * ```
 */
export function ansiToSvg(screen: string, options: SvgOptions = {}): string {
  const fontSize = options.fontSize ?? 14;
  const title = options.title ?? "";
  const charWidth = fontSize * 0.6;
  const lineHeight = Math.round(fontSize * 1.35);
  // tmux carries a style over to the next rows without repeating it.
  let style: Style = { color: FOREGROUND, bold: false, dim: false };
  const rows = screen.replace(/\n+$/, "").split("\n").map((row) => {
    const parsed = parseRow(row, style);
    style = parsed.style;
    return parsed.spans;
  });
  const columns = Math.max(20, ...rows.map((spans) => spanEnd(spans.at(-1))));
  const top = title === "" ? 12 : 36;
  const width = Math.ceil(columns * charWidth + 24);
  const height = top + rows.length * lineHeight + 12;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" rx="6" fill="${BACKGROUND}"/>`,
  ];
  if (title !== "") {
    out.push(
      `<text x="${
        width / 2
      }" y="22" fill="#7f848e" font-family="sans-serif" font-size="12" text-anchor="middle">${
        escape(title)
      }</text>`,
    );
  }
  out.push(
    `<g font-family="ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace" font-size="${fontSize}" xml:space="preserve">`,
  );
  rows.forEach((spans, index) => {
    const y = top + (index + 1) * lineHeight - Math.round(lineHeight * 0.3);
    const parts = spans.filter((span) => span.text.trim() !== "").map((span) => {
      const attrs = [`x="${(12 + span.column * charWidth).toFixed(1)}"`, `fill="${span.color}"`];
      if (span.bold) attrs.push(`font-weight="bold"`);
      if (span.dim) attrs.push(`opacity="0.7"`);
      return `<tspan ${attrs.join(" ")}>${escape(span.text)}</tspan>`;
    });
    if (parts.length > 0) out.push(`<text y="${y}">${parts.join("")}</text>`);
  });
  out.push("</g>", "</svg>", "");
  return out.join("\n");
}

function spanEnd(span: Span | undefined): number {
  return span === undefined ? 0 : span.column + [...span.text].length;
}

/** One screen row as styled spans, with the column each starts at, and the style at its end. */
function parseRow(row: string, start: Style): { spans: Span[]; style: Style } {
  const spans: Span[] = [];
  let style = start;
  let column = 0;
  // deno-lint-ignore no-control-regex
  for (const part of row.split(/(\x1b\[[\d;]*m)/)) {
    // deno-lint-ignore no-control-regex
    const sgr = /^\x1b\[([\d;]*)m$/.exec(part);
    if (sgr !== null) {
      style = applySgr(style, (sgr[1] ?? "").split(";").map((n) => Number(n || "0")));
      continue;
    }
    // deno-lint-ignore no-control-regex
    const text = part.replace(/\x1b\[[^a-zA-Z]*[a-zA-Z]/g, "");
    if (text === "") continue;
    spans.push({ ...style, column, text });
    column += [...text].length;
  }
  return { spans, style };
}

function applySgr(style: Style, codes: number[]): Style {
  const next = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i] ?? 0;
    if (code === 0) Object.assign(next, { color: FOREGROUND, bold: false, dim: false });
    else if (code === 1) next.bold = true;
    else if (code === 2) next.dim = true;
    else if (code === 22) Object.assign(next, { bold: false, dim: false });
    else if (code >= 30 && code <= 37) next.color = PALETTE[code - 30] ?? FOREGROUND;
    else if (code >= 90 && code <= 97) next.color = PALETTE[code - 90 + 8] ?? FOREGROUND;
    else if (code === 39) next.color = FOREGROUND;
    else if (code === 38 && codes[i + 1] === 5) {
      next.color = color256(codes[i + 2] ?? 7);
      i += 2;
    } else if (code === 38 && codes[i + 1] === 2) {
      const [r, g, b] = codes.slice(i + 2, i + 5).map((n) => n.toString(16).padStart(2, "0"));
      next.color = `#${r}${g}${b}`;
      i += 4;
    }
  }
  return next;
}

function color256(n: number): string {
  if (n < 16) return PALETTE[n] ?? FOREGROUND;
  if (n >= 232) {
    const level = (8 + (n - 232) * 10).toString(16).padStart(2, "0");
    return `#${level}${level}${level}`;
  }
  const cube = n - 16;
  const level = (v: number) => (v === 0 ? 0 : 55 + v * 40).toString(16).padStart(2, "0");
  return `#${level(Math.floor(cube / 36))}${level(Math.floor(cube / 6) % 6)}${level(cube % 6)}`;
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

if (import.meta.main) {
  const [input, output, ...title] = Deno.args;
  if (input === undefined || output === undefined) {
    console.error("usage: capture_svg.ts <capture.ansi> <out.svg> [title]");
    Deno.exit(2);
  }
  const svg = ansiToSvg(await Deno.readTextFile(input), { title: title.join(" ") });
  await Deno.writeTextFile(output, svg);
}
