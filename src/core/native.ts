/**
 * Loads the native addon (build/Release/anogen_native.node) and describes its exports.
 * Only src/core talks to it directly.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AnogenError, TorchError } from './errors.js';

/** Opaque handle of a native tensor (a N-API external). */
export type Handle = { readonly __nativeTensor: unique symbol };

export interface NativeAddon {
  fromBuffer(data: ArrayBufferView | ArrayBuffer, scalarType: number, shape: number[]): Handle;
  toBuffer(h: Handle): ArrayBuffer;
  meta(h: Handle): [number[], number, string, boolean];
  shape(h: Handle): number[];
  /** Writes the sizes into `scratch` when they fit; returns the number of dims. */
  shapeInto?(h: Handle, scratch: Float64Array): number;
  numel?(h: Handle): number;
  scalarType(h: Handle): number;
  item(h: Handle): number | boolean;
  dispose(h: Handle): void;
  isDisposed(h: Handle): boolean;
  liveTensors(): number;
  setErrorClass(cls: new (msg: string) => Error): void;
  sameTensor(a: Handle, b: Handle): boolean;
  opHandle(name: string, overload: string): number;
  opSchema(id: number): string;
  call(id: number, ...args: unknown[]): any;
  backward(h: Handle, grad: Handle | null, retainGraph: boolean | null, createGraph: boolean): void;
  autogradGrad(
    outputs: Handle[],
    inputs: Handle[],
    gradOutputs: (Handle | null)[] | null,
    retainGraph: boolean | null,
    createGraph: boolean,
    allowUnused: boolean,
  ): (Handle | null)[];
  getGrad(h: Handle): Handle | null;
  setGrad(h: Handle, g: Handle | null): void;
  setRequiresGrad(h: Handle, v: boolean): void;
  isLeaf(h: Handle): boolean;
  setGradEnabled(v: boolean): boolean;
  isGradEnabled(): boolean;
  manualSeed(seed: number): void;
  getRngState(): Buffer;
  setRngState(state: Buffer): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  torchVersion(): string;
}

function findAddon(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const cand = path.join(dir, 'build', 'Release', 'anogen_native.node');
    if (fs.existsSync(cand)) return cand;
    dir = path.dirname(dir);
  }
  throw new AnogenError(
    'anogen: the native addon build/Release/anogen_native.node was not found. Run `npm ci` (or `npm run build:native`) ' +
      'with libtorch installed: `apt-get install libtorch-dev` on Debian/Ubuntu, or LIBTORCH=/path/to/libtorch elsewhere.',
  );
}

const require = createRequire(import.meta.url);
/** The loaded addon. */
export const native: NativeAddon = require(findAddon());
native.setErrorClass(TorchError);
