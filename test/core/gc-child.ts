// Child process of memory.test.ts (run with --expose-gc): creates tensors it never disposes,
// drops every reference, runs the garbage collector and prints liveTensors() before and after.
import * as T from '../../src/core/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const start = T.liveTensors();
let held: T.Tensor[] | null = [];
for (let i = 0; i < 2000; i++) {
  const a = T.ones([256]);
  held.push(a, a.add(i)); // held so that no GC can free them yet; none is ever disposed
}
const before = T.liveTensors();
held = null;
let after = before;
for (let i = 0; i < 30 && after > start + 100; i++) {
  gc();
  await new Promise((r) => setImmediate(r));
  after = T.liveTensors();
}
console.log(JSON.stringify({ start, before, after }));
