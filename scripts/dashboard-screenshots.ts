#!/usr/bin/env -S node --import tsx
// Screenshots of every dashboard page, for looking at what a user sees. Trains and evaluates a
// small GANomaly (MNIST digit 0, 32 px, widths 16) and a small AE in a fresh registry home, starts
// `anogen serve` on it in this process, starts a third training in a child process to catch
// the live run page, and writes full-page PNGs (1280 px wide) of: the runs table, the
// evaluated train run, its eval run, the live run (twice, 3 s apart), the compare page, the
// score page after uploading test images (at Φ and with the threshold moved), the token
// dialog, and an unknown run. Console errors of the pages are printed.
// Usage: node --import tsx scripts/dashboard-screenshots.ts [out-dir (default /tmp/anogen-screens)]
//   [--train-limit 512] [--epochs 2] [--keep (keep the temporary home and print where)]
// Needs Chromium at /usr/bin/chromium (or ANOGEN_CHROMIUM) and the dev dependency playwright-core.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../src/cli/main.js';
import { startServer } from '../src/server/server.js';
import { Registry } from '../src/runs/registry.js';
import { chromiumSkipReason, launchChromium } from '../test/helpers/report-layout.js';

const args = process.argv.slice(2);
let out = '/tmp/anogen-screens';
let trainLimit = 512;
let epochs = 2;
let keep = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--train-limit') trainLimit = Number(args[++i]);
  else if (a === '--epochs') epochs = Number(args[++i]);
  else if (a === '--keep') keep = true;
  else if (a === '-h' || a === '--help') {
    console.log('usage: node --import tsx scripts/dashboard-screenshots.ts [out-dir (default /tmp/anogen-screens)] [--train-limit 512] [--epochs 2] [--keep]');
    process.exit(0);
  } else if (a.startsWith('--')) {
    console.error(`dashboard-screenshots: unknown option ${a}; valid: --train-limit, --epochs, --keep`);
    process.exit(2);
  } else out = a;
}
if (!(Number.isInteger(trainLimit) && trainLimit >= 32) || !(Number.isInteger(epochs) && epochs >= 1)) {
  console.error(`dashboard-screenshots: --train-limit must be a whole number >= 32 and --epochs >= 1 (got ${trainLimit}, ${epochs})`);
  process.exit(2);
}
const skip = chromiumSkipReason();
if (skip) {
  console.error(`dashboard-screenshots: ${skip}`);
  process.exit(1);
}

