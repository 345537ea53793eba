/**
 * Loading torchvision ResNet weights from a safetensors file (scripts/torchvision_to_safetensors.py
 * makes one from a torchvision .pth checkpoint): strict about names and shapes, with messages
 * that name the missing, unexpected and mis-shaped tensors, the architecture that was expected,
 * and the architecture the file seems to hold.
 */
import { AnogenError, validList } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { withSafetensors } from '../../nn/safetensors.js';
import { RESNET_ARCHS, resnetStateShapes, type ResNet, type ResnetArch } from './networks.js';

/** Names a weights file may hold that the trunk ignores: torchvision's classifier. */
export const IGNORED_RESNET_KEYS = ['fc.weight', 'fc.bias'] as const;

/** What {@link checkResnetState} finds wrong (all empty: the tensors fit the architecture). */
export interface ResnetStateProblems {
  missing: string[];
  unexpected: string[];
  /** `name: given [..] vs expected [..]`. */
  misshaped: string[];
}

const isOptional = (name: string) => name.endsWith('.num_batches_tracked');
const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/**
 * Compares named tensor shapes with torchvision's `arch`: `fc.*` is ignored and a missing
 * `*.num_batches_tracked` is allowed (old torchvision checkpoints have none; evaluation mode does
 * not use it); every other name must be present with its exact shape, and nothing else may be.
 */
export function checkResnetState(arch: ResnetArch, shapes: Map<string, readonly number[]>): ResnetStateProblems {
  const want = new Map(resnetStateShapes(arch));
  const missing: string[] = [];
  const misshaped: string[] = [];
  for (const [name, shape] of want) {
    const got = shapes.get(name);
    if (got === undefined) {
      if (!isOptional(name)) missing.push(name);
    } else if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      misshaped.push(`${name}: given ${shapeText(got)} vs expected ${shapeText(shape)}`);
    }
  }
  const unexpected = [...shapes.keys()].filter((k) => !want.has(k) && !(IGNORED_RESNET_KEYS as readonly string[]).includes(k));
  return { missing, unexpected, misshaped };
}

const list = (xs: string[], n = 5) => (xs.length <= n ? xs.join(', ') : `${xs.slice(0, n).join(', ')}, ... (${xs.length - n} more)`);

/**
 * Throws an AnogenError naming `source`, the expected architecture, the missing, unexpected and
 * mis-shaped tensors, and the architecture the tensors fit when it is another one; returns
 * quietly when they fit `arch`.
 */
export function assertResnetState(arch: ResnetArch, shapes: Map<string, readonly number[]>, source: string): void {
  const p = checkResnetState(arch, shapes);
  if (p.missing.length === 0 && p.unexpected.length === 0 && p.misshaped.length === 0) return;
  const parts = [
    p.missing.length > 0 ? `${p.missing.length} missing (${list(p.missing)})` : '',
    p.unexpected.length > 0 ? `${p.unexpected.length} unexpected (${list(p.unexpected)})` : '',
    p.misshaped.length > 0 ? `${p.misshaped.length} mis-shaped (${list(p.misshaped, 3)})` : '',
  ].filter(Boolean);
  const fits = RESNET_ARCHS.filter((a) => a !== arch).find((a) => {
    const q = checkResnetState(a, shapes);
    return q.missing.length === 0 && q.unexpected.length === 0 && q.misshaped.length === 0;
  });
  const names = [...shapes.keys()];
  const hint =
    fits !== undefined
      ? `; the file holds ${fits} weights: pass --backbone-arch ${fits}`
      : names.length > 0 && names.every((n) => n.startsWith('module.'))
        ? "; every name starts with 'module.' (a DataParallel checkpoint): convert it with scripts/torchvision_to_safetensors.py, which strips the prefix"
        : `; expected torchvision's ${arch} state dict (conv1.weight, bn1.*, layer1.0.conv1.weight, ...; fc.* is ignored), e.g. made by scripts/torchvision_to_safetensors.py; architectures: ${validList(RESNET_ARCHS)}`;
  throw new AnogenError(`${source}: not ${arch} weights: ${parts.join(', ')}${hint}`);
}

/**
 * Loads `tensors` (torchvision names) into `net` after {@link assertResnetState}: `fc.*` is
 * dropped, a missing num_batches_tracked keeps the module's 0, float16 widens to float32; other
 * dtypes are refused by {@link Module.loadStateDict}. The caller keeps ownership of `tensors`.
 */
export function loadResnetState(net: ResNet, tensors: Map<string, Tensor>, source: string): void {
  assertResnetState(net.arch, new Map([...tensors].map(([k, t]) => [k, t.shape])), source);
  const own = new Map([...tensors].filter(([k]) => !(IGNORED_RESNET_KEYS as readonly string[]).includes(k)));
  net.loadStateDict(own, { strict: false, source });
}

/** Reads a safetensors weights file and loads it into `net` (see {@link loadResnetState}); messages name the file. */
export function loadResnetWeights(net: ResNet, file: string): void {
  withSafetensors(file, (tensors) => loadResnetState(net, tensors, `backbone weights ${file}`));
}
