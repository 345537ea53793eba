/**
 * The evaluation's data for the dashboard: one JSON file ({@link EvalData}, written atomically)
 * plus PNGs (the most anomalous test images, their reconstructions and anomaly maps; the same
 * for the missed anomalies) in the sibling folder `<name>.files/` (for `eval-data.json`:
 * `eval-data.files/`).
 *
 * Everything comes from what `evaluate()` already computed in its one streaming pass (the
 * normalised scores, the kept top/missed images with their maps and reconstructions, the t-SNE
 * embedding): nothing is scored twice. The curves come from src/eval/metrics.ts (sklearn's
 * `roc_curve` / `precision_recall_curve`), downsampled for the browser.
 *
 * The PNG folder is replaced as a whole: the files are written into a temp folder
 * `.<name>.files.<pid>.<time>.tmp` beside it, which is then renamed into place (the previous
 * folder is first renamed aside and removed afterwards), so a crash never leaves a mix of two
 * evaluations' images; temp folders of dead processes are removed by the next write. The JSON
 * is written after the folder, so the images it names exist when it is read.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Tensor } from '../core/index.js';
import { AnogenError } from '../core/errors.js';
import { prCurve, rocCurve, type ScoreMetrics } from '../eval/metrics.js';
import { heatmapToPng, imageToPng, mapPlane, readImage, type PixelRange } from '../eval/png.js';
import { mulberry32 } from '../data/random.js';
import { describeFsError, writeFileAtomic } from '../util/fs.js';
import type { TopImages } from './types.js';

/** Most points kept of the ROC and of the PR curve (the first and last always kept). */
export const EVAL_DATA_CURVE_POINTS = 512;
/** Bins of the score histogram (over the normalised scores). */
export const EVAL_DATA_HISTOGRAM_BINS = 40;
/** Most per-image scores listed (a seeded subsample beyond that). */
export const EVAL_DATA_MAX_SCORES = 5000;

/** One image shown by the dashboard; `image`, `reconstruction`, `map` are file names inside `<name>.files/`. */
export interface EvalDataImage {
  name: string;
  /** Normalised score. */
  score: number;
  label: 0 | 1;
  image: string;
  /** null when the detector does not reconstruct. */
  reconstruction: string | null;
  /** null when the detector gives no anomaly maps. */
  map: string | null;
}

/** The dashboard's data of one evaluation (`eval-data.json`). */
export interface EvalData {
  version: 1;
  detector: string;
  /** Φ on the normalised scale (flag when score > Φ). */
  threshold: number;
  /** The same metrics as results.json. */
  metrics: ScoreMetrics;
  /** At most {@link EVAL_DATA_CURVE_POINTS} points, from (0, 0) to (1, 1). */
  roc: { fpr: number[]; tpr: number[] };
  /** At most {@link EVAL_DATA_CURVE_POINTS} points, recall decreasing (sklearn's order), ending at (0, 1). */
  pr: { recall: number[]; precision: number[] };
  /** Counts per class in {@link EVAL_DATA_HISTOGRAM_BINS} equal bins between the lowest and highest normalised score (`edges` has one more element). */
  histogram: { edges: number[]; normal: number[]; anomalous: number[] };
  /** Normalised scores, in test order; at most {@link EVAL_DATA_MAX_SCORES} (seeded subsample). */
  scores: { name: string; score: number; label: 0 | 1 }[];
  /** Number of scored test images (`scores` may hold fewer). */
  scoresTotal: number;
  tsne: { title: string; points: { x: number; y: number; label: 0 | 1 }[] } | null;
  /** The most anomalous test images, highest score first. */
  top: EvalDataImage[];
  /** Anomalous test images with the lowest scores, lowest first. */
  missed: EvalDataImage[];
  /** The folder of the PNGs, relative to the JSON file's folder (`<name>.files`). */
  files: string;
  /** Colour scale of every map PNG (heat colormap from vmin to vmax); null when there are no maps. */
  mapScale: { vmin: number; vmax: number } | null;
  /** Pixel range the images and reconstructions were mapped from to 0..255. */
  pixelRange: PixelRange;
}

/** What {@link writeEvalData} needs (all computed by evaluate's streaming pass). */
export interface EvalDataInput {
  /** The JSON file to write. */
  file: string;
  detector: string;
  threshold: number;
  metrics: ScoreMetrics;
  /** Normalised scores of every test image, their labels and names, in test order. */
  normed: ArrayLike<number>;
  labels: ArrayLike<number>;
  names: readonly string[];
  /** Kept images (with `reconstructions` when the detector reconstructs). */
  top: TopImages | null;
  missed: TopImages | null;
  /** The t-SNE embedding (N x 2 row-major) of the features sample, or null. */
  tsne: { title: string; coords: ArrayLike<number>; labels: ArrayLike<number> } | null;
  /** Pixel range of the images (default 'auto'). */
  pixelRange?: PixelRange;
  /** Seed of the scores subsample (default 0). */
  seed?: number;
}

