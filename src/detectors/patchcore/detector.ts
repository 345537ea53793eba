/**
 * PatchCore (Roth, Pemula, Zepeda, Schölkopf, Brox & Gehler, 2022, "Towards Total Recall in
 * Industrial Anomaly Detection"): a memory bank of the training images' patch features, a test
 * patch's score is the distance to its nearest neighbour in the bank, the image's score the
 * worst patch's, and the map the patch scores at their places. Fitted in one pass (no training
 * loop). See ./README.md.
 *
 * Patch features, from one of two sources (`features`):
 * - `backbone` (the paper): the chosen stages of a torchvision ResNet whose weights the user gives
 *   (default layer2 + layer3), each averaged over `neighbourhood` x `neighbourhood` neighbourhoods
 *   (the paper's local aggregation, default 3), upsampled to the first stage's size and
 *   concatenated (../features/backbone.ts, `maps`): one patch per position of that map, D = the
 *   stages' channels (the paper further reduces D by adaptive average pooling; anogen keeps every
 *   channel).
 * - `pixels` (default, needs no weights): the p x p pixel patches at stride s
 *   (`patchSize`, `patchStride`; D = C·p·p), which with `positionAware` is exactly the
 *   position-aware patch kNN floor of src/eval/floors.ts.
 *
 * Bank: every training patch (position-agnostic, the paper: one bank of P·N patches), or with
 * `positionAware` one bank per position (a test patch at (i, j) compared with the training
 * patches at (i, j) only: for aligned images such as solar cells). `coreset` < 1 keeps that
 * fraction of each bank by the paper's greedy k-center coreset (Sener & Savarese, 2018), selected
 * on a seeded Johnson-Lindenstrauss projection to `coresetDims` dimensions (start: a seeded random
 * patch; then repeatedly the patch farthest from those kept).
 *
 * Score: s_q(x) = min_m ‖x_q - b_m‖₂ over the bank (of position q with `positionAware`);
 * A(x) = max_q s_q(x). (The paper's reweighting of the maximum by the density around its
 * neighbour is not applied: A(x) is the plain maximum, as anomalib's default.) Map: each s_q over
 * the pixels its patch covers (mean where patches overlap; with backbone maps one value per map
 * cell), resized bilinearly to the input size (the paper's final Gaussian blur is not applied).
 * Distances are computed as ‖a‖² + ‖b‖² − 2a·b in float64, in blocks.
 */
import { AnogenError, callOp, cat, noGrad, tensor, tidy, type Tensor } from '../../core/index.js';
import { wrap } from '../../core/tensor.js';
import * as F from '../../nn/functional.js';
import { fillNormals, mulberry32 } from '../../data/random.js';
import { registerDetector } from '../registry.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../schema.js';
import { FeatureDetector, type FittedFeatures } from '../features/detector.js';
import { BACKBONE_SCHEMA, checkBackboneHParams, type BackboneHParams } from '../features/backbone.js';
import { patchGrid, patchGridSchema, patchesOf, patchMaps, type PatchGeometry } from '../features/patch-grid.js';

/** PatchCore's feature sources. */
export const PATCHCORE_FEATURES = ['pixels', 'backbone'] as const;
/** One PatchCore feature source. */
export type PatchcoreFeatures = (typeof PATCHCORE_FEATURES)[number];

/** Most float64 distance values held at once while scoring or selecting a coreset (2^24 = 16 M, 128 MiB). */
export const PATCHCORE_BLOCK_VALUES = 2 ** 24;

/** PatchCore's hyperparameters (the paper's defaults where it has them). */
export const PATCHCORE_SCHEMA = {
  isize: { type: 'int', default: 32, min: 2, max: 1024, doc: 'input image size (square)' },
  nc: { type: 'int', default: 1, min: 1, max: 3, doc: 'image channels' },
  features: {
    type: 'enum',
    default: 'pixels',
    values: PATCHCORE_FEATURES,
    doc: "patch features: 'pixels' (p x p pixel patches, see patch-size; needs no weights) or 'backbone' (the paper: a torchvision ResNet's stage maps, see backbone-weights and neighbourhood)",
  },
  ...patchGridSchema('with --features pixels'),
  neighbourhood: {
    type: 'int',
    default: 3,
    min: 1,
    max: 15,
    doc: "with --features backbone: each stage's map averaged over this many cells per side around each position (odd; the paper's local aggregation, 3; 1 = none)",
  },
  positionAware: {
    type: 'bool',
    default: false,
    doc: 'compare a test patch only with the training patches at the same position (one bank per position: for aligned images such as solar cells); false = one bank of every training patch (the paper)',
  },
  coreset: {
    type: 'number',
    default: 1,
    min: 1e-6,
    max: 1,
    doc: "fraction of each bank kept by greedy k-center coreset selection (the paper's 0.1 or 0.01 on large banks; selection costs about fraction x bank² x coreset-dims operations); 1 = every patch (exact nearest neighbour)",
  },
  coresetDims: {
    type: 'int',
    default: 128,
    min: 0,
    max: 100000,
    doc: 'coreset selection runs on a seeded random projection of the patch features to this many dimensions (0 or >= D: on the features themselves)',
  },
  coresetSeed: { type: 'int', default: 0, min: 0, max: 2 ** 31 - 1, doc: 'seed of the coreset projection and of its first patch' },
  maxTrain: {
    type: 'int',
    default: 10000,
    min: 0,
    max: 1000000,
    doc: 'fit on at most this many training images, a seeded subsample (the bank holds P x images x D float64 values before the coreset; 0 = all)',
  },
  ...BACKBONE_SCHEMA,
} satisfies HParamSchema;

