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

let mainModule;
if (fs.existsSync(compiled) && !(fs.existsSync(source) && fs.statSync(source).mtimeMs > fs.statSync(compiled).mtimeMs && process.env.ANOGEN_USE_DIST !== '1')) {
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
