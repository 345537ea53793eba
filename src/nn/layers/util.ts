/** @internal validation helpers shared by the layers. */
import { AnogenError } from '../../core/errors.js';

/** Throws an AnogenError naming the layer and option unless v is a positive integer. */
export function checkPositiveInt(layer: string, option: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new AnogenError(`${layer}: ${option} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}
