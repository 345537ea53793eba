/** `anogen score <bundle> <image|dir...> [--json|--csv]`: scores image files with a bundle's exact preprocessing. */
import { AnogenError, setNumThreads } from '../../core/index.js';
import { loadBundle } from '../../detectors/bundle.js';
import { parseArgs, type OptionSpec } from '../args.js';
import { listImageFiles, loadFiles, parseTransform } from '../images.js';

export const SCORE_SPECS: OptionSpec[] = [
  { name: 'json', type: 'bool', doc: 'print a JSON array (default: a table)' },
  { name: 'csv', type: 'bool', doc: 'print CSV (default: a table)' },
  { name: 'batch-size', type: 'int', min: 1, doc: 'images decoded and scored at a time (default 256)' },
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

/** Scores files with a bundle. */
export async function scoreFiles(bundle: string, paths: string[], batchSize = 256): Promise<ScoredFile[]> {
  const files = listImageFiles(paths);
  const { detector, config } = loadBundle(bundle);
  try {
    const t = parseTransform(config.transform, `bundle ${bundle}/config.json`);
    const out: ScoredFile[] = [];
    for (let i = 0; i < files.length; i += batchSize) {
      const chunk = files.slice(i, i + batchSize);
      const x = await loadFiles(chunk, t);
      try {
        const { scores } = detector.score(x, { maps: false });
        const cal = detector.calibration;
        const normed = cal ? detector.normalise(scores) : null;
        chunk.forEach((file, k) =>
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
  const rows = await scoreFiles(positionals[0], positionals.slice(1), (opts.batchSize as number) ?? 256);
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
