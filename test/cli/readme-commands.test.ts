// Every command line of README.md's ```sh blocks runs as written: `anogen ...` (and `npx
// anogen`, `node bin/anogen.js`, `npm run demo`) through main() in this process, in a temp
// working folder, with tiny budgets appended or substituted (epochs, image counts, network
// widths); `bash scripts/setup.sh` as a dry run. A README line this test does not understand
// fails it, so the README cannot drift from the CLI unnoticed. Also: scripts/setup.sh's choices
// (what it would install, Node too old, unknown options) through its --dry-run.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { parseTrain } from '../../src/cli/commands/train.js';
import { InterruptedError, train } from '../../src/pipeline/train.js';
import { parseServe } from '../../src/cli/commands/serve.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const src = path.join(root, 'src') + path.sep;
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-readme-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The lines of every fenced block of `lang` (continuation lines joined, comments dropped). */
function blocks(lang: string): { lines: string[]; first: string }[] {
  const out: { lines: string[]; first: string }[] = [];
  const re = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```', 'gm');
  for (const m of readme.matchAll(re)) out.push({ lines: m[1]!.replace(/\\\n/g, ' ').split('\n'), first: m[1]!.split('\n')[0]! });
  return out;
}

/** A shell line without its comment and surrounding space ('' for a comment or blank line). */
const stripComment = (l: string) => l.replace(/(^|\s)#.*$/, '').trim();

/** Runs the CLI in this process in `tmp`, capturing stdout and stderr. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { main } = await import('../../src/cli/main.js');
  let out = '';
  let err = '';
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  // Only what anogen's code writes is captured: node:test's reporter writes its results to
  // the same stdout meanwhile (from its own stack), and those must still reach the runner.
  const ours = () => (new Error().stack ?? '').includes(src);
  process.stdout.write = ((c: string, ...rest: unknown[]) => (ours() ? ((out += c), true) : (o as (...a: unknown[]) => boolean)(c, ...rest))) as typeof process.stdout.write;
  process.stderr.write = ((c: string, ...rest: unknown[]) => (ours() ? ((err += c), true) : (e as (...a: unknown[]) => boolean)(c, ...rest))) as typeof process.stderr.write;
  const cwd = process.cwd();
  process.chdir(tmp);
  try {
    return { code: await main(args), out, err };
  } finally {
    process.chdir(cwd);
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

/** `args` with `--name value` set (replaced when present, appended otherwise); value null: a flag. */
function setOpt(args: string[], name: string, value: string | null): string[] {
  const a = [...args];
  const i = a.indexOf(`--${name}`);
  if (i >= 0) {
    if (value !== null) a[i + 1] = value;
    return a;
  }
  return value === null ? [...a, `--${name}`] : [...a, `--${name}`, value];
}

/** The budget each verb runs with here (the README's own values are for real runs). */
function tiny(args: string[]): string[] {
  let a = args;
  const set = (o: Record<string, string | null>) => {
    for (const [k, v] of Object.entries(o)) a = setOpt(a, k, v);
  };
  if (a[0] === 'train' && a.includes('--resume')) set({ quiet: null });
  else if (a[0] === 'train') set({ epochs: '1', 'train-limit': '64', 'val-limit': '32', 'batch-size': '32', 'image-size': '16', nz: '8', ngf: '8', ndf: '8', quiet: null });
  else if (a[0] === 'eval') set({ 'test-limit': '100', 'no-floors': null, 'no-report': null });
  else if (a[0] === 'demo') set({ 'train-limit': '64', epochs: '1', 'test-limit': '100' });
  else if (a[0] === 'benchmark') set({ 'train-limit': '64', 'val-limit': '32', 'test-limit': '100', 'image-size': '16', floors: 'pca,knn', quiet: null });
  return a;
}

/** What a README line is: CLI arguments, the set-up script, or a command this test leaves alone (with the reason). */
type Step = { kind: 'cli'; args: string[] } | { kind: 'setup'; args: string[] } | { kind: 'serve'; args: string[] } | { kind: 'skip'; reason: string };

function classify(segment: string): Step {
  const w = segment.split(/\s+/);
  assert.ok(!/["'`$|;<>]/.test(segment), `README command ${JSON.stringify(segment)}: quoting and shell syntax are not understood by this test`);
  // A server runs until Ctrl-C: its options are checked here, the server itself in test/server/.
  if (w[0] === 'anogen' && w[1] === 'serve') return { kind: 'serve', args: w.slice(2) };
  if (w[0] === 'anogen') return { kind: 'cli', args: w.slice(1) };
  if (w[0] === 'npx' && w[1] === 'anogen') return { kind: 'cli', args: w.slice(2) };
  if (w[0] === 'node' && w[1] === 'bin/anogen.js') return { kind: 'cli', args: w.slice(2) };
  if (w[0] === 'npm' && w[1] === 'run' && w.length === 3) {
    const script = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts[w[2]!];
    assert.ok(script !== undefined, `README: npm run ${w[2]}: no such script in package.json`);
    const s = script.split(/\s+/);
    assert.deepEqual(s.slice(0, 2), ['node', 'bin/anogen.js'], `README: npm run ${w[2]} is not an anogen command (${script})`);
    return { kind: 'cli', args: s.slice(2) };
  }
  if (w[0] === 'bash' && w[1] === 'scripts/setup.sh') return { kind: 'setup', args: w.slice(2) };
  if (segment === 'npm test') return { kind: 'skip', reason: 'the whole test suite (this test is part of it)' };
  assert.fail(`README command ${JSON.stringify(segment)} is not understood by test/cli/readme-commands.test.ts; teach it there`);
}

