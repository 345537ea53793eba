#!/usr/bin/env node
// Typechecks every ```ts block of README.md against the library's sources (`from 'anogen'`
// resolved to src/index.ts), so the library examples stay correct as the API changes.
// Usage: node scripts/check-readme-snippets.mjs   (part of `npm run check`)
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const root = path.resolve(import.meta.dirname, '..');
const dir = path.join(root, '.bench-tmp', 'readme-snippets');
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir, { recursive: true });
const md = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const blocks = [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
blocks.forEach((code, i) => {
  const src = code.replace(
    /from 'anogen'/g,
    `from '${path
      .relative(dir, path.join(root, 'src', 'index.js'))
      .split(path.sep)
      .join('/')}'`,
  );
  fs.writeFileSync(path.join(dir, `snippet-${i + 1}.ts`), `${src}\nexport {};\n`);
});
fs.writeFileSync(
  path.join(dir, 'tsconfig.json'),
  JSON.stringify({ extends: path.join(root, 'tsconfig.json'), compilerOptions: { noEmit: true, rootDir: root }, include: ['*.ts'] }),
);
const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(dir, 'tsconfig.json')], { encoding: 'utf8' });
if (r.status !== 0) {
  process.stderr.write(`README.md's TypeScript examples do not typecheck (blocks written to ${dir}):\n${r.stdout}${r.stderr}`);
  process.exit(1);
}
process.stdout.write(`README.md: ${blocks.length} TypeScript example(s) typecheck\n`);