/** PatchCore hyperparameters (see {@link PATCHCORE_SCHEMA}). */
export interface PatchcoreHParams extends BackboneHParams {
  /** Input image size (default 32). */
  isize: number;
  /** Image channels (default 1). */
  nc: number;
  /** Patch features (default 'pixels'). */
  features: PatchcoreFeatures;
  /** With 'pixels': patch side (default 8). */
  patchSize: number;
  /** With 'pixels': step between patch origins (default 4). */
  patchStride: number;
  /** With 'backbone': local aggregation neighbourhood, odd (default 3). */
  neighbourhood: number;
  /** One bank per position (default false). */
  positionAware: boolean;
  /** Fraction of each bank kept by the coreset (default 1: all). */
  coreset: number;
  /** Projection dimensions of the coreset selection (default 128). */
  coresetDims: number;
  /** Seed of the coreset selection (default 0). */
  coresetSeed: number;
  /** Most training images (default 10,000; 0: all). */
  maxTrain: number;
  /** Unused (PatchCore has no 'bundle' source); always null. */
  backbone: string | null;
}

/** Every default. */
export const PATCHCORE_DEFAULTS = schemaDefaults(PATCHCORE_SCHEMA) as unknown as Omit<PatchcoreHParams, 'backbone'>;

/** Training options: one pass (epochs are ignored), feature batches of 64; no learning rate. */
export const PATCHCORE_TRAIN_DEFAULTS = { epochs: 1, batchSize: 64, lr: 0 };

/** Validates (partial) PatchCore hyperparameters and fills in the defaults. */
export function patchcoreHParams(h: Record<string, unknown> = {}): PatchcoreHParams {
  const p = resolveHParams(PATCHCORE_SCHEMA, h, 'patchcore') as unknown as PatchcoreHParams;
  checkBackboneHParams(p, 'patchcore');
  if (p.features === 'pixels') patchGrid(p.isize, p.nc, p.patchSize, p.patchStride, 'patchcore');
  if (p.neighbourhood % 2 === 0) throw new AnogenError(`patchcore neighbourhood: ${p.neighbourhood} is not valid; expected an odd integer in [1, 15] (default 3)`);
  return { ...p, backbone: null };
}

/** The fitted state: the memory banks. */
interface PatchcoreState {
  /** [B, M, D] float64: B = 1 (one bank) or P (one per position). */
  bank: Tensor;
}

/** The patches of a feature batch as [P, N, D] float64, and the grid they were cut on. */
interface Patches {
  patches: Tensor;
  grid: PatchGeometry;
}

/**
 * Squared distances to the nearest bank row, [B', R] float64, for queries [B', R, D] against banks
 * [B, M, D] (B' = B, or B = 1 shared by every query row), in blocks of at most
 * {@link PATCHCORE_BLOCK_VALUES} distances.
 */
export function nearestSquaredDistances(q: Tensor, bank: Tensor): Tensor {
  return noGrad(() =>
    tidy(() => {
      const [b, r] = [q.shape[0]!, q.shape[1]!];
      const [bb, m] = [bank.shape[0]!, bank.shape[1]!];
      const shared = bb === 1 && b > 1;
      const qs = shared ? q.reshape([1, b * r, q.shape[2]!]) : q;
      const rows = qs.shape[1]!;
      const bankT = bank.transpose(1, 2); // [B, D, M]
      const bankSq = bank.square().sum(2).unsqueeze(1); // [B, 1, M]
      const step = Math.max(1, Math.floor(PATCHCORE_BLOCK_VALUES / (qs.shape[0]! * m)));
      const parts: Tensor[] = [];
      for (let i = 0; i < rows; i += step) {
        // one scope per block: only the block's nearest distances outlive it
        parts.push(
          tidy(() => {
            const qc = qs.narrow(1, i, Math.min(step, rows - i));
            const d = wrap(callOp('aten::baddbmm', bankSq.handle, qc.handle, bankT.handle, 1, -2)); // ‖b‖² − 2 q·b, [B, c, M]
            return d.amin(2).add(qc.square().sum(2)).clamp(0, null);
          }),
        );
      }
      const all = parts.length === 1 ? parts[0]! : cat(parts, 1);
      return shared ? all.reshape([b, r]) : all;
    }),
  );
}

