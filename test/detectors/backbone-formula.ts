// Deterministic ResNet weights defined by a closed formula, identical to
// scripts/make_resnet_fixture.py's formula_value (see its docstring): the test suites build
// torchvision-named weights without downloading or committing any.
import { arange, noGrad, tidy, zeros, type Tensor } from '../../src/core/index.js';
import { resnetLayerChannels, resnetStateShapes, type ResnetArch } from '../../src/models/resnet/index.js';

/** The formula's period: element i uses sin(0.7 (i mod PERIOD) + 1.3 k). */
export const PERIOD = 997;

/**
 * The formula tensor of the k-th state_dict entry `name` with `shape` (float32; num_batches_tracked
 * int64 0). Batch-norm weights (the other 1-D tensors) are `bnWeight.offset + bnWeight.scale * s`
 * (default 0.5 + 0.25 s, as make_resnet_fixture.py; make_mobilenet_fixture.py uses 1.5 + 0.5 s).
 */
export function formulaTensor(name: string, k: number, shape: number[], bnWeight = { scale: 0.25, offset: 0.5 }): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (name.endsWith('num_batches_tracked')) return zeros(shape, { dtype: 'int64' });
  return noGrad(() =>
    tidy(() => {
      const s = arange(0, PERIOD, 1, { dtype: 'float64' })
        .mul(0.7)
        .add(1.3 * k)
        .sin();
      let v: Tensor;
      if (name.endsWith('running_var')) v = s.abs().mul(0.5).add(1);
      else if (name.endsWith('running_mean') || name.endsWith('bias')) v = s.mul(0.1);
      else if (shape.length === 4) v = s.div(Math.sqrt(shape[1]! * shape[2]! * shape[3]!));
      else if (shape.length === 2) v = s.div(Math.sqrt(shape[1]!));
      else v = s.mul(bnWeight.scale).add(bnWeight.offset);
      return v
        .float()
        .repeat(Math.ceil(n / PERIOD))
        .narrow(0, 0, n)
        .reshape(shape);
    }),
  );
}

/** torchvision's full state_dict names and shapes of `arch` (the trunk, then fc), in order. */
export function torchvisionShapes(arch: ResnetArch): [string, number[]][] {
  return [...resnetStateShapes(arch), ['fc.weight', [1000, resnetLayerChannels(arch).layer4]], ['fc.bias', [1000]]];
}

/** The formula weights of `arch` under torchvision's names (fc included), in state_dict order. */
export function formulaStateDict(arch: ResnetArch): Map<string, Tensor> {
  return new Map(torchvisionShapes(arch).map(([name, shape], k) => [name, formulaTensor(name, k, shape)]));
}

/** x: 2 x 3 x 32 x 32, x_i = sin(0.37 i + 0.1); gray: 2 x 1 x 16 x 16, g_i = sin(0.23 i) (as the fixture script). */
export function formulaInputs(): { x: Tensor; gray: Tensor } {
  const x = tidy(() =>
    arange(0, 2 * 3 * 32 * 32, 1, { dtype: 'float64' })
      .mul(0.37)
      .add(0.1)
      .sin()
      .float()
      .reshape([2, 3, 32, 32]),
  );
  const gray = tidy(() =>
    arange(0, 2 * 16 * 16, 1, { dtype: 'float64' })
      .mul(0.23)
      .sin()
      .float()
      .reshape([2, 1, 16, 16]),
  );
  return { x, gray };
}
