/**
 * Model bundles: a folder holding
 * - `model.safetensors`: every weight and buffer under PyTorch's dotted names;
 * - `config.json`: the detector and its hyperparameters, the data transform chain (src/data's
 *   serialisable TransformConfig[], under `transforms`), the normalisation statistics and
 *   threshold (fitted on validation data), the data protocol, the training options, the
 *   anogen version and the SHA-256 of the weights file.
 * Loading rebuilds exactly the same pre- and post-processing (the chain is compiled with
 * src/data's fromConfig), so scores are identical: `preprocessFile(file, bundle.transforms)`
 * then `detector.score(x)` is what `anogen score` does.
 * Both files are written atomically (weights first, then the config that names them).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError, type Tensor } from '../core/index.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import type { Calibration, Detector } from './api.js';
import { parseCalibration } from '../eval/threshold.js';
import { createDetector, detectorNames } from './registry.js';
import { deserializeSafetensors, serializeSafetensors } from '../nn/safetensors.js';
import { ANOGEN_VERSION } from './version.js';
import { fromConfig, TransformChain, type TransformConfig } from '../data/transforms.js';

/** Format tag of config.json. */
export const BUNDLE_FORMAT = 'anogen-bundle';
/** Current bundle format version (2: the preprocessing is src/data's transform chain, `transforms`). */
export const BUNDLE_FORMAT_VERSION = 2;

/** Extra information stored in a bundle beside the model itself. */
export interface BundleMeta {
  /**
   * The data transform chain (src/data TransformConfig[] or a compiled chain), replayed when
   * scoring image files (default none: the bundle can then score tensors only).
   */
  transforms?: TransformConfig[] | TransformChain;
  /** Data source and protocol the model was trained with (dataset, protocol, classes, seed...). */
  protocol?: unknown;
  /** Training options (epochs, batch size, lr, seed, time...). */
  training?: unknown;
}

/** config.json of a bundle. */
export interface BundleConfig extends Omit<BundleMeta, 'transforms'> {
  /** The transform chain as JSON (absent when the bundle was saved without one). */
  transforms?: TransformConfig[];
  format: typeof BUNDLE_FORMAT;
  formatVersion: number;
  anogenVersion: string;
  detector: string;
  hparams: Record<string, unknown>;
  calibration: Calibration | null;
  weights: { file: string; sha256: string; tensors: number };
  created: string;
}

/** Writes `detector` (+ meta) as a bundle into `dir` (created if needed). Returns the config written. */
export function saveBundle(dir: string, detector: Detector, meta: BundleMeta = {}): BundleConfig {
  const { transforms, ...rest } = meta;
  // Validated before anything is written.
  const chain = transforms === undefined ? undefined : fromConfig(transforms instanceof TransformChain ? transforms.toJSON() : transforms).toJSON();
  fs.mkdirSync(dir, { recursive: true });
  const sd = detector.stateDict();
  let bytes: Uint8Array;
  try {
    bytes = serializeSafetensors(sd, { anogen: ANOGEN_VERSION, detector: detector.name });
  } finally {
    for (const t of sd.values()) t.dispose(); // detached views: the detector's own weights stay
  }
  writeFileAtomic(path.join(dir, 'model.safetensors'), bytes);
  const config: BundleConfig = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    anogenVersion: ANOGEN_VERSION,
    detector: detector.name,
    hparams: detector.config() as Record<string, unknown>,
    calibration: detector.calibration,
    ...rest,
    ...(chain !== undefined ? { transforms: chain } : {}),
    weights: { file: 'model.safetensors', sha256: crypto.createHash('sha256').update(bytes).digest('hex'), tensors: sd.size },
    created: new Date().toISOString(),
  };
  writeJsonAtomic(path.join(dir, 'config.json'), config);
  return config;
}

