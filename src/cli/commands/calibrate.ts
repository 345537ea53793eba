/** `anogen calibrate <bundle> --threshold ...`: the command-line front of src/pipeline's calibrate. */
import { AnogenError, setNumThreads } from '../../core/index.js';
import { NORMALIZATION_KINDS } from '../../eval/normalize.js';
import { calibrate, DEFAULT_VAL_LIMIT, type CalibrateRequest } from '../../pipeline/calibrate.js';
import { describeCalibration } from '../../pipeline/describe.js';
import { optionsHelp, parseArgs, type OptionSpec } from '../args.js';
import { stdout } from '../io.js';

/** The options of `anogen calibrate` (each doc line names its default). */
export const CALIBRATE_SPECS: OptionSpec[] = [
  {
    name: 'threshold',
    type: 'string',
    doc: "Φ: 'percentile[:q]' of the validation normals (q default 95), 'f1-max' on labelled validation data (--val-dir), or 'fixed:<value>' on the normalised scale (required)",
  },
  {
    name: 'normalization',
    type: 'string',
    values: NORMALIZATION_KINDS,
    doc: "score normalisation refitted on validation normals (default: the bundle's, 'minmax' when it has none)",
  },
  {
    name: 'val-dir',
    type: 'string',
    doc: "labelled validation folder (MVTec layout, or good/ + one folder per anomaly type) (default: the bundle's validation split, rebuilt from its protocol)",
  },
  { name: 'val-limit', type: 'int', min: 1, doc: `use at most N validation images (default: the bundle's training --val-limit, ${DEFAULT_VAL_LIMIT})` },
  { name: 'data', type: 'string', doc: 'where the training data is now, when it moved after training (default: the path recorded in the bundle)' },
  { name: 'batch-size', type: 'int', min: 1, max: 65536, doc: 'validation images scored at a time (default 256)' },
  { name: 'threads', type: 'int', min: 1, max: 1024, doc: 'libtorch threads (default: all cores)' },
  { name: 'quiet', type: 'bool', doc: 'print only the new Φ (default false)' },
];

/** Help of `anogen calibrate`. */
export const CALIBRATE_HELP = `anogen calibrate <bundle> --threshold <percentile[:q] | f1-max | fixed:<value>> [options]

Refits the bundle's score normalisation and Φ on validation data (the bundle's own validation
split rebuilt from its protocol, or a labelled --val-dir; never the test split) and writes the
bundle again, atomically, with only its calibration changed. Works on a finished bundle and on
a checkpoint folder (<out>/checkpoint), which stays resumable.

${optionsHelp(CALIBRATE_SPECS)}
`;

/** Parses `anogen calibrate` argv into a request. */
export function parseCalibrate(argv: string[]): CalibrateRequest & { quiet: boolean } {
  const { positionals, opts } = parseArgs(argv, CALIBRATE_SPECS, 'calibrate');
  if (positionals.length !== 1) throw new AnogenError(`anogen calibrate: expected one bundle folder, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  if (typeof opts.threshold !== 'string') {
    throw new AnogenError("anogen calibrate: --threshold is required: 'percentile[:q]' (e.g. percentile:99), 'f1-max' (with --val-dir) or 'fixed:<value>' (e.g. fixed:0.7)");
  }
  if (typeof opts.threads === 'number') setNumThreads(opts.threads);
  return {
    bundle: positionals[0]!,
    threshold: opts.threshold,
    normalization: opts.normalization as CalibrateRequest['normalization'],
    valDir: opts.valDir as string | undefined,
    valLimit: opts.valLimit as number | undefined,
    data: opts.data as string | undefined,
    batchSize: opts.batchSize as number | undefined,
    quiet: opts.quiet === true,
  };
}

/** `anogen calibrate`: prints the new Φ in words on stdout (the old one on stderr unless --quiet). */
export async function calibrateCommand(argv: string[]): Promise<number> {
  const req = parseCalibrate(argv);
  const log = req.quiet ? undefined : (s: string) => process.stderr.write(`${s}\n`);
  const r = await calibrate(req, log);
  log?.(r.previous ? `before: ${describeCalibration(r.previous)}` : 'before: no calibration');
  stdout(`${r.description}\nbundle: ${r.bundle}\n`);
  return 0;
}
