#!/usr/bin/env node
// anogen's command-line entry: runs the compiled CLI (dist/src/cli/main.js, built by `npm ci`
// through the "prepare" script) when present, else the TypeScript sources through tsx (a dev
// checkout where dist/ has not been built).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const compiled = path.join(root, 'dist', 'src', 'cli', 'main.js');
const source = path.join(root, 'src', 'cli', 'main.ts');

/** Newest modification time of the TypeScript sources (0 when there are none, as in a published package). */
function newestSource(dir) {
  let newest = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

// Use the compiled CLI unless a source file changed after it was built (a dev checkout).
const useDist = fs.existsSync(compiled) && (process.env.ANOGEN_USE_DIST === '1' || newestSource(path.join(root, 'src')) <= fs.statSync(compiled).mtimeMs);
let mainModule;
if (useDist) {
  mainModule = await import(pathToFileURL(compiled).href);
} else {
  try {
    const tsx = await import('tsx/esm/api');
    tsx.register();
  } catch {
    process.stderr.write('anogen: dist/ is not built and tsx is not installed; run `npm ci` (or `npm run build`)\n');
    process.exit(1);
  }
  mainModule = await import(pathToFileURL(source).href);
}
process.exitCode = await mainModule.main(process.argv.slice(2));
