/**
 * Seeded JS-side randomness shared by every layer (shuffles, splits, augmentation draws,
 * subsampling).
 * torch's generator is not used here so that splits do not depend on how many tensor
 * operations ran before; the same seed gives the same split on every machine.
 */

/** A mulberry32 generator: returns a function giving uniform floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fills `out` with standard normal numbers drawn from `rand` (Box-Muller: two uniforms per pair of
 * values, the cosine then the sine; a uniform of exactly 0 is taken as 1e-12); returns `out`.
 */
export function fillNormals<T extends Float32Array | Float64Array>(out: T, rand: () => number): T {
  for (let i = 0; i < out.length; i += 2) {
    const u1 = Math.max(rand(), 1e-12);
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** Mixes a seed with further integers (e.g. an epoch number) into a new 32-bit seed. */
export function mixSeed(seed: number, ...parts: number[]): number {
  let h = (seed >>> 0) ^ 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Fisher-Yates shuffle of `a` in place with the generator `rand`; returns `a`. */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(a: T, rand: () => number): T {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

/** A random permutation of 0..n-1 as an Int32Array, from a seed or from a running generator. */
export function permutation(n: number, seed: number | (() => number)): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return shuffleInPlace(p, typeof seed === 'number' ? mulberry32(seed) : seed);
}
