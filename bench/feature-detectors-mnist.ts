/**
 * MNIST one-vs-rest AUROC of the feature-space detectors (ocsvm, gaussian), digit by digit,
 * through the CLI commands the READMEs state (run in this process):
 *
 *   anogen train <detector> --data mnist --protocol one-vs-rest --normal D --epochs 1
 *     --image-size S --train-limit N --seed 0 --out <tmp>/D [--features bundle --backbone B/config.json] [extra...]
 *   anogen eval <tmp>/D --no-floors --no-report
 *
 * and prints the test AUROC of each digit and their mean (test = the whole 10,000-image test split).
 *
 *   node --import tsx bench/feature-detectors-mnist.ts --detector ocsvm [--size 28] [--train 1000]
 *        [--digits 0,1,...,9] [--extra "--nu 0.1"] [--backbone-dir <folder with D/config.json per digit>]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { main } from '../src/cli/main.js';

const { values: o } = parseArgs({
  options: {
    detector: { type: 'string', default: 'ocsvm' },
    size: { type: 'string', default: '28' },
    train: { type: 'string', default: '1000' },
    digits: { type: 'string', default: '0,1,2,3,4,5,6,7,8,9' },
    extra: { type: 'string', default: '' },
    'backbone-dir': { type: 'string' },
  },
});
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `anogen-bench-${o.detector}-`));
const rows: [string, number, number][] = [];
for (const d of o.digits!.split(',')) {
  const out = path.join(tmp, d);
  const backbone = o['backbone-dir'] !== undefined ? ['--features', 'bundle', '--backbone', path.join(o['backbone-dir'], d, 'config.json')] : [];
  const extra = o.extra!.split(' ').filter(Boolean);
  const t0 = performance.now();
  const args = [
    'train',
    o.detector!,
    '--data',
    'mnist',
    '--protocol',
    'one-vs-rest',
    '--normal',
    d,
    '--epochs',
    '1',
    '--image-size',
    o.size!,
    '--train-limit',
    o.train!,
    '--seed',
    '0',
    '--out',
    out,
    '--quiet',
    ...backbone,
    ...extra,
  ];
  if ((await main(args)) !== 0) throw new Error(`anogen ${args.join(' ')} failed`);
  if ((await main(['eval', out, '--no-floors', '--no-report'])) !== 0) throw new Error(`anogen eval ${out} failed`);
  const r = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as { metrics: { auroc: number } };
  const secs = (performance.now() - t0) / 1000;
  rows.push([d, r.metrics.auroc, secs]);
  console.error(`digit ${d}: AUROC ${r.metrics.auroc.toFixed(4)} (${secs.toFixed(1)} s train + eval)`);
}
const mean = rows.reduce((a, r) => a + r[1], 0) / rows.length;
console.log(`${o.detector} ${o.extra} size ${o.size} train ${o.train}${o['backbone-dir'] ? ` backbone ${o['backbone-dir']}` : ''}`);
console.log(`| digit | ${rows.map((r) => r[0]).join(' | ')} | mean |`);
console.log(`| AUROC | ${rows.map((r) => r[1].toFixed(3)).join(' | ')} | ${mean.toFixed(3)} |`);
fs.rmSync(tmp, { recursive: true, force: true });
