/**
 * Batch-norm statistics recomputed for the current weights (torch.optim.swa_utils.update_bn).
 *
 * Why GAN detectors need it: the running averages kept during training (momentum 0.1) mix
 * statistics of weights from many steps back; after a short training they are far from the
 * final weights' and eval-mode scores are nonsense (measured for GANomaly: MNIST one-vs-rest
 * AUROC 0.007 instead of 0.997 for digit 1, identically in PyTorch).
 */
import { noGrad } from '../core/autograd.js';
import { tidy, keep } from '../core/scope.js';
import { zerosLike } from '../core/creation.js';
import type { Tensor } from '../core/tensor.js';
import { BatchNorm2d } from './layers/norm.js';
import type { Module } from './module.js';

type Acc = { mean: Tensor; var: Tensor; nbt: Tensor };

/** Accumulates per-batch statistics of every BatchNorm2d of a network (see recalibrateBatchNorm). */
class BnRecalibration {
  readonly bns: BatchNorm2d[];
  private acc: Acc[] = [];
  private batches = 0;
  private readonly wasTraining: boolean;
  constructor(private readonly net: Module<[Tensor], unknown>) {
    this.bns = [...net.modules()].filter((m): m is BatchNorm2d => m instanceof BatchNorm2d && m.runningMean !== null && m.runningVar !== null);
    this.wasTraining = net.training;
    noGrad(() => {
      this.acc = this.bns.map((b) => ({ mean: keep(zerosLike(b.runningMean!)), var: keep(zerosLike(b.runningVar!)), nbt: keep(b.numBatchesTracked!.clone()) }));
    });
    net.train();
  }
  /** One training-mode forward of a batch; its statistics are added to the averages. */
  add(x: Tensor): void {
    noGrad(() =>
      tidy(() => {
        // With the running statistics at 0 (and 0 batches tracked), one training-mode forward leaves
        // factor * (batch statistics) in them: factor = momentum, or 1 for a cumulative average.
        for (const b of this.bns) {
          b.runningMean!.zero_();
          b.runningVar!.zero_();
          b.numBatchesTracked?.zero_();
        }
        this.net.call(x);
        this.bns.forEach((b, j) => {
          const f = b.momentum ?? 1;
          this.acc[j]!.mean.add_(b.runningMean!, 1 / f);
          this.acc[j]!.var.add_(b.runningVar!, 1 / f);
        });
      }),
    );
    this.batches++;
  }
  /** Writes the averages into the layers (when any batch was seen), frees the accumulators, restores the mode. */
  close(commit: boolean): void {
    try {
      if (commit && this.batches > 0) {
        noGrad(() =>
          this.bns.forEach((b, j) => {
            b.runningMean!.copy_(this.acc[j]!.mean.div_(this.batches));
            b.runningVar!.copy_(this.acc[j]!.var.div_(this.batches));
            b.numBatchesTracked?.copy_(this.acc[j]!.nbt);
          }),
        );
      }
    } finally {
      for (const a of this.acc) for (const t of [a.mean, a.var, a.nbt]) t.dispose();
      this.net.train(this.wasTraining);
    }
  }
}

/**
 * Recomputes the running statistics of every BatchNorm2d in `net` for its current weights, as
 * torch.optim.swa_utils.update_bn does: `net` runs in training mode (no autograd) over `images` in
 * batches of `batchSize` (the last batch may be smaller), and each layer's running mean and
 * (unbiased) variance become the plain average of the per-batch statistics. Nothing else changes
 * (weights, num_batches_tracked and the train/eval mode are kept).
 */
export function recalibrateBatchNorm(net: Module<[Tensor], unknown>, images: Tensor, batchSize: number): void {
  const n = images.shape[0]!;
  const r = new BnRecalibration(net);
  if (r.bns.length === 0 || n === 0) return r.close(false);
  let ok = false;
  try {
    for (let i = 0; i < n; i += batchSize) {
      const xb = images.narrow(0, i, Math.min(batchSize, n - i));
      try {
        r.add(xb);
      } finally {
        xb.dispose();
      }
    }
    ok = true;
  } finally {
    r.close(ok);
  }
}

/** {@link recalibrateBatchNorm} over batches that stream in (e.g. a training folder read from disk). */
export async function recalibrateBatchNormFrom(net: Module<[Tensor], unknown>, batches: AsyncIterable<Tensor> | Iterable<Tensor>): Promise<void> {
  const r = new BnRecalibration(net);
  if (r.bns.length === 0) return r.close(false);
  let ok = false;
  try {
    for await (const x of batches) r.add(x);
    ok = true;
  } finally {
    r.close(ok);
  }
}
