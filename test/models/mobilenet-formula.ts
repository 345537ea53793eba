// Formula weights of the MobileNetV2 trunk (scripts/make_mobilenet_fixture.py's formula_value),
// shared by test/models/mobilenet.test.ts and test/detectors/backbone-mobilenet.test.ts.
import { arange, noGrad, tidy, type Tensor } from '../../src/core/index.js';
import { mobilenetStateShapes } from '../../src/models/mobilenet/index.js';

const PERIOD = 997;

/** The formula tensor of the k-th spec tensor (scripts/make_mobilenet_fixture.py's formula_value). */
export function formulaTensor(name: string, k: number, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
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
      else v = s.mul(0.5).add(1.5);
      return v
        .float()
        .repeat(Math.ceil(n / PERIOD))
        .narrow(0, 0, n)
        .reshape(shape);
    }),
  );
}

/** The formula weights under the spec's names, in order. */
export function formulaStateDict(): Map<string, Tensor> {
  return new Map(mobilenetStateShapes().map(([name, shape], k) => [name, formulaTensor(name, k, shape)]));
}
