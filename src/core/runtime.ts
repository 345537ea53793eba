/** Process-wide settings: seeds, threads, devices, versions. */
import os from 'node:os';
import { native } from './native.js';
import { AnogenError } from './errors.js';

/** Seeds libtorch's generators (CPU and CUDA). JS-side shuffles take their own seed. */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0) throw new AnogenError(`manualSeed: seed must be a non-negative integer, got ${seed}`);
  native.manualSeed(seed);
}
/**
 * The state of libtorch's CPU random generator (a copy of its bytes), so that a training run
 * can be checkpointed and resumed with exactly the same random draws afterwards.
 */
export function getRngState(): Uint8Array {
  return new Uint8Array(native.getRngState());
}
/** Restores the CPU generator from {@link getRngState}'s bytes (a TorchError when they are not a valid state). */
export function setRngState(state: Uint8Array): void {
  native.setRngState(Buffer.from(state.buffer, state.byteOffset, state.byteLength));
}
/** Sets the number of intra-op threads libtorch uses (default: libtorch's, usually the core count). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new AnogenError(`setNumThreads: n must be a positive integer, got ${n}`);
  native.setNumThreads(n);
}
/** The number of intra-op threads libtorch uses now. */
export function getNumThreads(): number {
  return native.getNumThreads();
}
/** True when a CUDA device is usable by this libtorch build. */
export function cudaIsAvailable(): boolean {
  return native.cudaIsAvailable();
}
/** Number of visible CUDA devices (0 without CUDA). */
export function cudaDeviceCount(): number {
  return native.cudaDeviceCount();
}
/** The libtorch version the addon was built against. */
export function torchVersion(): string {
  return native.torchVersion();
}
/** Number of native tensors alive (for leak tests and diagnostics). */
export function liveTensors(): number {
  return native.liveTensors();
}

/**
 * Default thread count: libtorch's OpenMP default can be 1 on containers; anogen uses every
 * available core unless OMP_NUM_THREADS or ANOGEN_NUM_THREADS says otherwise.
 */
function defaultThreads(): void {
  const env = process.env.ANOGEN_NUM_THREADS;
  if (env !== undefined && /^\d+$/.test(env) && Number(env) > 0) {
    native.setNumThreads(Number(env));
  } else if (process.env.OMP_NUM_THREADS === undefined) {
    const n = os.availableParallelism();
    if (native.getNumThreads() < n) native.setNumThreads(n);
  }
}
defaultThreads();
