/**
 * GANomaly results on MNIST (one-vs-rest and leave-one-out, every digit) and ELPV, beside
 * the PCA and kNN floors on the same split, with a small budget (2 shared cores).
 *
 *   node --import tsx bench/ganomaly-mnist.ts [--protocols one-vs-rest,leave-one-out,elpv]
 *        [--train-limit 1000] [--epochs 2] [--ngf 32] [--test-limit 2000] [--out runs/bench-ganomaly]
 *
 * Appends one JSON line per run to <out>/results.jsonl and prints a table at the end.
 */
import fs from 'node:fs';
import path from 'node:path';
import '../src/detectors/index.js';
import { train } from '../src/pipeline/train.js';
import { evaluate } from '../src/pipeline/evaluate.js';

const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const protocols = opt('protocols', 'one-vs-rest,leave-one-out,elpv').split(',');
const trainLimit = Number(opt('train-limit', '1000'));
const epochs = Number(opt('epochs', '2'));
const ngf = Number(opt('ngf', '32'));
const testLimit = Number(opt('test-limit', '2000'));
const digits = opt('digits', '0,1,2,3,4,5,6,7,8,9').split(',');
const out = opt('out', 'runs/bench-ganomaly');
const elpv = opt('elpv', '../shared/data/elpv');
fs.mkdirSync(out, { recursive: true });
const log = () => {};

async function one(
  name: string,
  data: { data: string; protocol: 'one-vs-rest' | 'leave-one-out' | 'folder'; normal?: string; abnormal?: string },
  imageSize: number,
  limit?: number,
) {
  const dir = path.join(out, name);
  const t0 = performance.now();
  const tr = await train(
    {
      detector: 'ganomaly',
      data: { ...data, seed: 0, valFraction: 0.1 },
      epochs,
      imageSize,
      trainLimit: limit,
      valLimit: 1000,
      out: dir,
      hparams: { ngf, ndf: ngf },
      force: true,
    },
    { log },
  );
  tr.detector.dispose();
  const ev = await evaluate({ bundle: dir, testLimit, json: path.join(dir, 'results.json'), report: null, floors: true }, log);
  const row = {
    name,
    auroc: ev.results.metrics.auroc,
    pca: ev.results.floors!.pca.auroc,
    knn: ev.results.floors!.knn.auroc,
    trainImages: tr.report.steps > 0 ? (tr.meta.training as { trainImages: number }).trainImages : 0,
    testImages: ev.results.testImages,
    imagesPerSecond: tr.report.imagesPerSecond,
    seconds: (performance.now() - t0) / 1000,
  };
  fs.appendFileSync(path.join(out, 'results.jsonl'), `${JSON.stringify(row)}\n`);
  console.log(
    `${name.padEnd(24)} GANomaly ${row.auroc.toFixed(3)}  PCA ${row.pca.toFixed(3)}  kNN ${row.knn.toFixed(3)}  (${row.imagesPerSecond.toFixed(1)} img/s, ${row.seconds.toFixed(0)} s)`,
  );
}

for (const p of protocols) {
  if (p === 'elpv') {
    if (!fs.existsSync(elpv)) {
      console.log(`elpv: ${elpv} not found, skipped`);
      continue;
    }
    await one('elpv-64', { data: elpv, protocol: 'folder' }, 64);
    continue;
  }
  for (const d of digits) {
    const data = p === 'one-vs-rest' ? { data: 'mnist', protocol: p, normal: d } : { data: 'mnist', protocol: 'leave-one-out' as const, abnormal: d };
    await one(`mnist-${p}-${d}`, data as never, 32, trainLimit);
  }
}
