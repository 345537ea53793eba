/**
 * Registry of generative models by name (the mirror of src/detectors/registry.ts), so that
 * `anogen train <generator>`, `anogen sample`, `anogen models`, generator bundles and the
 * parametrised tests find every model. A model module registers itself on import;
 * src/models/index.ts imports them all.
 */
import { AnogenError, validList } from '../core/errors.js';
import { didYouMean, resolveHParams, schemaDefaults, type HParamSchema } from '../util/schema.js';
import type { GenerativeModel, GeneratorTrainDefaults } from './generative.js';

/** How a model's image size and channels are set from the generic options (--image-size, --channels). */
export interface GeneratorInputBinding {
  /** Hyperparameter holding the square image size (e.g. 'isize'); absent: fixed by `size`. */
  sizeParam?: string;
  /** Hyperparameter holding the channel count (e.g. 'nc'); absent: fixed by `channels`. */
  channelsParam?: string;
  /** Fixed size when there is no sizeParam. */
  size?: number;
  /** Fixed channels when there is no channelsParam. */
  channels?: number;
  /** Pixel range the model produces and trains on (e.g. [-1, 1]). */
  range: [number, number];
}

/** How to build one generative model. */
export interface GeneratorEntry {
  /** Registry name, e.g. 'gan'. */
  name: string;
  /** One line for `anogen models`. */
  description: string;
  /** Every hyperparameter, declared once (type, default, range, doc). */
  schema: HParamSchema;
  /** Which hyperparameters carry the image size and channels, and the pixel range. */
  input: GeneratorInputBinding;
  /** Small hyperparameters for quick tests (train in seconds on 2 cores). */
  tiny: Record<string, unknown>;
  /** Default training options. */
  trainDefaults: GeneratorTrainDefaults;
  /** One line per loss name the step reports (default none). */
  lossDocs?: Record<string, string>;
  /** Builds a model from hyperparameters already validated against `schema` (defaults filled in). */
  create(hparams: Record<string, unknown>): GenerativeModel;
}

const entries = new Map<string, GeneratorEntry>();

/** Adds a generative model to the registry (a name registered twice is an error). */
export function registerGenerator(entry: GeneratorEntry): void {
  if (entries.has(entry.name)) throw new AnogenError(`generator '${entry.name}' is already registered`);
  for (const p of [entry.input.sizeParam, entry.input.channelsParam]) {
    if (p !== undefined && entry.schema[p] === undefined) throw new AnogenError(`generator '${entry.name}': input parameter '${p}' is not in its schema`);
  }
  entries.set(entry.name, entry);
}

/** Removes a generative model from the registry (for tests that register a toy one). */
export function unregisterGenerator(name: string): void {
  entries.delete(name);
}

/** Names of every registered generative model. */
export function generatorNames(): string[] {
  return [...entries.keys()].sort();
}

/** True when `name` is a registered generative model. */
export function isGenerator(name: string | undefined): boolean {
  return name !== undefined && entries.has(name);
}

/** The entry of `name`; AnogenError listing the valid names otherwise. */
export function getGenerator(name: string): GeneratorEntry {
  const e = entries.get(name);
  if (e === undefined) throw new AnogenError(`unknown generator ${JSON.stringify(name)}${didYouMean(name, generatorNames())}; expected ${validList(generatorNames())}`);
  return e;
}

/** The default hyperparameters of a generative model (from its schema). */
export function generatorDefaults(name: string): Record<string, unknown> {
  return schemaDefaults(getGenerator(name).schema);
}

/** Builds a generative model by name from partial hyperparameters (validated against its schema). */
export function createGenerator(name: string, hparams: Record<string, unknown> = {}): GenerativeModel {
  const e = getGenerator(name);
  return e.create(resolveHParams(e.schema, hparams, e.name));
}

/** The square image size a model takes when none is given (its size hyperparameter's default, or its fixed size). */
export function defaultGeneratorSize(entry: GeneratorEntry): number {
  return entry.input.sizeParam !== undefined ? (entry.schema[entry.input.sizeParam]!.default as number) : entry.input.size!;
}

/** The hyperparameters that set a model's images to `size` x `size` x `channels` (AnogenError when fixed otherwise). */
export function generatorInputHParams(name: string, size: number | undefined, channels: number | undefined): Record<string, unknown> {
  const { input } = getGenerator(name);
  const out: Record<string, unknown> = {};
  if (size !== undefined) {
    if (input.sizeParam !== undefined) out[input.sizeParam] = size;
    else if (input.size !== size) throw new AnogenError(`${name} makes ${input.size} x ${input.size} images only; --image-size ${size} is not valid`);
  }
  if (channels !== undefined) {
    if (input.channelsParam !== undefined) out[input.channelsParam] = channels;
    else if (input.channels !== channels) throw new AnogenError(`${name} makes ${input.channels}-channel images only; --channels ${channels} is not valid`);
  }
  return out;
}
