/** Process-wide settings: seeds, threads, devices, versions. */
import os from 'node:os';
import { native } from './native.js';
import { AnogenError } from './errors.js';
import type { Device } from './tensor.js';

/**
 * Seeds libtorch's generators: the CPU's and, when this libtorch has CUDA and sees a GPU, every
 * CUDA device's (the addon calls torch::manual_seed, which seeds the CPU generator and then
 * `manualSeedAll` on the CUDA one), so random factories made on a device (`randn(shape, { device })`)
 * and in-place initialisers on CUDA weights are seeded too. The same seed gives different draws
 * on the CPU and on CUDA (different generators). JS-side shuffles take their own seed.
 */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0) throw new AnogenError(`manualSeed: seed must be a non-negative integer, got ${seed}`);
  native.manualSeed(seed);
}
/**
 * The state of libtorch's CPU random generator (a copy of its bytes), so that a training run
 * can be checkpointed and resumed with exactly the same random draws afterwards. Only the CPU
 * generator: the CUDA generators' state is not saved (a resumed CUDA run that draws random
 * numbers on the GPU, e.g. a re-initialisation, does not repeat the uninterrupted run's draws).
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
/** What {@link resolveDevice} accepts: a device, or 'auto'. */
export type DeviceSpec = Device | 'auto';

/** The forms {@link resolveDevice} accepts, for messages and help texts. */
export const DEVICE_SPECS = 'auto, cpu, cuda or cuda:N (N = 0, 1, ...)';

/**
 * Resolves a device spec (the CLI's `--device`, the pipeline's `device` option) to a device:
 * - 'auto' (the default): 'cuda' when this libtorch has CUDA and sees a GPU, else 'cpu';
 * - 'cpu';
 * - 'cuda' (libtorch's current CUDA device, cuda:0 unless changed) or 'cuda:N'.
 * Throws an AnogenError naming `what` (default '--device') and the spec for CUDA without CUDA,
 * for cuda:N beyond the devices present, and for anything else (listing the valid forms).
 */
export function resolveDevice(spec: unknown = 'auto', what = '--device'): Device {
  if (spec === 'auto') return cudaIsAvailable() ? 'cuda' : 'cpu';
  if (spec === 'cpu') return 'cpu';
  const m = typeof spec === 'string' ? /^cuda(?::(\d+))?$/.exec(spec) : null;
  if (m === null) throw new AnogenError(`${what} ${JSON.stringify(spec)}: not a device; valid: ${DEVICE_SPECS}`);
  if (!cudaIsAvailable()) {
    throw new AnogenError(`${what} ${spec}: this libtorch build has no CUDA (cpu only) or sees no GPU; use ${what} cpu (or auto)`);
  }
  if (m[1] === undefined) return 'cuda';
  const index = Number(m[1]);
  const count = cudaDeviceCount();
  if (index >= count) {
    throw new AnogenError(
      `${what} ${spec}: there ${count === 1 ? 'is 1 CUDA device' : `are ${count} CUDA devices`} (cuda:0${count > 1 ? ` .. cuda:${count - 1}` : ''}); use one of them, cuda, or auto`,
    );
  }
  return `cuda:${index}`;
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
