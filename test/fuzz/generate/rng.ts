import { mulberry32 } from '../../helpers/random.js';

/**
 * A seeded random source for the fuzzer. Every connection gets its own stream, derived from
 * the run's seed and the connection's index, so connection 41,207 of seed 7 is the same bytes
 * whether it runs in a million-input campaign or alone (`npm run fuzz -- --seed 7 --only 41207`).
 */
export class Rng {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  /** The stream for one item (a connection, or one job inside it) of a run. */
  static for(seed: number, ...path: (number | string)[]): Rng {
    let h = mix(seed >>> 0);
    for (const part of path) h = mix(h ^ (typeof part === 'number' ? part >>> 0 : hashText(part)));
    return new Rng(h);
  }

  /** In [0, 1). */
  float(): number {
    return this.#next();
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.#next() * (max - min + 1));
  }

  /** An integer in [min, max], small values far more likely (sizes, counts). */
  skewed(min: number, max: number): number {
    const x = this.#next();
    return min + Math.floor(x * x * x * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.#next() < p;
  }

  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.#next() * list.length)]!;
  }

  /** Picks by weight: `[[3, 'a'], [1, 'b']]` gives 'a' three times as often. */
  weighted<T>(table: readonly (readonly [number, T])[]): T {
    const total = table.reduce((sum, [w]) => sum + w, 0);
    let roll = this.#next() * total;
    for (const [weight, value] of table) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return table[table.length - 1]![1];
  }

  bytes(count: number): Buffer {
    const out = Buffer.allocUnsafe(count);
    for (let i = 0; i < count; i++) out[i] = Math.floor(this.#next() * 256);
    return out;
  }
}

/** splitmix32's finalizer: spreads nearby seeds (seed, seed + 1) far apart. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