/**
 * Greedy k-center coreset of each bank row (PatchCore's Algorithm 1): the indices [B, k] of the
 * kept patches of banks [B, M, D], k = max(1, ceil(fraction · M)), selected on a seeded random
 * projection to `dims` dimensions (none when dims is 0 or >= D), starting from a seeded random
 * patch (the same index in every row) and adding, k - 1 times, the patch whose distance to the
 * nearest kept one is largest (the first such on ties).
 */
export function greedyCoreset(bank: Tensor, fraction: number, dims: number, seed: number): Tensor {
  const [b, m, d] = [bank.shape[0]!, bank.shape[1]!, bank.shape[2]!];
  const k = Math.max(1, Math.ceil(fraction * m));
  const rand = mulberry32(seed);
  return noGrad(() =>
    tidy(() => {
      let z = bank;
      if (dims > 0 && dims < d) {
        // a Gaussian random matrix from the seeded generator: distances are kept up to a factor, by Johnson-Lindenstrauss
        z = bank.matmul(tensor(fillNormals(new Float64Array(d * dims), rand), { shape: [d, dims] }));
      }
      const zd = z.shape[2]!;
      const start = Math.floor(rand() * m);
      const picked = new Int32Array(b * k);
      picked.fill(start);
      // squared distances to one centre per row as ‖z‖² − 2 z·c + ‖c‖² (one matrix-vector product per step, no [B, M, d] temporary)
      const zsq = z.square().sum(2); // [B, M]
      const toCenter = (idx: Tensor): Tensor => {
        const c = z.gather(1, idx.expand([b, 1, zd])); // [B, 1, d]
        const dots = z.bmm(c.transpose(1, 2)).squeeze(2); // [B, M]
        return zsq.sub(dots.mul(2)).add(c.square().sum(2)); // [B, M]
      };
      let minD = toCenter(tensor(new BigInt64Array(b).fill(BigInt(start)), { shape: [b, 1, 1] }));
      for (let t = 1; t < k; t++) {
        const next = tidy(() => {
          const idx = minD.argmax(1, true).unsqueeze(2); // [B, 1, 1]
          const at = idx.toFloat64Array();
          for (let r = 0; r < b; r++) picked[r * k + t] = at[r]!;
          return minD.minimum(toCenter(idx));
        });
        minD.dispose();
        minD = next;
      }
      return tensor(
        BigInt64Array.from(picked, (v) => BigInt(v)),
        { shape: [b, k] },
      );
    }),
  );
}

/** PatchCore as an anogen detector (see the module comment). */
export class Patchcore extends FeatureDetector<PatchcoreHParams, PatchcoreState> {
  readonly name = 'patchcore';
  override readonly producesMaps = true;
  protected readonly stateKeys = ['bank'] as const;
  /** With features 'pixels': the patch grid of the input (null with 'backbone', whose grid is the maps' own). */
  private readonly pixelGrid: PatchGeometry | null;

  /** Builds PatchCore from (partial) hyperparameters, validated against {@link PATCHCORE_SCHEMA}. */
  constructor(hparams: Partial<PatchcoreHParams> = {}) {
    const h = patchcoreHParams(hparams as Record<string, unknown>);
    super(h, 'patchcore', PATCHCORE_TRAIN_DEFAULTS.batchSize, h.features, h.features === 'backbone' ? h.neighbourhood : 0);
    this.pixelGrid = h.features === 'pixels' ? patchGrid(h.isize, h.nc, h.patchSize, h.patchStride, 'patchcore') : null;
  }

  /** The hyperparameters a bundle stores (those of the schema: `backbone` is not one; see FeatureDetector.config for the weights). */
  override config(): PatchcoreHParams {
    const { backbone: _none, ...rest } = super.config();
    return rest as PatchcoreHParams;
  }

  /** The fitted bank's shape: banks (1, or positions with positionAware), patches per bank, patch dimension (null before fit). */
  get bankShape(): { banks: number; patches: number; dim: number } | null {
    const s = this.state?.bank.shape;
    return s === undefined ? null : { banks: s[0]!, patches: s[1]!, dim: s[2]! };
  }

