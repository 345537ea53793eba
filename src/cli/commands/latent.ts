/**
 * `anogen latent <interpolate | arithmetic | manifold> <bundle> [options]`: the latent-space
 * tools of src/models/latent.ts as PNG files (a fixed seed writes a byte-identical file).
 *
 * - `interpolate <bundle>`: rows of images between pairs of prior codes (spherical or linear);
 *   takes a generator bundle (anogen train <generator>; unconditional) or a VAE detector bundle.
 * - `arithmetic <vae bundle> --data D --from A --to B`: class-mean difference of the VAE's
 *   posterior means (DCGAN's smile vector): rows x, decode(mu(x)), decode(mu(x) + mean_B - mean_A)
 *   for n training images x of class A; the means over `--per-class` seeded training images of
 *   each class, preprocessed by the bundle's own transform chain.
 * - `manifold <bundle>`: a grid of decodings over Gaussian quantiles of a 2-D latent (a VAE or a
 *   generator trained with --nz 2), as Kingma & Welling's figure 4.
 *
 * A verb of its own (not `anogen sample` options) because two of the three tools take VAE
 * detector bundles, which `anogen sample` refuses, and each tool has its own options.
 */
import { AnogenError, noGrad, resolveDevice, setNumThreads, tensor, tidy, type Tensor } from '../../core/index.js';
import { loadBundle, requireTransforms } from '../../detectors/bundle.js';
import { Vae } from '../../detectors/vae/detector.js';
import { fixedNormals } from '../../detectors/vae/loss.js';
import { generatorCodec, interpolationStrip, latentArithmetic, manifoldGrid, tilePng, INTERPOLATION_MODES, type InterpolationMode, type LatentCodec } from '../../models/latent.js';
import { generatorTrainSplit, isGeneratorBundle, loadGeneratorBundle } from '../../pipeline/generate.js';
import { loadSubset } from '../../pipeline/data.js';
import { writeFileAtomic } from '../../util/fs.js';
import { optionsHelp, parseArgs, type OptionSpec } from '../args.js';
import { checkOutputPath } from '../paths.js';
import { stdout } from '../io.js';
import { DEVICE_SPEC, deviceOption } from './train.js';

/** The tools of `anogen latent`. */
export const LATENT_TOOLS = ['interpolate', 'arithmetic', 'manifold'] as const;

const COMMON: OptionSpec[] = [
  { name: 'out', type: 'string', doc: 'PNG file to write (default <tool>.png)' },
  { name: 'threads', type: 'int', min: 1, max: 1024, doc: 'libtorch threads (default: all cores)' },
  DEVICE_SPEC,
];

/** Options of each tool. */
export const LATENT_SPECS: Record<(typeof LATENT_TOOLS)[number], OptionSpec[]> = {
  interpolate: [
    { name: 'seed', type: 'int', min: 0, max: 2 ** 31 - 1, doc: "seed of the endpoint codes (the model's prior codes of this seed) (default 0)" },
    { name: 'pairs', type: 'int', min: 1, max: 100, doc: 'rows: pairs of endpoint codes (default 4)' },
    { name: 'steps', type: 'int', min: 2, max: 100, doc: 'images per row, endpoints included (default 10)' },
    { name: 'mode', type: 'string', values: INTERPOLATION_MODES, doc: "path: 'spherical' (slerp) or 'linear' (default spherical)" },
    ...COMMON,
  ],
  arithmetic: [
    { name: 'data', type: 'string', doc: "class-labelled data: 'mnist', 'fashion-mnist' or an IDX folder (required)" },
    { name: 'from', type: 'string', doc: 'class A (name or index) whose images are moved (required)' },
    { name: 'to', type: 'string', doc: 'class B (name or index) they are moved towards (required)' },
    { name: 'per-class', type: 'int', min: 1, max: 100000, doc: 'training images per class for the class-mean codes (default 200)' },
    { name: 'n', type: 'int', min: 1, max: 1000, doc: 'images of class A shown (default 8)' },
    { name: 'seed', type: 'int', min: 0, max: 2 ** 31 - 1, doc: 'seed of the image subsets (default 0)' },
    ...COMMON,
  ],
  manifold: [{ name: 'grid', type: 'int', min: 2, max: 100, doc: 'grid size n: n x n images (default 20)' }, ...COMMON],
};

/** `anogen help latent`. */
export const LATENT_HELP = `anogen latent <tool> <bundle> [options]

Latent-space tools (PNG output; the same options write a byte-identical file):
  interpolate <bundle>   images between pairs of prior codes (generator or VAE bundle)
  arithmetic <vae bundle> --data D --from A --to B
                         decode(mu(x) + mean_B - mean_A) for images x of class A (DCGAN's smile vector)
  manifold <bundle>      decodings over Gaussian quantiles of a 2-D latent (train with --nz 2)

interpolate:
${optionsHelp(LATENT_SPECS.interpolate)}
arithmetic:
${optionsHelp(LATENT_SPECS.arithmetic)}
manifold:
${optionsHelp(LATENT_SPECS.manifold)}
`;

