// The float32 weights of a bundle folder's model.safetensors, by tensor name: what the exact-resume
// tests (and bench/generator-resume.ts) compare between a resumed and an uninterrupted run.
import path from 'node:path';
import { loadSafetensors } from '../../src/nn/safetensors.js';

/** Every tensor of `<dir>/model.safetensors` as float32 values, by name. */
export function bundleWeights(dir: string): Map<string, Float32Array> {
  const sd = loadSafetensors(path.join(dir, 'model.safetensors'));
  const out = new Map<string, Float32Array>();
  for (const [k, t] of sd) {
    out.set(k, t.float().toFloat32Array());
    t.dispose();
  }
  return out;
}
