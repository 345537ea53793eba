// Per-op overhead of the native bridge on tiny tensors, anogen vs PyTorch (python3-torch) in one run.
// Usage: node --import tsx bench/bridge.ts   (single thread; median of 7 rounds of 50,000 calls)
import { spawnSync } from 'node:child_process';
import * as T from '../src/core/index.js';

T.setNumThreads(1);
const a = T.ones([2, 2]);
const b = T.ones([2, 2]);
const cases: Record<string, () => void> = {
  'a.add(b) [2,2]': () => a.add(b).dispose(),
  'a.mul(2) [2,2]': () => a.mul(2).dispose(),
  'a.add_(b) [2,2]': () => void a.add_(b, 0),
  'a.shape': () => void a.shape,
  'tidy(() => a.add(b))': () => void T.tidy(() => a.add(b)),
};
const med = (v: number[]) => v.sort((x, y) => x - y)[v.length >> 1]!;
const ours: Record<string, number[]> = {};
for (let r = 0; r < 7; r++) {
  for (const [k, f] of Object.entries(cases)) {
    const n = 50_000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f();
    (ours[k] ??= []).push(Number(process.hrtime.bigint() - t0) / 1e3 / n);
  }
}
const py = `
import torch, timeit, json
torch.set_num_threads(1)
a = torch.ones(2, 2); b = torch.ones(2, 2)
cases = {'a.add(b) [2,2]': lambda: a + b, 'a.mul(2) [2,2]': lambda: a * 2, 'a.add_(b) [2,2]': lambda: a.add_(b, alpha=0), 'a.shape': lambda: a.shape}
print(json.dumps({k: sorted(t / 50000 * 1e6 for t in timeit.repeat(f, number=50000, repeat=7))[3] for k, f in cases.items()}))
`;
const res = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
const torch: Record<string, number> = res.status === 0 ? JSON.parse(res.stdout) : {};
console.log(`${'op'.padEnd(24)} ${'anogen µs'.padStart(10)} ${'PyTorch µs'.padStart(11)}`);
for (const k of Object.keys(cases)) {
  const p = torch[k];
  console.log(`${k.padEnd(24)} ${med(ours[k]!).toFixed(2).padStart(10)} ${(p === undefined ? '-' : p.toFixed(2)).padStart(11)}`);
}
if (res.status !== 0) console.log('(PyTorch not run: /usr/bin/python3 with torch not found)');
