/**
 * `anogen demo`: trains a small GANomaly on MNIST one-vs-rest (digit 0 normal by default),
 * evaluates it on the whole MNIST test split beside the PCA and kNN floors, writes the HTML
 * report and prints where it is and the AUROC. A few minutes on 2 cores.
 */
import path from 'node:path';
import { setNumThreads } from '../../core/index.js';
import { parseArgs, type OptionSpec } from '../args.js';
import { evaluate } from '../../pipeline/evaluate.js';
import { runTrainCommand } from './train.js';
import { stdout } from '../io.js';

/** The demo's budget (defaults chosen to finish in a few minutes on 2 cores). */
export const DEMO_DEFAULTS = { normal: '0', trainLimit: 1000, epochs: 2, imageSize: 32, ngf: 32, ndf: 32, testLimit: 2000, seed: 0 };

export const DEMO_SPECS: OptionSpec[] = [
  { name: 'normal', type: 'string', doc: `the normal MNIST digit (default ${DEMO_DEFAULTS.normal})` },
  { name: 'epochs', type: 'int', min: 1, doc: `training epochs (default ${DEMO_DEFAULTS.epochs})` },
  { name: 'train-limit', type: 'int', min: 1, doc: `training images (default ${DEMO_DEFAULTS.trainLimit})` },
  { name: 'test-limit', type: 'int', min: 1, doc: `test images scored (default ${DEMO_DEFAULTS.testLimit}; seeded subset of the 10,000)` },
  { name: 'seed', type: 'int', min: 0, doc: `seed (default ${DEMO_DEFAULTS.seed})` },
  { name: 'out', type: 'string', doc: 'bundle folder (default runs/demo; an earlier demo bundle there is replaced)' },
  { name: 'threads', type: 'int', min: 1, doc: 'libtorch threads (default: all cores)' },
];

/** `anogen demo`. */
export async function demoCommand(argv: string[]): Promise<number> {
  const { opts } = parseArgs(argv, DEMO_SPECS, 'demo');
  if (typeof opts.threads === 'number') setNumThreads(opts.threads);
  const out = (opts.out as string) ?? path.join('runs', 'demo');
  const seed = (opts.seed as number) ?? DEMO_DEFAULTS.seed;
  const normal = (opts.normal as string) ?? DEMO_DEFAULTS.normal;
  const t0 = performance.now();
  const testLimit = (opts.testLimit as number) ?? DEMO_DEFAULTS.testLimit;
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(
    `anogen demo: trains GANomaly on ${(opts.trainLimit as number) ?? DEMO_DEFAULTS.trainLimit} MNIST images of digit ${normal}, then scores ${testLimit} test images (every digit; ${normal} is normal, the rest anomalous)`,
  );
  const tr = await runTrainCommand({
    request: {
      detector: 'ganomaly',
      data: { data: 'mnist', protocol: 'one-vs-rest', normal, seed, valFraction: 0.1 },
      epochs: (opts.epochs as number) ?? DEMO_DEFAULTS.epochs,
      imageSize: DEMO_DEFAULTS.imageSize,
      trainLimit: (opts.trainLimit as number) ?? DEMO_DEFAULTS.trainLimit,
      valLimit: 2000,
      out,
      hparams: { ngf: DEMO_DEFAULTS.ngf, ndf: DEMO_DEFAULTS.ndf },
      force: true,
    },
    quiet: false,
  });
  tr.detector.dispose();
  const { results, report } = await evaluate(
    {
      bundle: out,
      testLimit,
      json: path.join(out, 'results.json'),
      csv: path.join(out, 'scores.csv'),
      report: path.join(out, 'report.html'),
      floors: true,
    },
    log,
  );
  const f = results.floors;
  stdout(
    `\nanogen demo: GANomaly on MNIST, digit ${normal} normal, the other digits anomalous (${results.testImages} test images)\n` +
      `AUROC ${results.metrics.auroc.toFixed(4)}` +
      (f ? `  (PCA floor ${f.pca.auroc.toFixed(4)}, kNN floor ${f.knn.auroc.toFixed(4)})` : '') +
      `\nbundle:  ${out}\nresults: ${path.join(out, 'results.json')}\n` +
      (report ? `report:  ${report}\n` : '') +
      `took ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
  );
  return 0;
}