  /** The patches [P, N, D] of features [N, F] (pixels: the flattened images; backbone: the flattened maps). */
  private patchesOf(f: Tensor): Patches {
    const n = f.shape[0]!;
    let grid: PatchGeometry;
    if (this.pixelGrid !== null) grid = this.pixelGrid;
    else {
      const c = this.src.groups!.reduce((a, b) => a + b, 0);
      const side = Math.round(Math.sqrt(f.shape[1]! / c));
      if (side * side * c !== f.shape[1]) throw new AnogenError(`patchcore: backbone maps of ${f.shape[1]} values are not ${c} square channels`);
      grid = patchGrid(side, c, 1, 1, 'patchcore');
    }
    return { patches: patchesOf(f.reshape([n, -1]), grid), grid };
  }

  /** The bank of the training features: every patch (per position with positionAware), then the coreset. */
  protected fitFeatures(x: Tensor): FittedFeatures<PatchcoreState> {
    const h = this.hparams;
    const bank = noGrad(() =>
      tidy(() => {
        const { patches } = this.patchesOf(x);
        const [p, n, d] = [patches.shape[0]!, patches.shape[1]!, patches.shape[2]!];
        const all = h.positionAware ? patches : patches.transpose(0, 1).reshape([1, n * p, d]);
        if (h.coreset >= 1) return all.contiguous();
        const keep = greedyCoreset(all, h.coreset, h.coresetDims, h.coresetSeed);
        return all.gather(1, keep.unsqueeze(2).expand([all.shape[0]!, keep.shape[1]!, d])).contiguous();
      }),
    );
    return { state: { bank }, history: { banks: bank.shape[0]!, patches: bank.shape[1]!, dim: bank.shape[2]! } };
  }

  /** Distances [N, P] of every patch of a feature batch to its nearest bank patch, and the grid. */
  private distances(f: Tensor, st: PatchcoreState): { d: Tensor; grid: PatchGeometry } {
    const { patches, grid } = this.patchesOf(f);
    const b = st.bank.shape[0]!;
    if (st.bank.shape[2] !== grid.dim || (b !== 1 && b !== grid.positions)) {
      throw new AnogenError(
        `patchcore: the bank is [${st.bank.shape.join(', ')}], the images give ${grid.positions} patches of ${grid.dim} values; expected banks of ${grid.dim} values, 1 or ${grid.positions} of them`,
      );
    }
    return { d: nearestSquaredDistances(patches, st.bank).sqrt().t(), grid };
  }

  /** A(x) = the largest nearest-neighbour distance over the image's patches. */
  protected scoreFeatures(f: Tensor, st: PatchcoreState): Float64Array {
    return this.distances(f, st).d.amax(1).toFloat64Array();
  }

  /** The scores and the anomaly maps [n, 1, isize, isize] (patch distances at their places). */
  protected override scoreFeaturesWithMaps(f: Tensor, st: PatchcoreState): { scores: Float64Array; maps: Tensor } {
    const { d, grid } = this.distances(f, st);
    let maps = patchMaps(d, grid);
    const s = this.hparams.isize;
    if (grid.size !== s) maps = F.interpolate(maps, { size: s, mode: 'bilinear', alignCorners: false });
    return { scores: d.amax(1).toFloat64Array(), maps };
  }

  /** `bank` [B, M, D] float64. */
  protected stateTensors(st: PatchcoreState): [string, Tensor][] {
    return [['bank', st.bank.detach()]];
  }

  protected stateFromTensors(sd: Map<string, Tensor>): PatchcoreState {
    const bank = sd.get('bank')!;
    if (bank.ndim !== 3 || bank.shape[1]! < 1) throw new AnogenError(`patchcore state: expected bank [banks, patches, dim] with patches >= 1, got [${bank.shape.join(', ')}]`);
    const h = this.hparams;
    const g = this.pixelGrid;
    if (g !== null) {
      const want = h.positionAware ? g.positions : 1;
      if (bank.shape[0] !== want || bank.shape[2] !== g.dim) {
        throw new AnogenError(
          `patchcore state: expected bank [${want}, M, ${g.dim}] (${h.positionAware ? 'one bank per position' : 'one bank'} of ${h.patchSize} x ${h.patchSize} patches), got [${bank.shape.join(', ')}]`,
        );
      }
    }
    return { bank: bank.detach().clone() };
  }

  protected ownedTensors(st: PatchcoreState): Tensor[] {
    return [st.bank];
  }
}

registerDetector({
  name: 'patchcore',
  description:
    "PatchCore (Roth et al., 2022): memory bank of training patches (a ResNet's stage maps or pixel patches; optionally per position; greedy coreset), score = worst patch's nearest-neighbour distance, with anomaly maps",
  schema: PATCHCORE_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16, maxTrain: 64 },
  trainDefaults: PATCHCORE_TRAIN_DEFAULTS,
  lossDocs: {
    banks: 'memory banks (1, or one per patch position with positionAware)',
    patches: 'patches in each bank (after the coreset)',
    dim: 'values per patch feature',
  },
  create: (h) => new Patchcore(h as Partial<PatchcoreHParams>),
});
