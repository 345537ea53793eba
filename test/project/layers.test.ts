// The layer order written in ARCHITECTURE.md holds in the code: every import of src/ goes to
// the same layer or one below it, and no module imports itself back through a cycle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..', 'src');
/** ARCHITECTURE.md's order, lowest first (same rank: may import each other's files). */
const RANK: Record<string, number> = { core: 0, util: 0, nn: 1, optim: 2, data: 3, eval: 4, train: 5, models: 6, detectors: 7, pipeline: 8, runs: 9, cli: 10, server: 10, '.': 11 };

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}
const layerOf = (f: string) => {
  const rel = path.relative(root, f);
  return rel.includes(path.sep) ? rel.split(path.sep)[0]! : '.';
};
function imports(f: string): string[] {
  const src = fs.readFileSync(f, 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/g)) out.push(path.resolve(path.dirname(f), m[1]!.replace(/\.js$/, '.ts')));
  for (const m of src.matchAll(/import\('(\.[^']+)'\)/g)) out.push(path.resolve(path.dirname(f), m[1]!.replace(/\.js$/, '.ts')));
  return out;
}

test('every import goes to the same or a lower layer (ARCHITECTURE.md)', () => {
  const all = files(root);
  const bad: string[] = [];
  for (const f of all) {
    const from = layerOf(f);
    assert.ok(from in RANK, `${path.relative(root, f)}: layer '${from}' is not in ARCHITECTURE.md's order`);
    for (const to of imports(f)) {
      const l = layerOf(to);
      if (RANK[l]! > RANK[from]!) bad.push(`${path.relative(root, f)} (${from}) imports ${path.relative(root, to)} (${l})`);
    }
  }
  assert.deepEqual(bad, []);
});

test('no import cycles between modules of src/', () => {
  const all = files(root);
  const graph = new Map(all.map((f) => [f, imports(f).filter((t) => fs.existsSync(t))]));
  const state = new Map<string, 1 | 2>();
  const cycles: string[] = [];
  const visit = (f: string, stack: string[]): void => {
    state.set(f, 1);
    for (const t of graph.get(f) ?? []) {
      if (state.get(t) === 1) cycles.push([...stack.slice(stack.indexOf(t)), t].map((x) => path.relative(root, x)).join(' -> '));
      else if (!state.has(t)) visit(t, [...stack, t]);
    }
    state.set(f, 2);
  };
  for (const f of all) if (!state.has(f)) visit(f, [f]);
  assert.deepEqual(cycles, []);
});