/** Reads and validates a bundle's config.json (AnogenError naming the file on any problem). */
export function readBundleConfig(dir: string): BundleConfig {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(dir)) throw new AnogenError(`bundle ${dir}: no such folder`);
  if (!fs.existsSync(file)) throw new AnogenError(`bundle ${dir}: missing config.json (is this a model bundle written by anogen train?)`);
  let c: BundleConfig;
  try {
    c = JSON.parse(fs.readFileSync(file, 'utf8')) as BundleConfig;
  } catch (e) {
    throw new AnogenError(`bundle ${file}: not valid JSON (${(e as Error).message})`);
  }
  if (c === null || typeof c !== 'object' || c.format !== BUNDLE_FORMAT) {
    throw new AnogenError(`bundle ${file}: "format" must be "${BUNDLE_FORMAT}"`);
  }
  if (typeof c.formatVersion !== 'number' || c.formatVersion > BUNDLE_FORMAT_VERSION) {
    throw new AnogenError(`bundle ${file}: format version ${c.formatVersion} is not supported by anogen ${ANOGEN_VERSION} (max ${BUNDLE_FORMAT_VERSION})`);
  }
  if (typeof c.detector !== 'string' || !detectorNames().includes(c.detector)) {
    throw new AnogenError(`bundle ${file}: unknown detector ${JSON.stringify(c.detector)}; expected one of ${detectorNames().join(', ')}`);
  }
  if (c.hparams === null || typeof c.hparams !== 'object') throw new AnogenError(`bundle ${file}: "hparams" must be an object`);
  if (c.weights === null || typeof c.weights !== 'object' || typeof c.weights.file !== 'string' || typeof c.weights.sha256 !== 'string') {
    throw new AnogenError(`bundle ${file}: "weights" must be { file, sha256 }`);
  }
  if ('transform' in c && c.transforms === undefined) {
    throw new AnogenError(
      `bundle ${file}: written by an earlier anogen whose preprocessing ("transform") cannot be replayed exactly by this version; re-train it (anogen train ... --out ${dir})`,
    );
  }
  if (c.transforms !== undefined) {
    try {
      fromConfig(c.transforms, 'transforms');
    } catch (e) {
      throw new AnogenError(`bundle ${file}: ${(e as Error).message}`);
    }
  }
  if (c.calibration !== null && c.calibration !== undefined) {
    try {
      c.calibration = parseCalibration(c.calibration, 'calibration');
    } catch (e) {
      throw new AnogenError(`bundle ${file}: ${(e as Error).message}`);
    }
  }
  return c;
}

/** A loaded bundle. */
export interface LoadedBundle {
  /** The detector with its weights and calibration (the caller disposes it). */
  detector: Detector;
  config: BundleConfig;
  /** The compiled preprocessing chain (null when the bundle was saved without one). */
  transforms: TransformChain | null;
}

/**
 * The bundle's transform chain, or an AnogenError saying the bundle cannot score image files
 * (it was saved without `transforms`).
 */
export function requireTransforms(b: LoadedBundle, dir: string): TransformChain {
  if (b.transforms === null) {
    throw new AnogenError(`bundle ${dir}: config.json has no "transforms" (preprocessing chain), so it cannot score image files; save it with saveBundle(dir, detector, { transforms })`);
  }
  return b.transforms;
}

/** Loads a bundle: the detector with its weights and calibration, the config, and the compiled transform chain. */
export function loadBundle(dir: string): LoadedBundle {
  const config = readBundleConfig(dir);
  const wfile = path.join(dir, path.basename(config.weights.file));
  if (!fs.existsSync(wfile)) throw new AnogenError(`bundle ${dir}: missing weights file ${config.weights.file}`);
  const bytes = fs.readFileSync(wfile);
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');
  if (sha !== config.weights.sha256) {
    throw new AnogenError(`bundle ${wfile}: the weights file is corrupt or was replaced (SHA-256 ${sha.slice(0, 12)}... differs from config.json's ${config.weights.sha256.slice(0, 12)}...)`);
  }
  const sd = deserializeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), wfile).tensors;
  const detector = createDetector(config.detector, config.hparams);
  try {
    detector.loadStateDict(sd);
  } catch (e) {
    detector.dispose();
    throw e instanceof AnogenError ? new AnogenError(`bundle ${wfile}: ${e.message}`) : e;
  } finally {
    for (const t of sd.values() as Iterable<Tensor>) t.dispose();
  }
  detector.calibration = config.calibration ?? null;
  return { detector, config, transforms: config.transforms !== undefined ? fromConfig(config.transforms, 'transforms') : null };
}
