/**
 * The progressive-growing schedule (Karras et al., 2018, section 2 and appendix A) as a pure
 * function of the number of real images shown. Training starts at 4 x 4 (stage 0) with a
 * stabilisation phase; every later stage k (resolution 4 * 2^k) has a fade-in phase, in which
 * alpha rises linearly from 0 to 1 (the new layers are blended in), then a stabilisation
 * phase (alpha = 1). Every phase lasts `phaseImages` images. After the last stage's
 * stabilisation the final resolution is kept with alpha = 1.
 *
 * The training step computes the images shown as globalStep * batchSize from the loop's
 * context, so the schedule is a function of the step: a resumed run continues it exactly.
 */
import { AnogenError } from '../../core/errors.js';

/** Where the growth is: the stage (resolution 4 * 2^stage), alpha and the phase. */
export interface Growth {
  /** 0-based stage; the resolution is 4 * 2^stage. */
  stage: number;
  /** Fade-in weight of the newest layers, in [0, 1] (1 outside fade-in phases). */
  alpha: number;
  /** 0-based phase index: 0 = stabilise 4 x 4, 2k - 1 = fade in stage k, 2k = stabilise stage k. */
  phase: number;
  /** 'fade' or 'stabilize'. */
  kind: 'fade' | 'stabilize';
}

/** Number of stages from 4 x 4 to `size` x `size` (a power of two >= 4): log2(size) - 1. */
export function stagesFor(size: number): number {
  if (!Number.isInteger(size) || size < 4 || (size & (size - 1)) !== 0) throw new AnogenError(`progan: image size must be a power of two >= 4, got ${JSON.stringify(size)}`);
  return Math.log2(size) - 1;
}

/** The resolution of a stage: 4 * 2^stage. */
export const stageResolution = (stage: number): number => 4 * 2 ** stage;

/**
 * The growth after `images` real images were shown, with phases of `phaseImages` images and
 * `stages` stages (see the module comment).
 */
export function growthAt(images: number, phaseImages: number, stages: number): Growth {
  if (!Number.isFinite(images) || images < 0) throw new AnogenError(`growthAt: images must be a number >= 0, got ${images}`);
  if (!Number.isInteger(phaseImages) || phaseImages < 1) throw new AnogenError(`growthAt: phaseImages must be a positive integer, got ${phaseImages}`);
  if (!Number.isInteger(stages) || stages < 1) throw new AnogenError(`growthAt: stages must be a positive integer, got ${stages}`);
  const last = 2 * (stages - 1); // the final stabilisation phase
  const p = Math.floor(images / phaseImages);
  if (p >= last) return { stage: stages - 1, alpha: 1, phase: last, kind: 'stabilize' };
  const stage = Math.floor((p + 1) / 2);
  if (p % 2 === 1) return { stage, alpha: (images - p * phaseImages) / phaseImages, phase: p, kind: 'fade' };
  return { stage, alpha: 1, phase: p, kind: 'stabilize' };
}
