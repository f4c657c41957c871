/**
 * Sender colours for the `client` program: a palette that stays readable on dark and light
 * backgrounds (twelve mid-tone hues from the 256-colour palette where the terminal has it, the
 * five non-red basic colours, then the same underlined, elsewhere), never red (errors) and never
 * your own name's style (bold, no colour). A name's colour follows a hash of the name, unless
 * another name seen in this session already has it: then the least-used colour goes to the new
 * name, so the first dozen names are all told apart. Private to `cli/`.
 * @module
 */

/** One way to show a name: SGR parameters to start it and to end it. */
export interface Swatch {
  /** SGR parameters that start the style, e.g. `38;5;172`. */
  readonly open: string;
  /** SGR parameters that end it. */
  readonly close: string;
  /** Lower tiers are handed out first (plain colours before underlined ones). */
  readonly tier: number;
}

/** How many colours the terminal shows. */
export type ColourDepth = 16 | 256;

/**
 * Twelve hues about 30° apart, skipping red (errors), at a lightness that reads on black and on
 * white: orange, gold, olive green, green, sea green, teal, sky, blue, periwinkle, violet,
 * magenta, pink (xterm 256-colour indices).
 */
const HUES_256 = [172, 136, 106, 34, 36, 37, 32, 27, 105, 93, 164, 169];

/** The basic colours a 16-colour terminal themes for its background, without red. */
const BASIC = [32, 33, 34, 35, 36];

/** The palette for a colour depth. */
export function palette(depth: ColourDepth): readonly Swatch[] {
  if (depth === 256) {
    return HUES_256.map((index) => ({ open: `38;5;${index}`, close: "39", tier: 0 }));
  }
  return [
    ...BASIC.map((code) => ({ open: String(code), close: "39", tier: 0 })),
    ...BASIC.map((code) => ({ open: `${code};4`, close: "39;24", tier: 1 })),
  ];
}

/**
 * The colour depth from the environment: 256 when `COLORTERM` says truecolor/24bit or `TERM`
 * mentions 256 colours (xterm-256color, tmux-256color, …) or direct colour; 16 otherwise.
 */
export function colourDepth(env: (name: string) => string | undefined): ColourDepth {
  const colorterm = (env("COLORTERM") ?? "").toLowerCase();
  const term = (env("TERM") ?? "").toLowerCase();
  if (colorterm === "truecolor" || colorterm === "24bit") return 256;
  return /256|direct/.test(term) ? 256 : 16;
}

/** {@linkcode colourDepth} for this process (16 when the environment may not be read). */
export function terminalColourDepth(): ColourDepth {
  return colourDepth((name) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  });
}

/** FNV-1a of the name without regard to case. */
function hash(key: string): number {
  let h = 2166136261;
  for (const char of key) {
    h ^= char.codePointAt(0) ?? 0;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h;
}

/**
 * Hands out sender colours for one session: stable per name (case does not matter), and among
 * the names seen, as few shared colours as the palette allows.
 *
 * @example
 * ```ts
 * import { palette, SenderColours } from "./_client_colours.ts";
 * const colours = new SenderColours(palette(256));
 * const names = ["alice", "bob", "carol", "dave", "eve", "frank"];
 * console.assert(new Set(names.map((n) => colours.of(n))).size === names.length);
 * ```
 */
export class SenderColours {
  readonly #palette: readonly Swatch[];
  /** Name key → palette index, for the names seen (and not forgotten). */
  readonly #assigned = new Map<string, number>();
  /** Palette index → how many names have it. */
  readonly #uses: number[];

  /** Hands out colours from `swatches` (at least one). */
  constructor(swatches: readonly Swatch[]) {
    if (swatches.length === 0) throw new RangeError("a palette needs at least one colour");
    this.#palette = swatches;
    this.#uses = swatches.map(() => 0);
  }

  /** The colour of `name`, assigning one when the name is new. */
  of(name: string): Swatch {
    return this.#palette[this.#index(name)] as Swatch;
  }

  /** The palette index of `name` (assigning one when the name is new). */
  #index(name: string): number {
    const key = name.toLowerCase();
    const known = this.#assigned.get(key);
    if (known !== undefined) return known;
    // The hash's colour when nobody has it; else the least-used colour (lowest tier first),
    // searching from the hash's colour so that the choice still depends on the name.
    const size = this.#palette.length;
    const start = hash(key) % size;
    let best = start;
    for (let step = 0; step < size; step++) {
      const index = (start + step) % size;
      if (this.#better(index, best)) best = index;
    }
    this.#assigned.set(key, best);
    this.#uses[best] = (this.#uses[best] ?? 0) + 1;
    return best;
  }

  #better(index: number, than: number): boolean {
    const uses = this.#uses[index] ?? 0;
    const best = this.#uses[than] ?? 0;
    if (uses !== best) return uses < best;
    return (this.#palette[index]?.tier ?? 0) < (this.#palette[than]?.tier ?? 0);
  }

  /** `name` left: its colour is free for the next new name (it gets one again if it returns). */
  forget(name: string): void {
    const key = name.toLowerCase();
    const index = this.#assigned.get(key);
    if (index === undefined) return;
    this.#assigned.delete(key);
    this.#uses[index] = Math.max(0, (this.#uses[index] ?? 0) - 1);
  }

  /** `from` is now called `to`: it keeps its colour (unless `to` has one already). */
  rename(from: string, to: string): void {
    const index = this.#assigned.get(from.toLowerCase());
    if (index === undefined || this.#assigned.has(to.toLowerCase())) return;
    this.#assigned.delete(from.toLowerCase());
    this.#assigned.set(to.toLowerCase(), index);
  }
}

/** `text` in `swatch`, as SGR escape sequences. */
export function inSwatch(swatch: Swatch, text: string): string {
  return `\x1b[${swatch.open}m${text}\x1b[${swatch.close}m`;
}
