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
import { NonFiniteScoreError, type Calibration } from '../detectors/api.js';
import { fixedRunThreshold } from './calibrate.js';
import { heatmapToPng, overlayToPng } from '../eval/png.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { listImageFiles, preprocessFiles } from './data.js';

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

/** Scores files with a bundle. */
export async function scoreFiles(bundle: string, paths: string[], opts: ScoreFilesOptions = {}): Promise<ScoreRun> {
  const batchSize = opts.batchSize ?? 256;
  const files = listImageFiles(paths);
  if (opts.maps !== undefined && fs.existsSync(opts.maps) && !fs.statSync(opts.maps).isDirectory()) {
    throw new AnogenError(`--maps ${opts.maps}: exists and is not a folder`);
  }
  const device = resolveDevice(opts.device ?? 'auto', 'device');
  const loaded = loadBundle(bundle);
  const { detector } = loaded;
  try {
    if (detector instanceof NeuralDetector) detector.to(device);
    const chain = requireTransforms(loaded, bundle);
    const cal = detector.calibration;
    const phi = runThreshold(cal, opts.threshold, bundle);
    const rows: ScoredFile[] = [];
    const skipped: string[] = [];
    const wantMaps = opts.maps !== undefined && detector.producesMaps;
    let vmax = 0;
    const pass = async (write: ((file: string, x: Tensor, map: Tensor) => Promise<void>) | null) => {
      for (let i = 0; i < files.length; i += batchSize) {
        const { x, kept, bad } = await preprocessFiles(files.slice(i, i + batchSize), chain, opts.skipBad);
        if (write === null) skipped.push(...bad);
        if (x === null) continue;
        try {
          let r;
          try {
            r = detector.score(x, { maps: wantMaps });
          } catch (e) {
            if (e instanceof NonFiniteScoreError) throw new AnogenError(`bundle ${bundle}: ${e.message}; image: ${kept[e.positions[0]!]}`);
            throw e;
          }
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
            const normed = cal ? detector.normalize(r.scores) : null;
            kept.forEach((file, k) =>
              rows.push({ file, score: r.scores[k]!, normalized: normed ? normed[k]! : null, anomalous: normed && phi !== null ? normed[k]! > phi : null }),
            );
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
        writeFileAtomic(m, await heatmapToPng(map, scale));
        writeFileAtomic(o, await overlayToPng(x, map, { ...scale, range: detector.input.range[0] < 0 ? '[-1,1]' : '[0,1]' }));
        const row = byFile.get(file);
        if (row) row.map = { map: m, overlay: o };
      });
      writeJsonAtomic(path.join(dir, 'scale.json'), { ...scale, note: 'colour scale of every map in this folder: map value vmin -> dark, vmax -> bright' });
      run.mapScale = scale;
    }
    return run;
  } finally {
    detector.dispose();
  }
}
