/**
 * Merges generative-benchmark folders run at the SAME budget in parallel processes (one per
 * group of rows, each with its own --out) into one table: the cells in the order of `--rows`,
 * the references of the first folder, the grids copied, cells' bundle paths dropped. The merged
 * benchmark.json resumes like a single run's would (same cell ids and configurations).
 *
 *   node --import tsx bench/merge-generative.ts --out DIR --rows gan,gan@minimax,... --command "..." FOLDER...
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generativeBenchmarkMarkdown, readGenerativeBenchmark } from '../src/pipeline/generative-benchmark.js';
import { BENCHMARK_JSON, BENCHMARK_MD } from '../src/pipeline/benchmark.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/util/fs.js';

const { values, positionals } = parseArgs({
  options: { out: { type: 'string' }, rows: { type: 'string' }, command: { type: 'string' } },
  allowPositionals: true,
});
if (!values.out || !values.rows || positionals.length === 0) throw new Error('usage: merge-generative.ts --out DIR --rows a,b,... [--command CMD] FOLDER...');
const tables = positionals.map((f) => {
  const t = readGenerativeBenchmark(f);
  if (t === null) throw new Error(`${f}: no ${BENCHMARK_JSON}`);
  return { folder: f, t };
});
const rows = values.rows.split(',');
const cells = tables.flatMap(({ folder, t }) => t.cells.map((c) => ({ folder, c })));
const order = (model: string) => {
  const i = rows.indexOf(model);
  return i < 0 ? rows.length : i;
};
cells.sort((a, b) => order(a.c.model) - order(b.c.model));
fs.mkdirSync(values.out, { recursive: true });
for (const { folder, c } of cells) if (c.grid) fs.copyFileSync(path.join(folder, c.grid), path.join(values.out, c.grid));
const merged = {
  ...tables[0]!.t,
  command: values.command ?? tables[0]!.t.command,
  updated: new Date().toISOString(),
  cells: cells.map(({ c }) => ({ ...c, bundle: undefined })),
};
writeJsonAtomic(path.join(values.out, BENCHMARK_JSON), merged);
writeFileAtomic(path.join(values.out, BENCHMARK_MD), generativeBenchmarkMarkdown(merged));
console.log(`${cells.length} cells from ${tables.length} folder(s) -> ${values.out}`);
