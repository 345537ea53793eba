/**
 * The scoring workflow (`anogen score <bundle> <image|dir...>`, the server): image files
 * scored with a bundle's exact preprocessing (its transform chain applied by src/data's
 * preprocessFile, the same call a library user makes, so the numbers agree), flagged against
 * the bundle's Φ (or a threshold given for this run), optionally with anomaly maps as PNGs.
 */
import path from 'node:path';
import fs from 'node:fs';
import { AnogenError, dispose, resolveDevice, type DeviceSpec, type Tensor } from '../core/index.js';
import { NeuralDetector } from '../detectors/neural.js';
import { loadBundle, requireTransforms } from '../detectors/bundle.js';
import { NonFiniteScoreError, type Calibration, type Detector } from '../detectors/api.js';
import { fixedRunThreshold } from './calibrate.js';
import { heatmapToPng, overlayToPng } from '../eval/png.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { listImageFiles, preprocessFiles } from './data.js';
import type { TransformChain } from '../data/index.js';

/** One scored file. */
export interface ScoredFile {
  file: string;
  /** Raw A(x). */
  score: number;
  /** Score normalised with the validation statistics (null without calibration). */
  normalized: number | null;
  /** True when normalized > Φ (null without calibration). */
  anomalous: boolean | null;
  /** The anomaly map PNGs written for this file (with `maps`). */
  map?: { map: string; overlay: string };
}

/** Options of {@link scoreFiles}. */
export interface ScoreFilesOptions {
  /** Images decoded and scored at a time (default 256). */
  batchSize?: number;
  /** Skip files that fail to decode, listing them in `skipped` (default false: stop with an error). */
  skipBad?: boolean;
  /** Φ for this run only: 'fixed:<value>' on the normalised scale (default: the bundle's Φ). */
  threshold?: string;
  /** Device to score on: 'auto' (default: CUDA when available), 'cpu', 'cuda' or 'cuda:N' (see resolveDevice); scores and maps come back to the CPU. */
  device?: DeviceSpec;
  /** Folder to write each file's anomaly map (`<name>.map.png`) and overlay (`<name>.overlay.png`) into (default none). */
  maps?: string;
}

/** What {@link scoreFiles} returns. */
export interface ScoreRun {
  rows: ScoredFile[];
  /** Φ used (normalised scale), or null without calibration. */
  threshold: number | null;
  /** Files left out because they failed to decode (with skipBad). */
  skipped: string[];
  /** The colour scale of the maps written (map value at the top of the scale), when `maps`. */
  mapScale?: { vmin: number; vmax: number };
}

/** Φ for a scoring run: the user's `fixed:<v>` or the bundle's. */
function runThreshold(cal: Calibration | null, spec: string | undefined, bundle: string): number | null {
  if (spec === undefined) return cal ? cal.threshold.value : null;
  const phi = fixedRunThreshold(spec, bundle, 'score');
  if (cal === null) throw new AnogenError(`bundle ${bundle}: no calibration (normalisation) stored, so a normalised Φ cannot be applied; calibrate it first (anogen calibrate)`);
  return phi;
}

/**
 * A bundle opened for scoring: the detector (weights and calibration) on its device, the
 * bundle's preprocessing chain and the Φ in use. Shared by {@link scoreFiles} and the
 * server's scoring workers, so both compute the same numbers. The caller disposes it.
 */
export interface ScoringModel {
  /** The bundle folder as given. */
  bundle: string;
  detector: Detector;
  /** The bundle's transform chain (decode, then this, then the detector). */
  chain: TransformChain;
  /** Φ used (normalised scale), or null without calibration. */
  threshold: number | null;
  /** The detector's input pixel range, for overlays. */
  range: '[-1,1]' | '[0,1]';
  /** Frees the detector's tensors. */
  dispose(): void;
}

/** Options of {@link openScoringModel}. */
export interface OpenScoringOptions {
  /** Device to score on (default 'auto'; see resolveDevice). */
  device?: DeviceSpec;
  /** Φ for this run only: 'fixed:<value>' on the normalised scale (default: the bundle's Φ). */
  threshold?: string;
}

/** Loads a bundle for scoring (see {@link ScoringModel}). */
export function openScoringModel(bundle: string, opts: OpenScoringOptions = {}): ScoringModel {
  const device = resolveDevice(opts.device ?? 'auto', 'device');
  const loaded = loadBundle(bundle);
  const { detector } = loaded;
  try {
    if (detector instanceof NeuralDetector) detector.to(device);
    const chain = requireTransforms(loaded, bundle);
    const threshold = runThreshold(detector.calibration, opts.threshold, bundle);
    const range = detector.input.range[0] < 0 ? '[-1,1]' : '[0,1]';
    return { bundle, detector, chain, threshold, range, dispose: () => detector.dispose() };
  } catch (e) {
    detector.dispose();
    throw e;
  }
}