/** The PNG folder of an eval-data JSON file: `<dir>/<name without its extension>.files` (`eval-data.json` → `eval-data.files`). */
export function evalDataFilesDir(file: string): string {
  const base = path.basename(file).replace(/(.)\.[^.]*$/, '$1');
  return path.join(path.dirname(path.resolve(file)), `${base}.files`);
}

/**
 * At most `max` points of a curve (parallel arrays), evenly spaced in index, the first and
 * last always kept. Curves already short enough are returned as they are.
 */
export function downsampleCurve(xs: readonly number[], ys: readonly number[], max = EVAL_DATA_CURVE_POINTS): { x: number[]; y: number[] } {
  if (xs.length !== ys.length) throw new AnogenError(`downsampleCurve: x and y differ in length (${xs.length} vs ${ys.length})`);
  if (!Number.isInteger(max) || max < 2) throw new AnogenError(`downsampleCurve: max ${max} is not valid; expected an integer >= 2`);
  const n = xs.length;
  if (n <= max) return { x: [...xs], y: [...ys] };
  const x: number[] = [];
  const y: number[] = [];
  let last = -1;
  for (let k = 0; k < max; k++) {
    const i = Math.round((k * (n - 1)) / (max - 1));
    if (i === last) continue;
    x.push(xs[i]!);
    y.push(ys[i]!);
    last = i;
  }
  return { x, y };
}

/** Counts per class of `scores` in `bins` equal bins from the lowest to the highest score (a single value gets a bin of width 1 around it). */
export function scoreHistogramCounts(scores: ArrayLike<number>, labels: ArrayLike<number>, bins = EVAL_DATA_HISTOGRAM_BINS): EvalData['histogram'] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) {
    lo = Number.isFinite(lo) ? lo - 0.5 : 0;
    hi = lo + 1;
  }
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, k) => (k === bins ? hi : lo + k * width));
  const normal = new Array<number>(bins).fill(0);
  const anomalous = new Array<number>(bins).fill(0);
  for (let i = 0; i < scores.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor((scores[i]! - lo) / width)));
    if (labels[i] === 1) anomalous[b]! += 1;
    else normal[b]! += 1;
  }
  return { edges, normal, anomalous };
}

/** Indices 0..n-1 of a seeded random subset of size min(n, max), in increasing order. */
export function subsampleIndices(n: number, max: number, seed: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const rnd = mulberry32(seed);
  const idx = Uint32Array.from({ length: n }, (_, i) => i);
  for (let k = 0; k < max; k++) {
    const j = k + Math.floor(rnd() * (n - k));
    const t = idx[k]!;
    idx[k] = idx[j]!;
    idx[j] = t;
  }
  return Array.from(idx.subarray(0, max)).sort((a, b) => a - b);
}

const label01 = (v: number | undefined): 0 | 1 => (v === 1 ? 1 : 0);

/** The largest finite value of the maps of these image sets (0 when none). */
function mapsMax(sets: (TopImages | null)[]): number {
  let vmax = 0;
  for (const t of sets) {
    if (!t?.maps) continue;
    for (let k = 0; k < t.scores.length; k++) {
      const m = t.maps.select(0, k);
      try {
        const { data, c, h, w } = readImage(m, 'anomaly map');
        for (const v of mapPlane(data, c, h, w)) if (Number.isFinite(v) && v > vmax) vmax = v;
      } finally {
        m.dispose();
      }
    }
  }
  return vmax;
}

/** PNGs of one image set into `dir` (file names `<prefix>-<k>.png`, `-reconstruction`, `-map`); the entries for the JSON. */
async function writeImages(
  dir: string,
  prefix: string,
  t: TopImages | null,
  range: PixelRange,
  vmax: number,
  put: (dir: string, name: string, png: Uint8Array) => void,
): Promise<EvalDataImage[]> {
  if (t === null) return [];
  const out: EvalDataImage[] = [];
  const digits = String(Math.max(1, t.scores.length - 1)).length;
  for (let k = 0; k < t.scores.length; k++) {
    const stem = `${prefix}-${String(k).padStart(Math.max(2, digits), '0')}`;
    const held: Tensor[] = [];
    try {
      const img = t.images.select(0, k);
      held.push(img);
      const entry: EvalDataImage = { name: t.names[k]!, score: t.scores[k]!, label: label01(t.labels[k]), image: `${stem}.png`, reconstruction: null, map: null };
      put(dir, entry.image, await imageToPng(img, range));
      if (t.reconstructions) {
        const r = t.reconstructions.select(0, k);
        held.push(r);
        entry.reconstruction = `${stem}-reconstruction.png`;
        put(dir, entry.reconstruction, await imageToPng(r, range));
      }
      if (t.maps) {
        const m = t.maps.select(0, k);
        held.push(m);
        entry.map = `${stem}-map.png`;
        put(dir, entry.map, await heatmapToPng(m, { vmin: 0, vmax: vmax > 0 ? vmax : 1 }));
      }
      out.push(entry);
    } finally {
      for (const h of held) h.dispose();
    }
  }
  return out;
}

