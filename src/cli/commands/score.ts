/** `anogen score <bundle> <image|dir...>`: the command-line front of src/pipeline's scoreFiles. */
import { AnogenError, setNumThreads } from '../../core/index.js';
import { scoreFiles } from '../../pipeline/score.js';
import { parseArgs, type OptionSpec } from '../args.js';
import { checkOutputPath } from '../paths.js';
import { DEVICE_SPEC, deviceOption } from './train.js';
import { stdout } from '../io.js';

export const SCORE_SPECS: OptionSpec[] = [
  { name: 'json', type: 'bool', doc: 'print JSON: { threshold, images: [{ file, score, normalized, anomalous }] } (default: a table)' },
  { name: 'csv', type: 'bool', doc: 'print CSV (default: a table)' },
  { name: 'threshold', type: 'string', doc: "Φ for this run only, 'fixed:<value>' on the normalised scale (default: the bundle's Φ)" },
  { name: 'maps', type: 'string', doc: "write each image's anomaly map and its overlay as PNGs into this folder, one colour scale for the run (default none)" },
  { name: 'batch-size', type: 'int', min: 1, max: 65536, doc: 'images decoded and scored at a time (default 256)' },
  { name: 'skip-bad', type: 'bool', doc: 'skip images that fail to decode and report how many on stderr (default false: stop with an error)' },
  { name: 'threads', type: 'int', min: 1, max: 1024, doc: 'libtorch threads (default: all cores)' },
  { name: 'quiet', type: 'bool', doc: 'no messages on stderr, only the results (default false)' },
  DEVICE_SPEC,
];

const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** `anogen score`. */
export async function scoreCommand(argv: string[]): Promise<number> {
  const { positionals, opts } = parseArgs(argv, SCORE_SPECS, 'score');
  if (positionals.length < 2) throw new AnogenError('anogen score: expected a bundle folder and at least one image file or folder');
  if (opts.json && opts.csv) throw new AnogenError('anogen score: give --json or --csv, not both');
  if (typeof opts.threads === 'number') setNumThreads(opts.threads);
  if (typeof opts.maps === 'string') checkOutputPath(opts.maps, '--maps', 'folder');
  const run = await scoreFiles(positionals[0]!, positionals.slice(1), {
    batchSize: opts.batchSize as number | undefined,
    skipBad: opts.skipBad === true,
    threshold: opts.threshold as string | undefined,
    maps: opts.maps as string | undefined,
    device: deviceOption(opts),
  });
  const say = (s: string) => (opts.quiet ? undefined : process.stderr.write(`${s}\n`));
  if (run.skipped.length > 0) {
    say(`anogen score: skipped ${run.skipped.length} image(s) that failed to decode: ${run.skipped.slice(0, 5).join(', ')}${run.skipped.length > 5 ? ', ...' : ''}`);
  }
  if (run.threshold === null) say('anogen score: this bundle has no calibration, so scores are raw only (no normalised score, no flag); run anogen calibrate on it');
  if (run.mapScale) say(`anogen score: maps written to ${String(opts.maps)} (colour scale 0 .. ${run.mapScale.vmax.toPrecision(4)}, in scale.json)`);
  const rows = run.rows;
  if (opts.json) {
    stdout(`${JSON.stringify({ threshold: run.threshold, images: rows }, null, 2)}\n`);
  } else if (opts.csv) {
    stdout('file,score,normalized,anomalous\n');
    for (const r of rows) stdout(`${csvCell(r.file)},${r.score},${r.normalized ?? ''},${r.anomalous === null ? '' : r.anomalous}\n`);
  } else {
    const w = Math.max(4, ...rows.map((r) => r.file.length));
    stdout(
      `${'file'.padEnd(w)}  ${'score'.padStart(12)}  ${'normalized'.padStart(10)}  anomalous${run.threshold !== null ? ` (normalized > Φ = ${run.threshold.toPrecision(4)})` : ''}\n`,
    );
    for (const r of rows) {
      stdout(
        `${r.file.padEnd(w)}  ${r.score.toPrecision(6).padStart(12)}  ${(r.normalized === null ? '-' : r.normalized.toFixed(4)).padStart(10)}  ${r.anomalous === null ? '-' : r.anomalous ? 'yes' : 'no'}\n`,
      );
    }
  }
  return 0;
}
