// Sender colours: the terminal client's palette (cli/_client_colours.ts), twelve mid-tone hues
// of the xterm 256-colour palette that read on dark and light backgrounds, never red (errors).
// A name's colour follows a hash of the name unless another name already has it; then the
// least-used colour goes to the new name, so the first dozen names are all told apart.

/** Orange, gold, olive, green, sea green, teal, sky, blue, periwinkle, violet, magenta, pink. */
export const HUES_256 = [172, 136, 106, 34, 36, 37, 32, 27, 105, 93, 164, 169];

const LEVELS = [0, 95, 135, 175, 215, 255];

/** The CSS colour of an xterm 256-colour index from the 6×6×6 cube (16–231). */
export function xtermColour(index) {
  const i = index - 16;
  const r = LEVELS[Math.floor(i / 36)];
  const g = LEVELS[Math.floor(i / 6) % 6];
  const b = LEVELS[i % 6];
  return `rgb(${r}, ${g}, ${b})`;
}

/** FNV-1a of the name without regard to case, as the terminal client hashes it. */
function hash(key) {
  let h = 2166136261;
  for (const char of key) {
    h ^= char.codePointAt(0) ?? 0;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h;
}

/** Hands out one colour per name, as `SenderColours` does in the terminal client. */
export class SenderColours {
  #palette = HUES_256.map(xtermColour);
  #assigned = new Map();
  #uses = HUES_256.map(() => 0);

  /** The CSS colour of `name`. */
  of(name) {
    const key = name.toLowerCase();
    let index = this.#assigned.get(key);
    if (index === undefined) {
      const size = this.#palette.length;
      const start = hash(key) % size;
      index = start;
      for (let step = 0; step < size; step++) {
        const at = (start + step) % size;
        if (this.#uses[at] < this.#uses[index]) index = at;
      }
      this.#assigned.set(key, index);
      this.#uses[index]++;
    }
    return this.#palette[index];
  }
}
