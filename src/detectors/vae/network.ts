/**
 * The VAE's networks (Kingma & Welling, 2014): a Gaussian encoder q(z|x) = N(mu, diag(exp(logvar)))
 * whose code holds [mu, logvar] (2·nz units), and a decoder p(x|z) whose mean is tanh(a(z)).
 * Same encoder/decoder families as the autoencoder (src/detectors/ae/network.ts): 'conv'
 * (DCGAN) or 'dense' (MLP, as the paper's MNIST model).
 */
import { randnLike, type Tensor } from '../../core/index.js';
import { Codec, type CodecArch } from '../ae/network.js';

/** logvar is clamped to this range (exp stays finite; no effect on a healthy model). */
export const LOGVAR_RANGE: [number, number] = [-30, 20];

/** Encoder + decoder of the VAE (state dict `encoder.*`, `decoder.*`). */
export class VaeNetworks extends Codec {
  /** Builds them (AnogenError naming a bad option), initialised (see Codec.resetParameters). */
  constructor(arch: CodecArch) {
    super(arch, 2 * arch.nz, 'vae');
  }

  /** q(z|x): mean and log-variance, each N x nz (logvar clamped to {@link LOGVAR_RANGE}). */
  posterior(x: Tensor): { mu: Tensor; logvar: Tensor } {
    const h = this.encode(x);
    const nz = this.cfg.nz;
    return { mu: h.narrow(1, 0, nz), logvar: h.narrow(1, nz, nz).clamp(LOGVAR_RANGE[0], LOGVAR_RANGE[1]) };
  }

  /** z = mu + exp(logvar / 2) * eps (the reparameterisation trick). */
  static reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor): Tensor {
    return mu.add(logvar.mul(0.5).exp().mul(eps));
  }

  /**
   * The decoding of one posterior sample per image (eps from torch's seeded generator), as in
   * training: what the batch-norm recalibration runs.
   */
  override forward(x: Tensor): Tensor {
    const { mu, logvar } = this.posterior(x);
    return this.decode(VaeNetworks.reparameterize(mu, logvar, randnLike(mu)));
  }
}
