/**
 * Patch grids shared by the patch-wise feature detectors (gaussian's 'patches' mode, patchcore):
 * p x p patches of S x S x C maps (the pixels, or a backbone's feature map) at stride s, their
 * vectors, and anomaly maps made from one distance per patch.
 *
 * Geometry (as the position-aware patch kNN floor, src/eval/floors.ts): origins 0, s, 2s, ...
 * while the patch fits (side = floor((S - p) / s) + 1 origins per axis, P = side² positions,
 * row-major); a patch is the vector of its C·p·p values in the order channel, row, column
 * (D = C·p·p).
 */
import { AnogenError, callOp, noGrad, ones, tidy, type Tensor } from '../../core/index.js';
import { wrap } from '../../core/tensor.js';
import type { HParamSchema } from '../schema.js';

/** The patch layout of one image size (see the module comment). */
export interface PatchGeometry {
  /** Image side S. */
  size: number;
  /** Channels C. */
  channels: number;
  /** Patch side p. */
  patch: number;
  /** Step s between patch origins. */
  stride: number;
  /** Origins per axis: floor((S - p) / s) + 1. */
  side: number;
  /** Positions P = side². */
  positions: number;
  /** Patch vector length D = C·p·p. */
  dim: number;
}

/**
 * The patch layout of S x S x C maps with p x p patches at stride s; refuses p > S and s < 1,
 * naming the options (`patchSize`, `patchStride`) of the detector `who`.
 */
export function patchGrid(size: number, channels: number, patch: number, stride: number, who: string): PatchGeometry {
  if (!Number.isInteger(patch) || patch < 1 || patch > size) {
    throw new AnogenError(`${who} patchSize: ${JSON.stringify(patch)} is not valid with image size ${size} (isize); expected an integer in [1, ${size}] (default 8)`);
  }
  if (!Number.isInteger(stride) || stride < 1) {
    throw new AnogenError(`${who} patchStride: ${JSON.stringify(stride)} is not valid; expected an integer >= 1 (default 4)`);
  }
  const side = Math.floor((size - patch) / stride) + 1;
  return { size, channels, patch, stride, side, positions: side * side, dim: channels * patch * patch };
}

/** The patches of images (rows [N, C·S·S] or [N, C, S, S]) as a new tensor [P, N, D] (positions row-major; see the module comment). */
export function patchesOf(x: Tensor, g: PatchGeometry): Tensor {
  return noGrad(() =>
    tidy(() => {
      const n = x.shape[0]!;
      const img = x.reshape([n, g.channels, g.size, g.size]);
      const rows = wrap(callOp('aten::unfold', img.handle, 2, g.patch, g.stride)); // [N, C, side, S, p]
      const both = wrap(callOp('aten::unfold', rows.handle, 3, g.patch, g.stride)); // [N, C, side, side, p, p]
      return both.permute([2, 3, 0, 1, 4, 5]).reshape([g.positions, n, g.dim]).contiguous();
    }),
  );
}

/**
 * Anomaly maps [N, 1, S, S] float32 from per-position distances [N, P]: each distance spread over
 * the pixels its patch covers, the mean over the covering patches (0 where none covers a pixel).
 */
export function patchMaps(dist: Tensor, g: PatchGeometry): Tensor {
  return noGrad(() =>
    tidy(() => {
      const n = dist.shape[0]!;
      const k = g.patch * g.patch;
      const fold = (cols: Tensor): Tensor => wrap(callOp('aten::col2im', cols.handle, [g.size, g.size], [g.patch, g.patch], [1, 1], [0, 0], [g.stride, g.stride])); // [N, 1, S, S]
      const sum = fold(dist.float().unsqueeze(1).expand([n, k, g.positions]).contiguous());
      const count = fold(ones([1, k, g.positions]));
      return sum.div(count.clamp(1, null)).where(count.gt(0), 0);
    }),
  );
}

/**
 * The `patchSize` (default 8) and `patchStride` (default 4) hyperparameters of a patch mode, their
 * docs starting with `when` (e.g. 'with --features patches').
 */
export function patchGridSchema(when: string) {
  return {
    patchSize: { type: 'int', default: 8, min: 1, max: 1024, doc: `${when}: patch side p in pixels at the input size (at most isize)` },
    patchStride: { type: 'int', default: 4, min: 1, max: 1024, doc: `${when}: step s in pixels between patch origins (0, s, 2s, ... while the patch fits)` },
  } satisfies HParamSchema;
}
