/**
 * The calibration workflow (`anogen calibrate <bundle>`, the server): re-fits a bundle's score
 * normalisation and its threshold Φ on VALIDATION data and writes the bundle again with only
 * its calibration changed.
 *
 * The validation data is the bundle's own validation split, rebuilt from the protocol stored in
 * its config.json exactly as training carved it (same dataset, classes, seed, fraction and
 * limit: the same images), or a labelled folder given as `valDir` (needed for 'f1-max' unless
 * the bundle was trained with one). The test split is never read: a `valDir` that shares a
 * file with it is refused.
 *
 * The new version is written atomically under the folder's lock (src/detectors/bundle.ts's
 * saveBundle with `replace`): the weights, the transform chain, the protocol, the training
 * record and every extra file (history.json; a checkpoint's training state, so a Ctrl-C
 * checkpoint can still be resumed) are kept as they were.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError, validList } from '../core/index.js';
import { disposeBatch } from '../data/index.js';
import { NORMALIZATION_KINDS, type NormalizationKind } from '../eval/normalize.js';
import { fitThreshold, parseThresholdStrategy, type Calibration, type ThresholdStrategy } from '../eval/threshold.js';
import { loadBundle, readBundleConfig, readBundleFile, requireTransforms, saveBundle, type BundleConfig, type BundleMeta } from '../detectors/bundle.js';
import { acquireLock, assertNotLocked } from '../util/lock.js';
import { buildSplits, loadSubset, useStoredData, type DataOptions } from './data.js';
import { describeCalibration } from './describe.js';
import { CHECKPOINT_DIR } from './train.js';

/** What a calibration is asked to do. */
export interface CalibrateRequest {
  /** The bundle folder: a finished bundle, or a training checkpoint (`<out>/checkpoint`). */
  bundle: string;
  /**
   * The threshold strategy (required): 'percentile[:q]' (the q-th percentile of the validation
   * normals' normalised scores, q default 95), 'f1-max' (best F1 on labelled validation data)
   * or 'fixed:<value>' (Φ itself, on the normalised scale).
   */
  threshold: string;
  /** Score normalisation fitted on validation normals (default: the bundle's current kind, 'minmax' when it has none). */
  normalization?: NormalizationKind;
  /**
   * A labelled validation folder (MVTec layout, or good/ plus one folder per anomaly type)
   * instead of the bundle's validation split (default none: the bundle's validation split, i.e.
   * its own --val-dir when it was trained with one, else the normals carved from its training split).
   */
  valDir?: string;
  /** Use at most N validation images (default: the bundle's training valLimit, 2000 when not recorded). */
  valLimit?: number;
  /** The training data's current location when it moved after training (default: the path recorded in the bundle). */
  data?: string;
  /** Validation images scored at a time (default 256). */
  batchSize?: number;
}

/** What {@link calibrate} did. */
export interface CalibrateResult {
  /** The bundle folder written. */
  bundle: string;
  /** The new calibration (stored in the bundle). */
  calibration: Calibration;
  /** The calibration the bundle had before (null when it had none). */
  previous: Calibration | null;
  /** Validation images scored (0 when nothing was refitted: a fixed Φ with the stored normalisation). */
  valImages: number;
  /** Whether the validation data was labelled (a --val-dir). */
  labelled: boolean;
  /** "Φ = ... (...)": the new calibration in words (src/pipeline/describe.ts). */
  description: string;
}

/** Default number of validation images when the bundle records none (as `anogen train --val-limit`). */
export const DEFAULT_VAL_LIMIT = 2000;

/**
 * Φ given for one run of eval or score: only 'fixed:<value>' (on the normalised scale) is
 * accepted; a strategy that fits Φ (percentile, f1-max) is an AnogenError pointing to
 * `anogen calibrate`, since eval and score never fit anything on the data they score.
 * `verb` names the command in the message (e.g. 'eval').
 */
export function fixedRunThreshold(spec: string, bundle: string, verb: string): number {
  const t = parseThresholdStrategy(spec, '--threshold');
  if (t.kind !== 'fixed') {
    throw new AnogenError(
      `--threshold ${spec}: anogen ${verb} takes a fixed Φ only ('fixed:<value>' on the normalised scale), since it never fits Φ on the data it scores; ` +
        `refit Φ on validation data with: anogen calibrate ${bundle} --threshold ${spec}${t.kind === 'f1-max' ? ' --val-dir <labelled folder>' : ''}`,
    );
  }
  return t.value;
}

/** The bundle's stored data options, relocated to `req.data` when given. */
function storedDataOptions(req: CalibrateRequest, config: BundleConfig): DataOptions {
  const saved = (config.protocol as { options?: Partial<DataOptions> } | undefined)?.options;
  const cfgFile = path.join(req.bundle, 'config.json');
  if (saved === undefined || typeof saved !== 'object' || typeof saved.data !== 'string') {
    throw new AnogenError(
      `bundle ${req.bundle}: ${cfgFile} records no training data protocol, so its validation split cannot be rebuilt; calibrate it with a library call (detector.calibrate(val)) and saveBundle`,
    );
  }
  const o = { seed: 0, valFraction: 0.1, ...saved } as DataOptions;
  if (req.data !== undefined) {
    o.data = req.data;
  } else {
    useStoredData(o, cfgFile, 'give --data <its folder now> (the validation split is rebuilt from it)');
  }
  if (req.valDir !== undefined) o.valDir = req.valDir;
  return o;
}

