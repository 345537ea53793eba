#!/usr/bin/env node
// Compact AUROC matrix (rows: detectors and floors; columns: classes, then the mean over the
// finished classes) of one or more `anogen benchmark` tables, as Markdown. Reads only
// <out>/benchmark.json (written by the benchmark itself); prints to stdout.
//
//   node bench/issue13-summary.mjs bench/results/issue13-2026-11-30/mnist-one-vs-rest [...]
import fs from 'node:fs';
import path from 'node:path';

const LABELS = { pca: 'PCA floor', knn: 'kNN floor', 'patch-knn': 'patch kNN floor', ocsvm: 'OC-SVM floor' };
const f3 = (v) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(3));
const mean = (xs) => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

for (const dir of process.argv.slice(2)) {
  const t = JSON.parse(fs.readFileSync(path.join(dir, 'benchmark.json'), 'utf8'));
  const done = t.cells.filter((c) => c.status === 'done');
  const classes = [...new Set(done.map((c) => c.class ?? '–'))];
  const detectors = [...new Set(done.map((c) => c.detector))];
  // Classes where every detector finished: the means are over these only.
  const full = classes.filter((k) => detectors.every((d) => done.some((c) => c.detector === d && (c.class ?? '–') === k)));
  const cell = (d, k) => done.find((c) => c.detector === d && (c.class ?? '–') === k);
  const rows = [];
  for (const d of detectors) rows.push([d, classes.map((k) => cell(d, k)?.auroc), full.map((k) => cell(d, k).auroc)]);
  for (const f of t.floors) {
    const fv = (k) => done.find((c) => (c.class ?? '–') === k)?.floors[f]?.auroc;
    rows.push([LABELS[f] ?? f, classes.map(fv), full.map(fv)]);
  }
  console.log(`### ${path.basename(dir)}${t.command ? ` (\`${t.command}\`)` : ''}\n`);
  console.log(`| | ${classes.join(' | ')} | mean (${full.length} classes) |`);
  console.log(`|---|${classes.map(() => '---:|').join('')}---:|`);
  for (const [name, vals, fullVals] of rows) console.log(`| ${name} | ${vals.map(f3).join(' | ')} | **${f3(mean(fullVals.filter((v) => v !== undefined)))}** |`);
  console.log('');
}