const root = path.resolve(import.meta.dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-screens-'));
const home = path.join(tmp, 'home');
process.env.ANOGEN_HOME = home;
fs.mkdirSync(out, { recursive: true });
const t0 = Date.now();
const say = (s: string): void => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${s}`);

async function cli(...argv: string[]): Promise<void> {
  say(`anogen ${argv.join(' ')}`);
  const code = await main([...argv, '--home', home]);
  if (code !== 0) throw new Error(`anogen ${argv.join(' ')} exited with ${code}`);
}

const mnist0 = ['--data', 'mnist', '--protocol', 'one-vs-rest', '--normal', '0'];
const common = ['--val-limit', '200', '--batch-size', '64', '--image-size', '32', '--threads', '1', '--quiet'];
// narrow networks (widths 16) keep the script to a few minutes on a busy 2-core machine
const narrow = ['--nz', '32', '--ngf', '16', '--ndf', '16'];
const limits = ['--train-limit', String(trainLimit), ...common];
const gan = path.join(tmp, 'ganomaly-digit0');
const ae = path.join(tmp, 'ae-digit0');
await cli('train', 'ganomaly', ...mnist0, ...limits, ...narrow, '--epochs', String(epochs), '--out', gan);
await cli('eval', gan, '--test-limit', '400', '--no-report', '--threads', '1');
await cli('train', 'ae', ...mnist0, ...limits, '--epochs', String(epochs), '--out', ae, '--nz', '32', '--ngf', '16');
await cli('eval', ae, '--test-limit', '400', '--no-report', '--threads', '1');

const server = await startServer({ port: 0, home, log: () => {}, workers: 1 });
say(`serving ${server.url}`);
// a third training in a child process, for the live run page
const live = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    path.join(root, 'src/cli/main.ts'),
    'train',
    'ganomaly',
    ...mnist0,
    ...common,
    '--train-limit',
    '4000',
    '--epochs',
    '3',
    '--out',
    path.join(tmp, 'live'),
    '--home',
    home,
  ],
  { cwd: root, stdio: 'ignore', env: { ...process.env, ANOGEN_HOME: home } },
);
const browser = await launchChromium();
const consoleErrors: string[] = [];
const shots: string[] = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
  const shot = async (name: string): Promise<void> => {
    const file = path.join(out, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    shots.push(file);
    say(`wrote ${file}`);
  };
  const reg = Registry.open(home);
  const runs = reg.listRuns();
  const ganTrain = runs.find((r) => r.kind === 'train' && r.bundle === gan)!;
  const aeTrain = runs.find((r) => r.kind === 'train' && r.bundle === ae)!;
  const ganEval = runs.find((r) => r.kind === 'eval' && r.parentId === ganTrain.id)!;

  // the live run: wait until it records steps
  let liveId: number | null = null;
  for (let i = 0; i < 600 && liveId === null; i++) {
    const r = reg.listRuns({ status: 'running' })[0];
    if (r && reg.steps(r.id).length >= 3) liveId = r.id;
    else await new Promise((res) => setTimeout(res, 200));
  }
  reg.close();

  await page.goto(`${server.url}#/runs`);
  await page.waitForSelector('table.runs tbody tr[data-id]');
  await shot('1-runs');
  await page.goto(`${server.url}#/runs/${ganTrain.id}`);
  await page.waitForSelector('svg.roc', { state: 'attached' });
  await page.waitForLoadState('networkidle');
  await shot('2-run-train');
  await page.goto(`${server.url}#/runs/${ganEval.id}`);
  await page.waitForSelector('svg.roc', { state: 'attached' });
  await page.waitForLoadState('networkidle');
  await shot('3-run-eval');
  if (liveId !== null) {
    await page.goto(`${server.url}#/runs/${liveId}`);
    await page.waitForSelector('svg.loss', { state: 'attached' });
    await shot('4-run-live-a');
    await page.waitForTimeout(3000);
    await shot('4-run-live-b');
  } else say('the live run recorded no steps in 120 s: no live screenshots');
  await page.goto(`${server.url}#/compare?ids=${ganTrain.id},${aeTrain.id}`);
  await page.waitForSelector('svg.loss', { state: 'attached' });
  await shot('5-compare');

  // the score page: two of the most anomalous and two of the missed test images of the evaluation
  const ed = JSON.parse(fs.readFileSync(path.join(gan, 'eval-data.json'), 'utf8')) as { top: { image: string }[]; missed: { image: string }[] };
  const files = [...ed.top.slice(0, 2), ...ed.missed.slice(0, 2)].map((s) => path.join(gan, 'eval-data.files', s.image));
  await page.goto(`${server.url}#/score?bundle=${encodeURIComponent(gan)}`);
  await page.waitForSelector('#file');
  await page.setInputFiles('#file', files);
  await page.waitForFunction((n) => document.querySelectorAll('.scorecard b.raw').length === n, files.length, { timeout: 60_000 });
  await page.waitForTimeout(300);
  await shot('6-score');
  await page.$eval('#threshold', (el) => {
    const input = el as HTMLInputElement;
    input.value = '0.2'; // between the missed images' scores: one of them is flagged now
    input.dispatchEvent(new Event('input'));
  });
  await page.$eval('#opacity', (el) => {
    const input = el as HTMLInputElement;
    input.value = '0.35';
    input.dispatchEvent(new Event('input'));
  });
  await shot('7-score-threshold-moved');

  await page.goto(`${server.url}#/runs/999999`);
  await page.waitForSelector('.error');
  await shot('8-unknown-run');

  // the main pages at the three widths a user's window is likely to have
  for (const width of [1000, 1400, 1920]) {
    await page.setViewportSize({ width, height: 900 });
    await page.goto(`${server.url}#/runs`);
    await page.waitForSelector('table.runs tbody tr[data-id]');
    await shot(`w${width}-runs`);
    await page.goto(`${server.url}#/runs/${ganTrain.id}`);
    await page.waitForSelector('svg.roc', { state: 'attached' });
    await page.waitForLoadState('networkidle');
    await shot(`w${width}-run`);
    await page.goto(`${server.url}#/score?bundle=${encodeURIComponent(gan)}`);
    await page.waitForSelector('#file');
    await page.setInputFiles('#file', files);
    await page.waitForFunction((n) => document.querySelectorAll('.scorecard b.raw').length === n, files.length, { timeout: 60_000 });
    await shot(`w${width}-score`);
    await page.goto(`${server.url}#/compare?ids=${ganTrain.id},${aeTrain.id}`);
    await page.waitForSelector('svg.loss', { state: 'attached' });
    await shot(`w${width}-compare`);
  }
} finally {
  live.kill('SIGINT');
  await browser.close();
  await server.close();
}

// the token dialog, on a second server that needs a token
const guarded = await startServer({ port: 0, home, log: () => {}, workers: 1, token: 'screenshot-token' });
const b2 = await launchChromium();
try {
  const page = await b2.newPage({ viewport: { width: 1280, height: 700 } });
  await page.goto(`${guarded.url}#/runs`);
  await page.waitForSelector('.dialog input');
  const file = path.join(out, '9-token-dialog.png');
  await page.screenshot({ path: file });
  shots.push(file);
  await page.fill('.dialog input', 'screenshot-token');
  await page.click('.dialog button[type=submit]');
  await page.waitForSelector('table.runs tbody tr[data-id]');
  say(`wrote ${file}; the token was accepted`);
} finally {
  await b2.close();
  await guarded.close();
}

console.log(`\n${shots.length} screenshots in ${out}`);
if (consoleErrors.length) console.log(`console errors (${consoleErrors.length}):\n  ${consoleErrors.join('\n  ')}`);
else console.log('no console errors');
if (keep) console.log(`home kept: ${home}`);
else fs.rmSync(tmp, { recursive: true, force: true });
