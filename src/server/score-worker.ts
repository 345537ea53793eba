/**
 * A scoring process of `anogen serve` (started by ./pool.ts with child_process.fork; never
 * imported by the server itself). It loads bundles on demand into an LRU cache and scores
 * uploaded image bytes with src/pipeline/score.ts's openScoringModel / scoreBatch / mapPngs
 * after src/data's decodeImageBytes + preprocessImage: the same decode, transforms, model and
 * normalisation as `anogen score`, so the numbers agree.
 *
 * Messages: in `{ type: 'score', id, bundle, images: [{ name, data }], maps }`; out
 * `{ type: 'ready' }` once, then `{ type: 'result', id, ok: true, value }` or
 * `{ type: 'result', id, ok: false, status, error }` per job. It exits when the server's IPC
 * channel closes (the server stopped or died).
 */
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError, cat, dispose, setNumThreads, type Tensor } from '../core/index.js';
import '../detectors/index.js';
import { decodeImageBytes, preprocessImage } from '../data/index.js';
import { mapPngs, openScoringModel, scoreBatch, type ScoringModel } from '../pipeline/score.js';
import { pngDataUri } from '../eval/png.js';

/** A scoring job as the pool sends it. */
export interface ScoreJob {
  type: 'score';
  id: number;
  /** Absolute bundle folder. */
  bundle: string;
  images: { name: string; data: Uint8Array }[];
  /** Answer anomaly maps and overlays as PNG data URLs. */
  maps: boolean;
}

/** One image's answer (the `results` rows of POST /api/score). */
export interface ScoreResult {
  name: string;
  /** Raw A(x). */
  score: number;
  /** Normalised score (null when the bundle has no calibration). */
  normalized: number | null;
  /** normalized > Φ (null without calibration). */
  anomalous: boolean | null;
  /** Φ on the normalised scale (null without calibration). */
  threshold: number | null;
  /** The anomaly map as a heat-coloured PNG data URL (null without `maps=1` or when the detector has no maps). */
  map: string | null;
  /** The map laid over the preprocessed image, a PNG data URL (null like `map`). */
  overlay: string | null;
}

/** What a job answers. */
export interface ScoreAnswer {
  detector: string;
  threshold: number | null;
  /** The colour scale of the maps (0 .. the largest map value of this request), null without maps. */
  mapScale: { vmin: number; vmax: number } | null;
  results: ScoreResult[];
}

/** Images preprocessed and scored together. */
const BATCH = 64;

interface Cached {
  model: ScoringModel;
  stamp: string;
}

/** Loaded bundles, least recently used first. */
const cache = new Map<string, Cached>();
let cacheSize = Math.max(1, Number(process.env.ANOGEN_SERVE_BUNDLE_CACHE ?? 4) || 4);

/** What changes when a bundle is rewritten (calibrate, a new training into the same folder). */
function stampOf(bundle: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(path.join(bundle, 'config.json'));
  } catch (e) {
    throw new AnogenError(`bundle ${bundle}: cannot read its config.json (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); it was moved or removed`);
  }
  return `${st.mtimeMs}:${st.size}:${st.ino}`;
}

function getModel(bundle: string): ScoringModel {
  const stamp = stampOf(bundle);
  const hit = cache.get(bundle);
  if (hit !== undefined) {
    cache.delete(bundle);
    if (hit.stamp === stamp) {
      cache.set(bundle, hit);
      return hit.model;
    }
    hit.model.dispose();
  }
  const model = openScoringModel(bundle);
  cache.set(bundle, { model, stamp });
  while (cache.size > cacheSize) {
    const [oldest, c] = cache.entries().next().value as [string, Cached];
    cache.delete(oldest);
    c.model.dispose();
  }
  return model;
}

/** Decodes and preprocesses images[from, to) into one batch; a decode failure names the image. */
async function preprocess(model: ScoringModel, images: ScoreJob['images'], from: number, to: number): Promise<Tensor> {
  const xs: Tensor[] = [];
  try {
    for (let i = from; i < to; i++) {
      const im = images[i]!;
      const raw = await decodeImageBytes(Buffer.from(im.data.buffer, im.data.byteOffset, im.data.byteLength), im.name);
      xs.push(preprocessImage(raw, model.chain));
    }
    return xs.length === 1 ? xs.splice(0, 1)[0]! : cat(xs, 0);
  } finally {
    dispose(xs);
  }
}

