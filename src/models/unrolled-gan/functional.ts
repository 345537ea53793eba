/**
 * A functional forward of {@link DcganDiscriminator}: D(x) with some or all of its parameters
 * replaced by other tensors (the unrolled discriminator's parameters, which are functions of the
 * generator's weights), computed with the same operations as the Module's forward. Batch norm
 * uses the batch's statistics (D always trains in training mode) and updates no running
 * statistics: an unrolled look-ahead must leave the real discriminator's state untouched.
 */
import type { Tensor } from '../../core/tensor.js';
import { AnogenError } from '../../core/errors.js';
import * as F from '../../nn/functional.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { BatchNorm2d } from '../../nn/layers/norm.js';
import { LeakyReLU } from '../../nn/layers/activation.js';
import type { DcganDiscriminator } from '../gan/networks.js';

/** Replacement tensors by the parameter they stand for (parameters not in the map are used as they are). */
export type ParamSubstitution = Map<Tensor, Tensor>;

/**
 * Logits [N] of images `x` under `netD`'s architecture with the parameters of `subst` (default
 * none: `netD`'s own, as `netD.call(x)` in training mode but without touching its batch-norm
 * statistics). Every layer of the DCGAN discriminator (Conv2d, BatchNorm2d, LeakyReLU) is
 * supported; another layer type is an AnogenError.
 */
export function discriminatorForward(netD: DcganDiscriminator, x: Tensor, subst: ParamSubstitution = new Map()): Tensor {
  const s = x.shape;
  if (s.length !== 4 || s[1] !== netD.nc || s[2] !== netD.isize || s[3] !== netD.isize) {
    throw new AnogenError(`discriminatorForward: expected input [N, ${netD.nc}, ${netD.isize}, ${netD.isize}], got [${s.join(', ')}]`);
  }
  const p = (t: Tensor | null): Tensor | null => (t === null ? null : (subst.get(t) ?? t));
  let h = x;
  for (const [name, m] of netD.main.namedChildren()) {
    if (m instanceof Conv2d) {
      if (m.paddingMode !== 'zeros') throw new AnogenError(`discriminatorForward: layer '${name}' pads with '${m.paddingMode}'; only zero padding is supported`);
      h = F.conv2d(h, p(m.weight)!, p(m.bias), { stride: m.stride, padding: m.padding, dilation: m.dilation, groups: m.groups });
    } else if (m instanceof BatchNorm2d) {
      h = F.batchNorm(h, null, null, { weight: p(m.weight), bias: p(m.bias), training: true, momentum: 0, eps: m.eps });
    } else if (m instanceof LeakyReLU) {
      h = h.leakyRelu(m.negativeSlope);
    } else {
      throw new AnogenError(`discriminatorForward: layer '${name}' (${m.typeName}) is not supported (Conv2d, BatchNorm2d, LeakyReLU)`);
    }
  }
  return h.view([-1]);
}
