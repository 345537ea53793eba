#!/usr/bin/env node
// Runs every test/**/*.test.ts with node:test through tsx, two files at a time, each on one libtorch
// thread (a 2-core machine: 4m54s one file at a time with 2 threads each, 3m08s this way, measured
// quiet on 2026-11-30). ANOGEN_TEST_CONCURRENCY and ANOGEN_NUM_THREADS override both.
// Usage: node scripts/run-tests.mjs [filter-substring ...]
// Every test file's process gets a private run registry (ANOGEN_HOME, see scripts/test-home.mjs).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import './test-home.mjs';

function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
const files = walk('test')
  .sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const res = spawnSync(
  process.execPath,
  [
    '--expose-gc',
    '--import',
    'tsx',
    '--import',
    fileURLToPath(new URL('./test-home.mjs', import.meta.url)),
    '--test',
    '--test-concurrency=' + (process.env.ANOGEN_TEST_CONCURRENCY ?? '2'),
    ...files,
  ],
  {
    stdio: 'inherit',
    env: { ANOGEN_NUM_THREADS: '1', ...process.env, ANOGEN_TEST: '1' },
  },
);
process.exit(res.status ?? 1);
