/**
 * `anogen sample <bundle> [--n 64] [--seed 0] [--nrow 8] [--class C] [--out samples.png]`: a PNG grid of
 * samples of a generator bundle (src/pipeline/generate.ts); the same seed writes a
 * byte-identical file.
 */
import { AnogenError, setNumThreads } from '../../core/index.js';
import { sampleToFile } from '../../pipeline/generate.js';
import { optionsHelp, parseArgs, type OptionSpec } from '../args.js';
import { checkOutputPath } from '../paths.js';
import { stdout } from '../io.js';
import { DEVICE_SPEC, deviceOption } from './train.js';

/** Options of `anogen sample`. */
export const SAMPLE_SPECS: OptionSpec[] = [
  { name: 'n', type: 'int', min: 1, max: 10000, doc: 'number of samples (default 64)' },
  { name: 'seed', type: 'int', min: 0, max: 2 ** 31 - 1, doc: 'seed of the latent codes: the same seed gives the same grid (default 0)' },
  { name: 'nrow', type: 'int', min: 1, max: 1000, doc: 'images per row (default 8)' },
  { name: 'out', type: 'string', doc: 'PNG file to write (default samples.png)' },
  {
    name: 'input',
    type: 'string',
    doc: "translation models (pix2pix, cyclegan): translate these images, comma-separated files or folders, preprocessed as the training images; rows of inputs and outputs (default: the model's seeded probe images)",
  },
  { name: 'class', type: 'int', min: 0, max: 100000, doc: 'conditional generators (cgan): sample this class (default: one row per class)' },
  { name: 'threads', type: 'int', min: 1, max: 1024, doc: 'libtorch threads (default: all cores)' },
  DEVICE_SPEC,
];

/** `anogen help sample`. */
export const SAMPLE_HELP = `anogen sample <bundle> [options]\n\nWrites a PNG grid of samples of a generator bundle (anogen train <generator>).\n\n${optionsHelp(SAMPLE_SPECS)}\n`;

/** `anogen sample`. */
export async function sampleCommand(argv: string[]): Promise<number> {
  const { positionals, opts } = parseArgs(argv, SAMPLE_SPECS, 'sample');
  if (positionals.length !== 1) throw new AnogenError(`anogen sample: expected one bundle folder, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  if (typeof opts.threads === 'number') setNumThreads(opts.threads);
  const out = (opts.out as string | undefined) ?? 'samples.png';
  if (!/\.png$/i.test(out)) throw new AnogenError(`--out ${out}: expected a .png file name`);
  checkOutputPath(out, '--out', 'file');
  const r = await sampleToFile({
    bundle: positionals[0]!,
    out,
    n: opts.n as number | undefined,
    seed: opts.seed as number | undefined,
    nrow: opts.nrow as number | undefined,
    class: opts.class as number | undefined,
    ...(opts.input !== undefined
      ? {
          inputs: String(opts.input)
            .split(',')
            .map((f) => f.trim()),
        }
      : {}),
    device: deviceOption(opts),
  });
  stdout(`${r.out}\n`);
  return 0;
}
