/**
 * Registry of detectors by name, so that `anogen train <name>`, bundles and the
 * parametrised tests find every detector. A detector module registers itself on import;
 * src/detectors/index.ts imports them all.
 */
import { AnogenError, validList } from '../core/index.js';
import type { Detector } from './api.js';

/** How to build one detector. */
export interface DetectorEntry {
  /** Registry name, e.g. 'ganomaly'. */
  name: string;
  /** One line for `anogen --help`. */
  description: string;
  /** Default hyperparameters (every key a user may set). */
  defaults: Record<string, unknown>;
  /** Small hyperparameters for quick tests (fit in seconds on 2 cores). */
  tiny: Record<string, unknown>;
  /** Default training options. */
  trainDefaults: { epochs: number; batchSize: number; lr: number };
  /** Builds a detector from (partial) hyperparameters; validates them. */
  create(hparams?: Record<string, unknown>): Detector;
}

const entries = new Map<string, DetectorEntry>();

/** Adds a detector to the registry (a name registered twice is an error). */
export function registerDetector(entry: DetectorEntry): void {
  if (entries.has(entry.name)) throw new AnogenError(`detector '${entry.name}' is already registered`);
  entries.set(entry.name, entry);
}

/** Names of every registered detector. */
export function detectorNames(): string[] {
  return [...entries.keys()].sort();
}

/** The entry of `name`; AnogenError listing the valid names otherwise. */
export function getDetector(name: string): DetectorEntry {
  const e = entries.get(name);
  if (e === undefined) throw new AnogenError(`unknown detector ${JSON.stringify(name)}; expected ${validList(detectorNames())}`);
  return e;
}

/** Builds a detector by name. */
export function createDetector(name: string, hparams: Record<string, unknown> = {}): Detector {
  return getDetector(name).create(hparams);
}