/** Writes one file completely and fsyncs it (inside the private temp folder). */
function putFile(dir: string, name: string, data: Uint8Array): void {
  const fd = fs.openSync(path.join(dir, name), 'wx');
  try {
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** True when a process with this id exists. */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `.<base>.<pid>.<time>.(tmp|old)` folders beside `<base>` left by dead processes. */
function removeStaleFolders(parent: string, base: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return;
  }
  const prefix = `.${base}.`;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)\.\d+(?:\.\d+)?\.(tmp|old)$/.exec(name.slice(prefix.length));
    if (!m || alive(Number(m[1]))) continue;
    fs.rmSync(path.join(parent, name), { recursive: true, force: true });
  }
}

let seq = 0;

/**
 * Replaces folder `dir` by one holding the files `fill` writes, as a whole (see the module
 * comment). On a failure the previous folder is kept and the temp folder removed.
 */
export async function replaceFolder(dir: string, fill: (tmp: string, put: (dir: string, name: string, png: Uint8Array) => void) => Promise<void>): Promise<void> {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  const stamp = `${process.pid}.${Date.now()}.${++seq}`;
  const tmp = path.join(parent, `.${base}.${stamp}.tmp`);
  const old = path.join(parent, `.${base}.${stamp}.old`);
  try {
    fs.mkdirSync(parent, { recursive: true });
    removeStaleFolders(parent, base);
    fs.mkdirSync(tmp);
  } catch (e) {
    throw new AnogenError(`cannot write ${dir}: ${describeFsError(e)}`);
  }
  try {
    await fill(tmp, putFile);
    let moved = false;
    try {
      fs.renameSync(dir, old);
      moved = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      if (moved) fs.renameSync(old, dir); // put the previous version back
      throw e;
    }
    fs.rmSync(old, { recursive: true, force: true });
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (e instanceof AnogenError) throw e;
    throw new AnogenError(`cannot write ${dir}: ${describeFsError(e)} (the previous version is unchanged)`);
  }
}

/** The pixel range of a detector's declared input range. */
export function pixelRangeOf(range: readonly [number, number] | undefined): PixelRange {
  if (range?.[0] === -1 && range[1] === 1) return '[-1,1]';
  if (range?.[0] === 0 && range[1] === 1) return '[0,1]';
  return 'auto';
}

/**
 * Writes the dashboard's data of an evaluation: `a.file` (JSON, atomically) and its PNG
 * folder (replaced as a whole, before the JSON). Returns what was written.
 */
export async function writeEvalData(a: EvalDataInput): Promise<EvalData> {
  const n = a.normed.length;
  if (a.labels.length !== n || a.names.length !== n) {
    throw new AnogenError(`writeEvalData: ${n} scores, ${a.labels.length} labels and ${a.names.length} names differ in number`);
  }
  const roc = rocCurve(a.normed, a.labels);
  const pr = prCurve(a.normed, a.labels);
  const r = downsampleCurve(roc.fpr, roc.tpr);
  const p = downsampleCurve(pr.recall, pr.precision);
  const keep = subsampleIndices(n, EVAL_DATA_MAX_SCORES, a.seed ?? 0);
  const range = a.pixelRange ?? 'auto';
  const anyMaps = (a.top?.maps ?? a.missed?.maps ?? null) !== null;
  const vmax = anyMaps ? mapsMax([a.top, a.missed]) : 0;
  const dir = evalDataFilesDir(a.file);
  let top: EvalDataImage[] = [];
  let missed: EvalDataImage[] = [];
  await replaceFolder(dir, async (tmp, put) => {
    top = await writeImages(tmp, 'top', a.top, range, vmax, put);
    missed = await writeImages(tmp, 'missed', a.missed, range, vmax, put);
  });
  let tsne: EvalData['tsne'] = null;
  if (a.tsne) {
    const t = a.tsne;
    if (t.coords.length !== 2 * t.labels.length) throw new AnogenError(`writeEvalData: t-SNE has ${t.coords.length / 2} points but ${t.labels.length} labels`);
    tsne = { title: t.title, points: Array.from({ length: t.labels.length }, (_, i) => ({ x: t.coords[2 * i]!, y: t.coords[2 * i + 1]!, label: label01(t.labels[i]) })) };
  }
  const data: EvalData = {
    version: 1,
    detector: a.detector,
    threshold: a.threshold,
    metrics: a.metrics,
    roc: { fpr: r.x, tpr: r.y },
    pr: { recall: p.x, precision: p.y },
    histogram: scoreHistogramCounts(a.normed, a.labels),
    scores: keep.map((i) => ({ name: a.names[i]!, score: a.normed[i]!, label: label01(a.labels[i]) })),
    scoresTotal: n,
    tsne,
    top,
    missed,
    files: path.basename(dir),
    mapScale: anyMaps ? { vmin: 0, vmax: vmax > 0 ? vmax : 1 } : null,
    pixelRange: range,
  };
  // JSON.stringify writes non-finite numbers (none expected) as null, as results.json does.
  writeFileAtomic(a.file, `${JSON.stringify(data)}\n`);
  return data;
}