/** Every command of the README's sh blocks, in order. */
function readmeCommands(): { line: string; steps: Step[] }[] {
  const out: { line: string; steps: Step[] }[] = [];
  for (const b of blocks('sh')) {
    for (const raw of b.lines) {
      const line = stripComment(raw);
      if (line === '') continue;
      out.push({ line, steps: line.split('&&').map((s) => classify(s.trim())) });
    }
  }
  return out;
}

/** Image files the README's score lines name (digit.png, more/). */
async function makeImages(): Promise<void> {
  const png = async (file: string, k: number) => {
    const px = Buffer.alloc(28 * 28);
    for (let y = 6; y < 22; y++) for (let x = 12 + (k % 3); x < 15 + (k % 3); x++) px[y * 28 + x] = 255;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await sharp(px, { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toFile(file);
  };
  await png(path.join(tmp, 'digit.png'), 0);
  for (let k = 1; k <= 3; k++) await png(path.join(tmp, 'more', `${k}.png`), k);
  for (const b of blocks('yaml')) {
    const name = /^#\s*(\S+\.ya?ml)\s*$/.exec(b.first)?.[1];
    if (name !== undefined) fs.writeFileSync(path.join(tmp, name), b.lines.join('\n'));
  }
}

/**
 * `train --resume <out>` needs an interrupted run in <out>: the README's own training line for
 * that folder (tiny budget) is started and stopped after its first step, leaving the checkpoint
 * a Ctrl-C leaves.
 */
async function interruptedRun(out: string, trainLines: string[][]): Promise<void> {
  if (fs.existsSync(path.join(tmp, out, 'checkpoint'))) return;
  const args = trainLines.find((a) => a[a.indexOf('--out') + 1] === out);
  assert.ok(args !== undefined, `README: train --resume ${out}, but no README train line writes --out ${out}`);
  const cwd = process.cwd();
  process.chdir(tmp);
  try {
    const { request } = parseTrain(setOpt(tiny(args), 'force', null).slice(1));
    let calls = 0;
    await assert.rejects(train(request, { shouldStop: () => ++calls > 1 }), (e: unknown) => e instanceof InterruptedError);
  } finally {
    process.chdir(cwd);
  }
}

test('every command line in README.md runs as written (tiny budgets)', async (t: TestContext) => {
  const commands = readmeCommands();
  const lines = commands.map((c) => c.line);
  for (const must of ['bash scripts/setup.sh', 'anogen train ', 'anogen eval ', 'anogen score ', 'anogen calibrate ', 'anogen train --resume ']) {
    assert.ok(
      lines.some((l) => l.includes(must)),
      `README shows no ${must.trim()} line`,
    );
  }
  await makeImages();
  const trainLines: string[][] = [];
  for (const { line, steps } of commands) {
    await t.test(line, async (st: TestContext) => {
      for (const step of steps) {
        if (step.kind === 'skip') {
          st.skip(step.reason);
          return;
        }
        if (step.kind === 'serve') {
          parseServe(step.args);
          continue;
        }
        if (step.kind === 'setup') {
          const r = spawnSync('bash', [path.join(root, 'scripts', 'setup.sh'), ...step.args, '--dry-run'], { encoding: 'utf8' });
          assert.equal(r.status, 0, r.stderr);
          assert.match(r.stdout, /^npm ci$/m);
          continue;
        }
        // Data paths relative to the repository (../shared/...) resolved from it; absent data: skipped.
        const args = step.args.map((a) => (a.startsWith('../') ? path.resolve(root, a) : a));
        const missing = args.find((a, i) => step.args[i]!.startsWith('../') && !fs.existsSync(a));
        if (missing !== undefined) {
          st.skip(`${missing} is not on this machine`);
          return;
        }
        if (args[0] === 'train' && !args.includes('--resume')) trainLines.push(args);
        if (args[0] === 'train' && args.includes('--resume')) await interruptedRun(args[args.indexOf('--resume') + 1]!, trainLines);
        const run = tiny(args);
        const r = await cli(run);
        assert.equal(r.code, 0, `anogen ${run.join(' ')} exited ${r.code}:\n${r.err}`);
      }
    });
  }
});

/** Runs scripts/setup.sh --dry-run with `env` added. */
function setup(env: Record<string, string | undefined>, ...args: string[]) {
  const e: Record<string, string | undefined> = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete e[k];
  return spawnSync('bash', [path.join(root, 'scripts', 'setup.sh'), '--dry-run', ...args], { encoding: 'utf8', env: e as NodeJS.ProcessEnv });
}

test('scripts/setup.sh --dry-run: installs only what is missing, then npm ci', (t: TestContext) => {
  if (spawnSync('bash', ['--version']).status !== 0) {
    t.skip('no bash');
    return;
  }
  const torch = fs.existsSync('/usr/include/torch');
  const tools = ['python3', 'make', 'g++'].filter((c) => spawnSync('bash', ['-c', `command -v ${c}`]).status !== 0);
  const here = setup({ LIBTORCH: undefined });
  assert.equal(here.status, 0, here.stderr);
  if (torch && tools.length === 0) assert.equal(here.stdout, 'npm ci\n', 'everything installed: only npm ci');
  assert.match(here.stdout, /npm ci\n$/);

  // libtorch absent and LIBTORCH unset: apt-get (through sudo when not root).
  const noTorch = setup({ ANOGEN_SETUP_TORCH_INCLUDE: path.join(tmp, 'no-torch'), LIBTORCH: undefined });
  assert.equal(noTorch.status, 0, noTorch.stderr);
  assert.match(noTorch.stdout, /^(sudo )?apt-get update\n(sudo )?apt-get install -y libtorch-dev( python3| make| g\+\+)*\nnpm ci\n$/);
  // LIBTORCH set: nothing to install for libtorch.
  const own = setup({ ANOGEN_SETUP_TORCH_INCLUDE: path.join(tmp, 'no-torch'), LIBTORCH: path.join(tmp, 'libtorch') });
  assert.equal(own.status, 0, own.stderr);
  assert.doesNotMatch(own.stdout, /libtorch-dev/);

  // Node older than 20: a clear message, nothing run.
  const bin = path.join(tmp, 'old-node');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'node'), '#!/bin/sh\necho v18.19.1\n', { mode: 0o755 });
  const old = setup({ PATH: `${bin}:${process.env.PATH}` });
  assert.equal(old.status, 1);
  assert.equal(old.stdout, '');
  assert.match(old.stderr, /Node\.js 20 or later is required; this 'node' is v18\.19\.1 \(.*old-node\/node\)/);

  const bad = setup({}, '--yes');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown option '--yes'; valid options: --dry-run, --help/);
});