/**
 * Re-fits the calibration of the bundle in `req.bundle` on validation data and writes the
 * bundle again (atomically, under its lock, everything but the calibration unchanged).
 * AnogenErrors: no bundle there, a bundle in use by another process, 'f1-max' without
 * labelled validation data, a `valDir` overlapping the test split, training data that moved.
 * `log` gets messages for the user (default none).
 */
export async function calibrate(req: CalibrateRequest, log: (s: string) => void = () => undefined): Promise<CalibrateResult> {
  if (typeof req.threshold !== 'string') throw new AnogenError("calibrate: --threshold is required: 'percentile[:q]', 'f1-max' or 'fixed:<value>'");
  const strategy: ThresholdStrategy = parseThresholdStrategy(req.threshold, '--threshold');
  if (req.normalization !== undefined && !(NORMALIZATION_KINDS as readonly string[]).includes(req.normalization)) {
    throw new AnogenError(`--normalization: ${JSON.stringify(req.normalization)} is not valid; expected ${validList(NORMALIZATION_KINDS)}`);
  }
  if (req.valLimit !== undefined && !(Number.isSafeInteger(req.valLimit) && req.valLimit >= 1)) {
    throw new AnogenError(`--val-limit: ${JSON.stringify(req.valLimit)} is not valid; expected an integer >= 1`);
  }
  const dir = req.bundle;
  if (!fs.existsSync(path.join(dir, 'config.json')) && fs.existsSync(path.join(dir, CHECKPOINT_DIR, 'config.json'))) {
    throw new AnogenError(
      `bundle ${dir}: no finished bundle there, only the checkpoint of an interrupted run; calibrate ${path.join(dir, CHECKPOINT_DIR)}, or finish the run with anogen train --resume ${dir}`,
    );
  }
  const before = readBundleConfig(dir); // "no such folder", "not a bundle": before the lock creates anything
  if (strategy.kind === 'f1-max' && req.valDir === undefined && (before.protocol as { options?: { valDir?: string } } | undefined)?.options?.valDir === undefined) {
    throw new AnogenError(
      `--threshold f1-max needs a labelled validation set: give --val-dir <folder> (good/ + one folder per anomaly type, or the MVTec layout); the bundle's validation split holds normals only`,
    );
  }
  // A checkpoint of a run that is still training would be overwritten at its next save.
  if (path.basename(path.resolve(dir)) === CHECKPOINT_DIR) assertNotLocked(path.dirname(path.resolve(dir)));
  const lock = acquireLock(dir, 'anogen calibrate');
  try {
    const loaded = loadBundle(dir);
    const { detector, config } = loaded;
    try {
      const previous = detector.calibration;
      const normalization = req.normalization ?? previous?.normalization.kind ?? 'minmax';
      const refit = strategy.kind !== 'fixed' || previous === null || normalization !== previous.normalization.kind || req.valDir !== undefined || req.valLimit !== undefined;
      let valImages = 0;
      let labelled = false;
      if (!refit) {
        // A fixed Φ on the stored normalisation: nothing to fit, no data needed.
        detector.calibration = { normalization: previous!.normalization, threshold: fitThreshold(strategy) };
      } else {
        const transforms = requireTransforms(loaded, dir);
        const o = storedDataOptions(req, config);
        const splits = buildSplits(o);
        labelled = splits.record.userValidation === true;
        if (strategy.kind === 'f1-max' && !labelled) {
          throw new AnogenError('--threshold f1-max needs a labelled validation set: give --val-dir <folder> (good/ + one folder per anomaly type, or the MVTec layout)');
        }
        if (splits.validation.length === 0) {
          throw new AnogenError(
            `bundle ${dir}: its validation split is empty (trained with --val-fraction 0?); give --val-dir <labelled folder> (good/ + one folder per anomaly type, or the MVTec layout)`,
          );
        }
        const training = (config.training ?? {}) as { valLimit?: number };
        const limit = req.valLimit ?? (typeof training.valLimit === 'number' ? training.valLimit : DEFAULT_VAL_LIMIT);
        // The same subset training calibrated on: limit and seed as in src/pipeline/train.ts.
        const val = await loadSubset(splits.validation, transforms, limit, o.seed + 1);
        try {
          valImages = val.batch.positions.length;
          log(
            `anogen calibrate: fitting ${normalization} normalisation and Φ (${req.threshold}) on ${valImages} ${labelled ? `labelled validation images (${path.resolve(o.valDir!)})` : 'validation normals'} of ${splits.record.dataset} ${splits.record.protocol}`,
          );
          const labels = labelled ? val.split.subset(Array.from(val.batch.positions)).label : undefined;
          detector.calibrate({ images: val.batch.x, ...(labels !== undefined ? { labels } : {}) }, { normalization, threshold: strategy, batchSize: req.batchSize });
        } finally {
          disposeBatch(val.batch);
        }
      }
      // Everything but the calibration is written back as it was (transforms, protocol, training, ...).
      const { format: _f, formatVersion: _fv, anogenVersion: _v, detector: _d, hparams: _h, calibration: _c, weights: _w, files: extra, created: _cr, ...meta } = config;
      const files: Record<string, Uint8Array> = {};
      for (const name of Object.keys(extra ?? {})) {
        const bytes = readBundleFile(dir, name);
        if (bytes !== null) files[name] = bytes;
      }
      saveBundle(dir, detector, meta as BundleMeta, { replace: true, lock, files });
      const calibration = detector.calibration!;
      return { bundle: dir, calibration, previous, valImages, labelled, description: describeCalibration(calibration, valImages, labelled) };
    } finally {
      detector.dispose();
    }
  } finally {
    lock.release();
  }
}
