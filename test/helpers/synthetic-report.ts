// Synthetic inputs for the HTML report (src/eval/report.ts): images made with the core tensor
// API, a ring "digit" for normals and a ring plus a bright patch for anomalies, reconstructions
// without the patch and |x − x̂| maps, scores with a chosen anomaly rate, two floors, GANomaly-
// like losses with their explanations, and features for t-SNE. Used by the report's browser
// test and by scripts/report-screenshots.ts.
import { manualSeed, rand, randn, tensor, tidy, type Tensor } from '../../src/core/index.js';
import type { ReportInput, ReportSample } from '../../src/eval/report.js';
import { mulberry32 } from '../../src/data/random.js';

/** Options of {@link syntheticReport}. */
export interface SyntheticReportOptions {
  /** Test images (default 400). */
  n?: number;
  /** Fraction of anomalous test images (default 0.5). */
  anomalyRate?: number;
  /** Side of the square images in px (default 64). */
  size?: number;
  /** Channels of the images, 1 or 3 (default 1). */
  channels?: 1 | 3;
  /** Images per grid (default 16). */
  maxSamples?: number;
  /** Points of the embedding (default 300; given as ready coordinates, no t-SNE run). */
  embeddingPoints?: number;
  /** Seed of torch and of the JS-side numbers (default 7). */
  seed?: number;
}

/** A small deterministic PRNG for the JS-side numbers (the data layer's mulberry32). */
const prng = mulberry32;

/** The report's input, plus the tensors it holds (dispose them after rendering). */
export function syntheticReport(opts: SyntheticReportOptions = {}): { input: ReportInput; tensors: Tensor[] } {
  const n = opts.n ?? 400;
  const rate = opts.anomalyRate ?? 0.5;
  const size = opts.size ?? 64;
  const ch = opts.channels ?? 1;
  const max = opts.maxSamples ?? 16;
  const seed = opts.seed ?? 7;
  manualSeed(seed);
  const r = prng(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

  const nAnom = Math.round(n * rate);
  const labels = Uint8Array.from({ length: n }, (_, i) => (i < nAnom ? 1 : 0));
  // anomalies score higher on average, with overlap (AUROC about 0.9)
  const scores = Float64Array.from(labels, (l) => (l ? 1.6 : 0) + gauss());
  const floors = {
    'PCA (floor)': Float64Array.from(labels, (l) => (l ? 0.8 : 0) + gauss()),
    knn: Float64Array.from(labels, (l) => (l ? 1.1 : 0) + gauss()),
  };
  // Φ at the 95th percentile of the normal scores, as a validation fit would give
  const normals = Array.from(scores.filter((_, i) => labels[i] === 0)).sort((a, b) => a - b);
  const threshold = normals.length ? normals[Math.floor(0.95 * (normals.length - 1))]! : 1;

  const tensors: Tensor[] = [];
  const ring = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - size / 2 + 0.5, y - size / 2 + 0.5) / (size / 2);
      ring[y * size + x] = Math.exp(-(((d - 0.55) / 0.12) ** 2)) * 2 - 1; // [-1, 1]
    }
  }
  const ringT = tensor(ring, { shape: [1, size, size] });
  tensors.push(ringT);
  const makeSample = (k: number, score: number, label: number): ReportSample => {
    const [img, rec, map] = tidy(() => {
      let x = ringT.add(randn([1, size, size]).mul(0.08));
      if (label === 1) {
        // a bright patch somewhere: the anomaly
        const p = new Float32Array(size * size);
        const s = Math.max(3, Math.round(size / 5));
        const px = Math.floor(r() * (size - s)),
          py = Math.floor(r() * (size - s));
        for (let y = py; y < py + s; y++) for (let xx = px; xx < px + s; xx++) p[y * size + xx] = 1.6;
        x = x.add(tensor(p, { shape: [1, size, size] }));
      }
      x = x.clamp(-1, 1);
      const xh = ringT.add(rand([1, size, size]).sub(0.5).mul(0.1)).clamp(-1, 1);
      const m = x.sub(xh).abs();
      const img3 = ch === 3 ? x.expand([3, size, size]).contiguous() : x;
      const rec3 = ch === 3 ? xh.expand([3, size, size]).contiguous() : xh;
      return [img3, rec3, m];
    }) as [Tensor, Tensor, Tensor];
    tensors.push(img, rec, map);
    return { image: img, reconstruction: rec, map, score, label, caption: `test/${label ? 'anomalous' : 'good'}/img_${String(k).padStart(4, '0')}.png` };
  };
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const samples = order.slice(0, max).map((i) => makeSample(i, scores[i]!, labels[i]!));
  const missed = order
    .filter((i) => labels[i] === 1)
    .slice(-max)
    .map((i) => makeSample(i, scores[i]!, 1));
  const mostNormal = order.slice(-max).map((i) => makeSample(i, scores[i]!, labels[i]!));

  // GANomaly-like loss history, 120 steps
  const steps = 120;
  const decay = (a: number, b: number, k: number): number[] => Array.from({ length: steps }, (_, i) => b + (a - b) * Math.exp(-i / k) + 0.03 * a * gauss());
  const losses = { g: decay(60, 8, 25), d: decay(1.4, 0.5, 40), adv: decay(2, 0.6, 30), con: decay(50, 6, 20), enc: decay(3, 0.3, 30) };
  const lossDocs = { g: 'generator total', d: 'discriminator BCE', adv: 'adversarial feature matching', con: 'contextual L1 |x − x̂|', enc: 'latent L2 |z − ẑ|' };

  // an embedding with points far outside the bulk (the case that drew points outside the frame)
  const m = opts.embeddingPoints ?? 300;
  const coords = new Float64Array(2 * m);
  const embLabels = new Uint8Array(m);
  for (let i = 0; i < m; i++) {
    const l = i < m * rate ? 1 : 0;
    embLabels[i] = l;
    coords[2 * i] = (l ? 6 : -6) + 4 * gauss();
    coords[2 * i + 1] = (l ? 3 : -3) + 4 * gauss();
  }
  coords[0] = 30; // outliers at the edges
  coords[3] = -22;

  return {
    input: {
      title: `synthetic report: ${size} px images, ${Math.round(rate * 100)}% anomalous`,
      info: { detector: 'ganomaly', dataset: 'synthetic', protocol: 'one-class', seed, epochs: 15, 'test images': n, bundle: 'runs/synthetic/bundle' },
      modelName: 'ganomaly',
      scores,
      labels,
      threshold,
      floors,
      losses,
      lossDocs,
      samples,
      missed,
      mostNormal,
      maxSamples: max,
      pixelRange: '[-1,1]',
      embedding: { coords, labels: embLabels, labelNames: { 0: 'normal', 1: 'anomalous' }, title: 't-SNE of discriminator features (test images)' },
    },
    tensors,
  };
}
