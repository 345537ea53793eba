/**
 * AnoGAN's latent search (Schlegl et al., IPMI 2017, section 2.2): for each test image x, find
 * z with G(z) close to x by `iterations` (Gamma) steps of Adam on z minimising
 *
 *   L(z) = (1 - lambda) * sum |x - G(z)| + lambda * sum |f(x) - f(G(z))|
 *
 * (residual loss + discrimination loss, f = D's features: the paper's feature-matching variant;
 * sums are the L1 norms of the paper). The anomaly score is L(z_Gamma).
 *
 * Batched over images: the total minimised is the sum of the per-image losses and G and D run in
 * eval mode, so each z_i's gradient depends on image i alone, and Adam works element-wise; every
 * image starts from the same z0 (one draw from a JS generator seeded by `seed`, the same for every
 * image and every call). So an image scores the same alone or in any batch, and scoring never
 * touches torch's generator.
 */
import { enableGrad, grad, noGrad, tensor, tidy, zerosLike, type Device, type Tensor } from '../../core/index.js';
import { fillNormals, mulberry32 } from '../../data/random.js';
import type { AnoganNetworks } from './network.js';

/** Options of {@link latentSearch}. */
export interface LatentSearchOptions {
  /** Adam steps on z (Gamma; default 500). */
  iterations: number;
  /** Weight of the discrimination loss (default 0.1). */
  lambda: number;
  /** Adam's learning rate on z (default 0.01). */
  lr: number;
  /** Seed of the starting point z0 (default 0). */
  seed: number;
}

/** `n` standard normal numbers from mulberry32(seed) (Box-Muller). */
export function seededNormals(n: number, seed: number): Float32Array {
  return fillNormals(new Float32Array(n), mulberry32(seed));
}

/** The starting latent z0 [1, nz, 1, 1] (the same for every image). */
export function startLatent(nz: number, seed: number, device: Device): Tensor {
  return tensor(seededNormals(nz, seed), { shape: [1, nz, 1, 1], device });
}

/** Per-image AnoGAN loss L(z) (N) and G(z). */
export function anoganLoss(nets: AnoganNetworks, x: Tensor, featReal: Tensor, z: Tensor, lambda: number): { loss: Tensor; fake: Tensor } {
  const fake = nets.netg.call(z);
  const residual = x.sub(fake).abs().flatten(1).sum(1);
  const discrimination = nets.netd.call(fake)[1].sub(featReal).abs().flatten(1).sum(1);
  return { loss: residual.mul(1 - lambda).add(discrimination.mul(lambda)), fake };
}

/** The result of a latent search: z_Gamma, the per-image loss at z0 and at z_Gamma (the score), and G(z_Gamma). */
export interface LatentSearchResult {
  z: Tensor;
  initialLoss: Tensor;
  loss: Tensor;
  fake: Tensor;
}

/**
 * Runs the search on images x (on the networks' device; G and D must be in eval mode). Works
 * inside noGrad (it switches autograd on for itself); every intermediate tensor is freed.
 */
export function latentSearch(nets: AnoganNetworks, x: Tensor, o: LatentSearchOptions): LatentSearchResult {
  const n = x.shape[0]!;
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const featReal = noGrad(() => nets.netd.call(x)[1]);
  const z = noGrad(() =>
    tidy(() =>
      startLatent(nets.arch.nz, o.seed, x.device as Device)
        .expand([n, nets.arch.nz, 1, 1])
        .contiguous(),
    ),
  );
  const m = zerosLike(z);
  const v = zerosLike(z);
  try {
    const initialLoss = noGrad(() => tidy(() => anoganLoss(nets, x, featReal, z, o.lambda).loss));
    for (let t = 1; t <= o.iterations; t++) {
      tidy(() => {
        const g = enableGrad(() => {
          z.requiresGrad_(true);
          const { loss } = anoganLoss(nets, x, featReal, z, o.lambda);
          return grad(loss.sum(), z)[0]!;
        });
        noGrad(() => {
          z.requiresGrad_(false);
          m.mul_(b1).add_(g, 1 - b1);
          v.mul_(b2).addcmul_(g, g, 1 - b2);
          const denom = v
            .div(1 - b2 ** t)
            .sqrt()
            .add_(eps);
          z.addcdiv_(m, denom, -o.lr / (1 - b1 ** t));
        });
      });
    }
    const end = noGrad(() => tidy(() => anoganLoss(nets, x, featReal, z, o.lambda)));
    return { z, initialLoss, loss: end.loss, fake: end.fake };
  } finally {
    featReal.dispose();
    m.dispose();
    v.dispose();
  }
}