/** Scores one job (see the module comment). */
export async function runJob(job: ScoreJob): Promise<ScoreAnswer> {
  const model = getModel(job.bundle);
  const wantMaps = job.maps && model.detector.producesMaps;
  const names = job.images.map((im) => im.name);
  const results: ScoreResult[] = [];
  const png: { map: string; overlay: string }[] = [];
  let vmax = 0;
  // Pass 1: scores (and the maps' largest value, for one colour scale over the request).
  // A request of one batch keeps its maps for the PNGs; a larger one scores again in pass 2.
  const single = job.images.length <= BATCH;
  let kept: { x: Tensor; maps: Tensor } | null = null;
  for (let i = 0; i < job.images.length; i += BATCH) {
    const to = Math.min(job.images.length, i + BATCH);
    const x = await preprocess(model, job.images, i, to);
    let maps: Tensor | null = null;
    try {
      const r = scoreBatch(model, x, names.slice(i, to), wantMaps);
      maps = r.maps;
      for (const row of r.rows) {
        results.push({ name: row.file, score: row.score, normalized: row.normalized, anomalous: row.anomalous, threshold: model.threshold, map: null, overlay: null });
      }
      if (maps !== null) vmax = Math.max(vmax, maps.max().item());
      if (single && maps !== null) {
        kept = { x, maps };
        maps = null;
      }
    } finally {
      if (kept?.x !== x) x.dispose();
      maps?.dispose();
    }
  }
  let mapScale: ScoreAnswer['mapScale'] = null;
  if (wantMaps) {
    mapScale = { vmin: 0, vmax: vmax > 0 ? vmax : 1 };
    const render = async (x: Tensor, maps: Tensor, n: number) => {
      for (let k = 0; k < n; k++) {
        const xi = x.select(0, k);
        const mi = maps.select(0, k);
        try {
          const p = await mapPngs(model, xi, mi, mapScale!);
          png.push({ map: pngDataUri(p.map), overlay: pngDataUri(p.overlay) });
        } finally {
          dispose([xi, mi]);
        }
      }
    };
    if (kept !== null) {
      try {
        await render(kept.x, kept.maps, job.images.length);
      } finally {
        dispose([kept.x, kept.maps]);
      }
    } else {
      for (let i = 0; i < job.images.length; i += BATCH) {
        const to = Math.min(job.images.length, i + BATCH);
        const x = await preprocess(model, job.images, i, to);
        try {
          const r = scoreBatch(model, x, names.slice(i, to), true);
          try {
            await render(x, r.maps!, to - i);
          } finally {
            r.maps?.dispose();
          }
        } finally {
          x.dispose();
        }
      }
    }
    png.forEach((p, k) => Object.assign(results[k]!, p));
  }
  return { detector: model.detector.name, threshold: model.threshold, mapScale, results };
}

/** The HTTP status of a failed job: a user-facing AnogenError (bad image, unusable bundle) is 422, anything else 500. */
function statusOf(e: unknown): number {
  return e instanceof AnogenError ? 422 : 500;
}

if (process.send !== undefined && process.env.ANOGEN_SERVE_WORKER === '1') {
  const threads = Number(process.env.ANOGEN_SERVE_THREADS ?? 0);
  if (Number.isSafeInteger(threads) && threads > 0) setNumThreads(threads);
  cacheSize = Math.max(1, Number(process.env.ANOGEN_SERVE_BUNDLE_CACHE ?? 4) || 4);
  let queue = Promise.resolve();
  process.on('message', (m: ScoreJob) => {
    if (m?.type !== 'score') return;
    queue = queue.then(async () => {
      try {
        const value = await runJob(m);
        process.send!({ type: 'result', id: m.id, ok: true, value });
      } catch (e) {
        process.send!({ type: 'result', id: m.id, ok: false, status: statusOf(e), error: String((e as Error)?.message ?? e).split('\n')[0] });
      }
    });
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', pid: process.pid });
}
