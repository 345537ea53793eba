// Live-tensor counts for leak tests. Native tensors a test forgot are freed by the garbage
// collector whenever it runs, which would lower liveTensors() in the middle of a later test;
// taking the baseline right after a full collection (the runner passes --expose-gc) keeps
// exact counts exact.
import { liveTensors } from '../../src/core/index.js';

/** liveTensors() after a full garbage collection (when gc is exposed). */
export function settledLiveTensors(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return liveTensors();
}
