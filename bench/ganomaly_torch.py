#!/usr/bin/env python3
"""PyTorch twin of bench/ganomaly-speed.ts: the reference GANomaly (bench/engine_torch.py's NetG and
NetD, the official optimize_params step) timed for training (batch 64) and for scoring (eval mode,
no_grad, A(x) = mean (z - z^)^2 read back as a list) of 1 image and of a batch of 256.

  /usr/bin/python3 bench/ganomaly_torch.py --steps 5 --reps 5 --threads 2 [--train-steps 0]
prints one JSON line {"score1_ms": [...], "score256_ms": [...], "train_ms": [...], "torch": ...}.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_torch import NetD, NetG, l2, weights_init  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ngf", type=int, default=64)
    ap.add_argument("--train-steps", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    g, d = NetG(32, 100, 1, a.ngf), NetD(32, 1, a.ngf)
    g.apply(weights_init)
    d.apply(weights_init)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "train_ms": []}
    if a.train_steps > 0:
        og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        bce, l1 = nn.BCELoss(), nn.L1Loss()
        x = torch.rand(64, 1, 32, 32) * 2 - 1
        real, fake_lbl = torch.ones(64), torch.zeros(64)
        for s in range(a.warmup + a.train_steps):
            t0 = time.perf_counter()
            fake, zi, zo = g(x)
            pr, _ = d(x)
            pf, _ = d(fake.detach())
            og.zero_grad()
            err_g = l2(d(x)[1], d(fake)[1]) + 50 * l1(fake, x) + l2(zo, zi)
            err_g.backward(retain_graph=True)
            og.step()
            od.zero_grad()
            err_d = (bce(pr, real) + bce(pf, fake_lbl)) * 0.5
            err_d.backward()
            od.step()
            if err_d.item() < 1e-5:
                d.apply(weights_init)
            if s >= a.warmup:
                out["train_ms"].append((time.perf_counter() - t0) * 1000)
    g.eval()
    with torch.no_grad():
        for n in (1, 256):
            xb = torch.rand(n, 1, 32, 32) * 2 - 1
            ms = []
            for i in range(a.warmup + a.reps):
                t0 = time.perf_counter()
                _, zi, zo = g(xb)
                torch.mean((zi - zo) ** 2, dim=(1, 2, 3)).tolist()
                if i >= a.warmup:
                    ms.append((time.perf_counter() - t0) * 1000)
            out[f"score{n}_ms"] = ms
    print(json.dumps(out))


if __name__ == "__main__":
    main()
