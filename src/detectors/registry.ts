/**
 * Registry of detectors by name, so that `anogen train <name>`, `anogen models`, bundles and
 * the parametrised tests find every detector. A detector module registers itself on import;
 * src/detectors/index.ts imports them all.
 */
import { AnogenError, validList } from '../core/index.js';
import type { Detector } from './api.js';
import type { TrainDefaults } from './neural.js';
import { didYouMean, resolveHParams, schemaDefaults, type HParamSchema } from './schema.js';

/** How a detector's input is set from the generic options (--image-size, --channels). */
export interface InputBinding {
  /** Hyperparameter holding the square input size (e.g. 'isize'); absent: the size is fixed by `size`. */
  sizeParam?: string;
  /** Hyperparameter holding the channel count (e.g. 'nc'); absent: fixed by `channels`. */
  channelsParam?: string;
  /** Fixed size when there is no sizeParam. */
  size?: number;
  /** Fixed channels when there is no channelsParam. */
  channels?: number;
  /** Pixel range the detector expects (e.g. [-1, 1]). */
  range: [number, number];
}

/** How to build one detector. */
export interface DetectorEntry {
  /** Registry name, e.g. 'ganomaly'. */
  name: string;
  /** One line for `anogen models`. */
  description: string;
  /** Every hyperparameter, declared once (type, default, range, doc). */
  schema: HParamSchema;
  /** Which hyperparameters carry the input size and channels, and the pixel range. */
  input: InputBinding;
  /** Small hyperparameters for quick tests (fit in seconds on 2 cores). */
  tiny: Record<string, unknown>;
  /** Default training options. */
  trainDefaults: TrainDefaults;
  /**
   * Estimated peak memory in bytes of training with these hyperparameters at this batch size
   * (weights, gradients, optimiser state, activations), checked before any allocation so that an
   * impossible size is refused with what fits (default none: not checked).
   */
  estimateTrainingBytes?(hparams: Record<string, unknown>, batchSize: number): number;
  /** One line per loss name the step reports, for the report's loss plot (default none). */
  lossDocs?: Record<string, string>;
  /** Builds a detector from hyperparameters already validated against `schema` (defaults filled in). */
  create(hparams: Record<string, unknown>): Detector;
}

const entries = new Map<string, DetectorEntry>();

/** Adds a detector to the registry (a name registered twice is an error). */
export function registerDetector(entry: DetectorEntry): void {
  if (entries.has(entry.name)) throw new AnogenError(`detector '${entry.name}' is already registered`);
  for (const p of [entry.input.sizeParam, entry.input.channelsParam]) {
    if (p !== undefined && entry.schema[p] === undefined) throw new AnogenError(`detector '${entry.name}': input parameter '${p}' is not in its schema`);
  }
  entries.set(entry.name, entry);
}

/** Removes a detector from the registry (for tests that register a toy one). */
export function unregisterDetector(name: string): void {
  entries.delete(name);
}

/** Names of every registered detector. */
export function detectorNames(): string[] {
  return [...entries.keys()].sort();
}

/** The entry of `name`; AnogenError listing the valid names otherwise. */
export function getDetector(name: string): DetectorEntry {
  const e = entries.get(name);
  if (e === undefined) throw new AnogenError(`unknown detector ${JSON.stringify(name)}${didYouMean(name, detectorNames())}; expected ${validList(detectorNames())}`);
  return e;
}

/** The default hyperparameters of a detector (from its schema). */
export function detectorDefaults(name: string): Record<string, unknown> {
  return schemaDefaults(getDetector(name).schema);
}

/** Builds a detector by name from partial hyperparameters (validated against its schema). */
export function createDetector(name: string, hparams: Record<string, unknown> = {}): Detector {
  const e = getDetector(name);
  return e.create(resolveHParams(e.schema, hparams, e.name));
}

/** The square input size a detector takes when none is given (its size hyperparameter's default, or its fixed size). */
export function defaultInputSize(entry: DetectorEntry): number {
  return entry.input.sizeParam !== undefined ? (entry.schema[entry.input.sizeParam]!.default as number) : entry.input.size!;
}

/** The hyperparameters that set a detector's input to `size` x `size` x `channels` (AnogenError when fixed otherwise). */
export function inputHParams(name: string, size: number | undefined, channels: number | undefined): Record<string, unknown> {
  const { input } = getDetector(name);
  const out: Record<string, unknown> = {};
  if (size !== undefined) {
    if (input.sizeParam !== undefined) out[input.sizeParam] = size;
    else if (input.size !== size) throw new AnogenError(`${name} takes ${input.size} x ${input.size} images only; --image-size ${size} is not valid`);
  }
  if (channels !== undefined) {
    if (input.channelsParam !== undefined) out[input.channelsParam] = channels;
    else if (input.channels !== channels) throw new AnogenError(`${name} takes ${input.channels}-channel images only; --channels ${channels} is not valid`);
  }
  return out;
}
