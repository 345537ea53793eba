/**
 * `anogen score <bundle> <image|dir...> [--json|--csv]`: scores image files with a bundle's
 * exact preprocessing: the bundle's transform chain (src/data fromConfig) applied by
 * src/data's preprocessFile, the same call a library user makes, so the numbers agree.
 */
import { AnogenError, setNumThreads } from '../../core/index.js';
import { loadBundle, requireTransforms } from '../../detectors/bundle.js';
import { parseArgs, type OptionSpec } from '../args.js';
import { listImageFiles, preprocessFiles } from '../images.js';

export const SCORE_SPECS: OptionSpec[] = [
  { name: 'json', type: 'bool', doc: 'print a JSON array (default: a table)' },
  { name: 'csv', type: 'bool', doc: 'print CSV (default: a table)' },
  { name: 'batch-size', type: 'int', min: 1, doc: 'images decoded and scored at a time (default 256)' },
  { name: 'skip-bad', type: 'bool', doc: 'skip images that fail to decode and report how many on stderr (default false: stop with an error)' },
  { name: 'threads', type: 'int', min: 1, doc: 'libtorch threads (default: all cores)' },
];

/** One scored file. */
export interface ScoredFile {
  file: string;
  /** Raw A(x). */
  score: number;
  /** Score normalised with the validation statistics (null without calibration). */
  normalized: number | null;
  /** 1 when normalized > Phi (null without calibration). */
  anomalous: 0 | 1 | null;
}

/** Scores files with a bundle; with `skipBad`, undecodable files are left out and listed in `skipped`. */
export async function scoreFiles(bundle: string, paths: string[], batchSize = 256, opts: { skipBad?: boolean } = {}): Promise<ScoredFile[] & { skipped?: string[] }> {
  const files = listImageFiles(paths);
  const loaded = loadBundle(bundle);
  const { detector } = loaded;
  try {
    const chain = requireTransforms(loaded, bundle);
    const out: ScoredFile[] & { skipped?: string[] } = [];
    const skipped: string[] = [];
    for (let i = 0; i < files.length; i += batchSize) {
      const { x, kept, bad } = await preprocessFiles(files.slice(i, i + batchSize), chain, opts.skipBad);
      skipped.push(...bad);
      if (x === null) continue;
      try {
        const { scores } = detector.score(x, { maps: false });
        const cal = detector.calibration;
        const normed = cal ? detector.normalise(scores) : null;
        kept.forEach((file, k) =>
          out.push({
            file,
            score: scores[k],
            normalized: normed ? normed[k] : null,
            anomalous: normed && cal ? (normed[k] > cal.threshold.value ? 1 : 0) : null,
          }),
        );
      } finally {
        x.dispose();
      }
    }
    if (skipped.length > 0) out.skipped = skipped;
    return out;
  } finally {
    detector.dispose();
  }
}

const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** `anogen score`. */
export async function scoreCommand(argv: string[]): Promise<number> {
  const { positionals, opts } = parseArgs(argv, SCORE_SPECS, 'score');
  if (positionals.length < 2) throw new AnogenError('anogen score: expected a bundle folder and at least one image file or folder');
  if (opts.json && opts.csv) throw new AnogenError('anogen score: give --json or --csv, not both');
  if (typeof opts.threads === 'number') setNumThreads(opts.threads);
  const rows = await scoreFiles(positionals[0], positionals.slice(1), (opts.batchSize as number) ?? 256, { skipBad: opts.skipBad === true });
  if (rows.skipped) {
    process.stderr.write(`anogen score: skipped ${rows.skipped.length} image(s) that failed to decode: ${rows.skipped.slice(0, 5).join(', ')}${rows.skipped.length > 5 ? ', ...' : ''}\n`);
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  } else if (opts.csv) {
    process.stdout.write('file,score,normalized,anomalous\n');
    for (const r of rows) process.stdout.write(`${csvCell(r.file)},${r.score},${r.normalized ?? ''},${r.anomalous ?? ''}\n`);
  } else {
    const w = Math.max(4, ...rows.map((r) => r.file.length));
    process.stdout.write(`${'file'.padEnd(w)}  ${'score'.padStart(12)}  ${'normalized'.padStart(10)}  anomalous\n`);
    for (const r of rows) {
      process.stdout.write(
        `${r.file.padEnd(w)}  ${r.score.toPrecision(6).padStart(12)}  ${(r.normalized === null ? '-' : r.normalized.toFixed(4)).padStart(10)}  ${r.anomalous === null ? '-' : r.anomalous ? 'yes' : 'no'}\n`,
      );
    }
  }
  return 0;
}
