// Formula weights of the MobileNetV2 trunk (scripts/make_mobilenet_fixture.py's formula_value: the
// ResNet fixture's formula, with batch-norm weights 1.5 + 0.5 s so that ReLU6 saturates), shared by
// test/models/mobilenet.test.ts and test/detectors/backbone-mobilenet.test.ts.
import type { Tensor } from '../../src/core/index.js';
import { mobilenetStateShapes } from '../../src/models/mobilenet/index.js';
import { formulaTensor } from '../detectors/backbone-formula.js';

/** The formula weights under the spec's names, in order. */
export function formulaStateDict(): Map<string, Tensor> {
  return new Map(mobilenetStateShapes().map(([name, shape], k) => [name, formulaTensor(name, k, shape, { scale: 0.5, offset: 1.5 })]));
}
