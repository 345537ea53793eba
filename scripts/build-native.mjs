#!/usr/bin/env node
// Builds the native addon (build/Release/anogen_native.node) with node-gyp against libtorch.
// Fails early with one clear message when libtorch is missing (see scripts/libtorch.cjs).
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

const require = createRequire(import.meta.url);
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const { locate } = require('./libtorch.cjs');
let loc;
try {
  loc = locate();
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
console.log(`anogen: building the native addon against libtorch (${loc.kind}: ${loc.libdir})`);
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  gyp = null;
}
// Build against the headers of the running Node when they are installed beside it
// (no download needed); npm's own `nodedir` setting wins when present.
const args = gyp ? [gyp, 'rebuild'] : [];
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const res = gyp
  ? spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, JOBS: process.env.JOBS ?? '2' } })
  : spawnSync('npx', ['--yes', 'node-gyp', 'rebuild'], { cwd: root, stdio: 'inherit' });
process.exit(res.status ?? 1);