/** A VAE detector as a latent codec: prior codes from its JS sampler, posterior means as codes. */
export function vaeCodec(vae: Vae): LatentCodec {
  const nz = vae.hparams.nz;
  return {
    name: 'vae',
    nz,
    range: vae.input.range,
    decode: (z) => {
      vae.nets.eval();
      return noGrad(() => tidy(() => vae.nets.decode(z.to(vae.device)).cpu()));
    },
    prior: (n, seed) => tensor(fixedNormals(n, nz, seed), { shape: [n, nz] }),
    encode: (x) => noGrad(() => tidy(() => vae.features(x).cpu())),
  };
}

interface Opened {
  codec: LatentCodec;
  /** The VAE bundle's transform chain (arithmetic). */
  vaeBundle?: ReturnType<typeof loadBundle>;
  dispose(): void;
}

function openCodec(dir: string, tool: string, device: ReturnType<typeof resolveDevice>): Opened {
  if (isGeneratorBundle(dir)) {
    const { model } = loadGeneratorBundle(dir);
    model.to(device);
    return { codec: generatorCodec(model), dispose: () => model.dispose() };
  }
  const b = loadBundle(dir);
  if (!(b.detector instanceof Vae)) {
    b.detector.dispose();
    throw new AnogenError(`anogen latent ${tool}: ${dir} is a ${b.config.detector} detector bundle; expected a generator bundle or a vae bundle`);
  }
  b.detector.to(device);
  return { codec: vaeCodec(b.detector), vaeBundle: b, dispose: () => b.detector.dispose() };
}

async function classImages(data: string, cls: string, limit: number, seed: number, chain: ReturnType<typeof requireTransforms>): Promise<Tensor> {
  const { split } = generatorTrainSplit({ data, classes: [cls], seed });
  const { batch } = await loadSubset(split, chain, limit, seed);
  batch.y.dispose();
  batch.mask?.dispose();
  return batch.x;
}

/** `anogen latent`. */
export async function latentCommand(argv: string[]): Promise<number> {
  const tool = argv[0];
  if (tool === undefined || !(LATENT_TOOLS as readonly string[]).includes(tool)) {
    throw new AnogenError(`anogen latent: expected a tool, one of ${LATENT_TOOLS.join(', ')}; got ${tool === undefined ? 'none' : JSON.stringify(tool)} (anogen help latent)`);
  }
  const t = tool as (typeof LATENT_TOOLS)[number];
  const { positionals, opts } = parseArgs(argv.slice(1), LATENT_SPECS[t], `latent ${t}`);
  if (positionals.length !== 1) throw new AnogenError(`anogen latent ${t}: expected one bundle folder, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  if (typeof opts.threads === 'number') setNumThreads(opts.threads);
  const out = (opts.out as string | undefined) ?? `${t}.png`;
  if (!/\.png$/i.test(out)) throw new AnogenError(`--out ${out}: expected a .png file name`);
  checkOutputPath(out, '--out', 'file');
  if (t === 'arithmetic') {
    for (const k of ['data', 'from', 'to']) if (opts[k] === undefined) throw new AnogenError(`anogen latent arithmetic: --${k} is required`);
  }
  const device = resolveDevice(deviceOption(opts) ?? 'auto', 'device');
  const o = openCodec(positionals[0]!, t, device);
  const held: Tensor[] = [];
  try {
    const { codec } = o;
    let png: Buffer;
    let note = '';
    if (t === 'interpolate') {
      const steps = (opts.steps as number | undefined) ?? 10;
      const x = interpolationStrip(codec, {
        seed: (opts.seed as number | undefined) ?? 0,
        pairs: (opts.pairs as number | undefined) ?? 4,
        steps,
        mode: (opts.mode as InterpolationMode | undefined) ?? 'spherical',
      });
      held.push(x);
      png = await tilePng(x, steps, codec.range);
    } else if (t === 'manifold') {
      const n = (opts.grid as number | undefined) ?? 20;
      const x = manifoldGrid(codec, n);
      held.push(x);
      png = await tilePng(x, n, codec.range);
    } else {
      if (o.vaeBundle === undefined)
        throw new AnogenError(`anogen latent arithmetic: needs a vae bundle (an encoder for the codes of real images); ${positionals[0]} is a generator bundle`);
      const chain = requireTransforms(o.vaeBundle, positionals[0]!);
      const seed = (opts.seed as number | undefined) ?? 0;
      const per = (opts.perClass as number | undefined) ?? 200;
      const n = (opts.n as number | undefined) ?? 8;
      const a = await classImages(opts.data as string, opts.from as string, Math.max(per, n), seed, chain);
      held.push(a);
      const b = await classImages(opts.data as string, opts.to as string, per, seed, chain);
      held.push(b);
      const x = a.narrow(0, 0, Math.min(n, a.shape[0]!));
      held.push(x);
      const am = a.narrow(0, 0, Math.min(per, a.shape[0]!));
      held.push(am);
      const r = latentArithmetic(codec, am, b, x);
      held.push(r.images);
      png = await tilePng(r.images, x.shape[0]!, codec.range);
      note = ` (|mean_to - mean_from| = ${r.norm.toFixed(3)})`;
    }
    writeFileAtomic(out, png);
    stdout(`${out}${note}\n`);
    return 0;
  } finally {
    for (const x of held) x.dispose();
    o.dispose();
  }
}
