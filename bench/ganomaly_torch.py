#!/usr/bin/env python3
"""PyTorch twin of anogen's GANomaly training step and scorer, for bench/ganomaly_speed.ts.

Same networks (the official DCGAN encoder-decoder-encoder generator and discriminator, built
by bench/engine_torch.py), same step as src/detectors/ganomaly/trainer.ts: one generator
forward, D on x and on x^, L_G = 1*L2(features) + 50*L1 + 1*L2(z), L_D = BCE/2, gradients of
L_G w.r.t. G and of L_D w.r.t. D, Adam 2e-4 (0.5, 0.999) on both. Scoring: eval mode,
no_grad, A(x) = mean (z - z^)^2.

  /usr/bin/python3 bench/ganomaly_torch.py --steps 10 --threads 2
prints one JSON line {"train_images_per_s", "score1_ms", "score256_ms"}.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_torch import NetD, NetG, weights_init  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--ngf", type=int, default=64)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    g, d = NetG(32, 100, 1, a.ngf), NetD(32, 1, a.ngf)
    g.apply(weights_init)
    d.apply(weights_init)
    og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce, l1 = nn.BCELoss(), nn.L1Loss()
    x = torch.rand(a.batch, 1, 32, 32) * 2 - 1
    t = 0.0
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        fake, zi, zo = g(x)
        pr, fr = d(x)
        pf, ff = d(fake)
        lg = torch.mean((ff - fr.detach()) ** 2) + 50 * l1(fake, x) + torch.mean((zo - zi) ** 2)
        ld = (bce(pr, torch.ones_like(pr)) + bce(pf, torch.zeros_like(pf))) * 0.5
        gg = torch.autograd.grad(lg, list(g.parameters()), retain_graph=True)
        gd = torch.autograd.grad(ld, list(d.parameters()))
        for p, gr in zip(g.parameters(), gg):
            p.grad = gr
        for p, gr in zip(d.parameters(), gd):
            p.grad = gr
        og.step()
        od.step()
        if s >= a.warmup:
            t += time.perf_counter() - t0
    g.eval()
    res = {"train_images_per_s": a.steps * a.batch / t}
    with torch.no_grad():
        for n in (1, 256):
            xb = torch.rand(n, 1, 32, 32) * 2 - 1
            g(xb)
            t0 = time.perf_counter()
            for _ in range(a.reps):
                _, zi, zo = g(xb)
                torch.mean((zi - zo) ** 2, dim=(1, 2, 3)).numpy()
            res[f"score{n}_ms"] = (time.perf_counter() - t0) / a.reps * 1000
    print(json.dumps(res))


if __name__ == "__main__":
    main()