/**
 * Scores one preprocessed batch x [N, C, H, W] whose images are named `names`: a row per
 * image (raw score, normalised score, flag at the model's Φ) and, when `wantMaps` and the
 * detector produces them, the anomaly maps [N, ...] (the caller disposes them).
 * A non-finite score is an AnogenError naming the image.
 */
export function scoreBatch(model: ScoringModel, x: Tensor, names: string[], wantMaps: boolean): { rows: ScoredFile[]; maps: Tensor | null } {
  const { detector, bundle } = model;
  let r;
  try {
    r = detector.score(x, { maps: wantMaps && detector.producesMaps });
  } catch (e) {
    if (e instanceof NonFiniteScoreError) throw new AnogenError(`bundle ${bundle}: ${e.message}; image: ${names[e.positions[0]!]}`);
    throw e;
  }
  try {
    const phi = model.threshold;
    const normed = detector.calibration ? detector.normalize(r.scores) : null;
    const rows = names.map((file, k) => ({
      file,
      score: r.scores[k]!,
      normalized: normed ? normed[k]! : null,
      anomalous: normed && phi !== null ? normed[k]! > phi : null,
    }));
    return { rows, maps: r.maps ?? null };
  } catch (e) {
    r.maps?.dispose();
    throw e;
  }
}

/** The map PNG (heat colours) and the overlay PNG (map over the image) of one image xi [C, H, W] and its map, on one colour scale. */
export async function mapPngs(model: ScoringModel, xi: Tensor, map: Tensor, scale: { vmin: number; vmax: number }): Promise<{ map: Buffer; overlay: Buffer }> {
  return { map: await heatmapToPng(map, scale), overlay: await overlayToPng(xi, map, { ...scale, range: model.range }) };
}

/** Scores files with a bundle. */
export async function scoreFiles(bundle: string, paths: string[], opts: ScoreFilesOptions = {}): Promise<ScoreRun> {
  const batchSize = opts.batchSize ?? 256;
  const files = listImageFiles(paths);
  if (opts.maps !== undefined && fs.existsSync(opts.maps) && !fs.statSync(opts.maps).isDirectory()) {
    throw new AnogenError(`--maps ${opts.maps}: exists and is not a folder`);
  }
  const model = openScoringModel(bundle, { device: opts.device, threshold: opts.threshold });
  try {
    const phi = model.threshold;
    const rows: ScoredFile[] = [];
    const skipped: string[] = [];
    const wantMaps = opts.maps !== undefined && model.detector.producesMaps;
    let vmax = 0;
    const pass = async (write: ((file: string, x: Tensor, map: Tensor) => Promise<void>) | null) => {
      for (let i = 0; i < files.length; i += batchSize) {
        const { x, kept, bad } = await preprocessFiles(files.slice(i, i + batchSize), model.chain, opts.skipBad);
        if (write === null) skipped.push(...bad);
        if (x === null) continue;
        try {
          const r = scoreBatch(model, x, kept, wantMaps);
          try {
            if (write !== null) {
              for (let k = 0; k < kept.length; k++) {
                const xi = x.select(0, k);
                const mi = r.maps!.select(0, k);
                try {
                  await write(kept[k]!, xi, mi);
                } finally {
                  dispose([xi, mi]);
                }
              }
              continue;
            }
            if (r.maps) vmax = Math.max(vmax, r.maps.max().item());
            rows.push(...r.rows);
          } finally {
            r.maps?.dispose();
          }
        } finally {
          x.dispose();
        }
      }
    };
    await pass(null);
    const run: ScoreRun = { rows, threshold: phi, skipped };
    if (wantMaps && rows.length > 0) {
      // Second pass: one colour scale for the whole run (0 .. the largest map value).
      const dir = opts.maps!;
      fs.mkdirSync(dir, { recursive: true });
      const scale = { vmin: 0, vmax: vmax > 0 ? vmax : 1 };
      const byFile = new Map(rows.map((r) => [r.file, r]));
      const used = new Set<string>();
      await pass(async (file, x, map) => {
        let base = path.basename(file).replace(/\.[^.]+$/, '');
        for (let j = 2; used.has(base); j++) base = `${path.basename(file).replace(/\.[^.]+$/, '')}-${j}`;
        used.add(base);
        const m = path.join(dir, `${base}.map.png`);
        const o = path.join(dir, `${base}.overlay.png`);
        const png = await mapPngs(model, x, map, scale);
        writeFileAtomic(m, png.map);
        writeFileAtomic(o, png.overlay);
        const row = byFile.get(file);
        if (row) row.map = { map: m, overlay: o };
      });
      writeJsonAtomic(path.join(dir, 'scale.json'), { ...scale, note: 'colour scale of every map in this folder: map value vmin -> dark, vmax -> bright' });
      run.mapScale = scale;
    }
    return run;
  } finally {
    model.dispose();
  }
}
