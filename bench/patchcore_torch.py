#!/usr/bin/env python3
"""PyTorch twin of bench/patchcore-speed.ts: the same PatchCore computations as anogen's
src/detectors/patchcore/detector.ts, in float64 like anogen, timed for fit (the bank from the
training images) and score (the test images' scores read back as a list), on the images the .ts
wrote (raw float32 files, so both sides see the same values).

Workloads (see the .ts for the shapes):
- pixels-aware: 8 x 8 pixel patches at stride 4 of 64 x 64 gray images, one bank per position
  ([P, N, 64] by unfold), score = batched torch.cdist([P, n, D], [P, M, D]).min(-1) then the max
  over positions;
- pixels-coreset: one bank of every patch (image-major, as anogen), greedy k-center coreset
  (anomalib's KCenterGreedy style: a min-distance vector updated with the squared distance to the
  newest centre, written as |z|^2 - 2 z.c + |c|^2 like anogen, then argmax; no projection since
  D = 64 < 128), then torch.cdist nearest over the kept patches;
- resnet18-maps: torchvision resnet18 with scripts/make_resnet_fixture.py's formula weights (the
  ones the .ts saves for anogen), gray -> RGB [0, 1] -> bilinear 128 -> ImageNet mean/std ->
  layer2, layer3 -> AvgPool2d(3, 1, 1) each -> layer3 upsampled bilinearly to layer2's size ->
  cat -> one patch per position -> one bank -> torch.cdist nearest -> max.

Batching as anogen: scoring in batches of 256 images, distances in chunks of at most 2^24 values,
the backbone in chunks of 32 images.

  /usr/bin/python3 bench/patchcore_torch.py --data DIR [--workloads pixels-aware,pixels-coreset,resnet18-maps]
      [--reps 3] [--warmup 1] [--threads 1] [--coreset-start K] [--scores]
prints one JSON line {"torch": ..., "threads": ..., "times": {workload: {"fit": [s...], "score": [s...]}},
"scores": {workload: [...]}, "bank": {workload: [rows, dim]}}.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from make_resnet_fixture import formula_value  # noqa: E402

BLOCK = 2**24  # most distances held at once (anogen's PATCHCORE_BLOCK_VALUES)
SCORE_BATCH = 256  # anogen's FeatureDetector.score default batchSize
BACKBONE_CHUNK = 32  # anogen's BACKBONE_CHUNK
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def load(data, name, size):
    """The images DIR/name.f32 (raw float32) as [N, 1, size, size]; N from the file size."""
    path = os.path.join(data, name + ".f32")
    n = os.path.getsize(path) // (4 * size * size)
    return torch.from_file(path, shared=False, size=n * size * size, dtype=torch.float32).reshape(n, 1, size, size)


def pixel_patches(x, p=8, s=4):
    """[P, N, C*p*p] float64 patches, positions row-major, values channel, row, column (as anogen's patchesOf)."""
    n, c = x.shape[0], x.shape[1]
    u = x.double().unfold(2, p, s).unfold(3, p, s)  # [N, C, side, side, p, p]
    side = u.shape[2]
    return u.permute(2, 3, 0, 1, 4, 5).reshape(side * side, n, c * p * p).contiguous()


def nearest_aware(q, bank):
    """Per-position nearest distances [P, n] of queries [P, n, D] to banks [P, M, D], chunked over images."""
    p, n = q.shape[0], q.shape[1]
    step = max(1, BLOCK // (p * bank.shape[1]))
    return torch.cat([torch.cdist(q[:, i : i + step], bank).min(-1).values for i in range(0, n, step)], 1)


def nearest_shared(q, bank):
    """Nearest distances [P, n] of queries [P, n, D] to one bank [M, D], chunked over the P * n rows."""
    p, n, d = q.shape
    rows = q.reshape(p * n, d)
    step = max(1, BLOCK // bank.shape[0])
    return torch.cat([torch.cdist(rows[i : i + step], bank).min(-1).values for i in range(0, p * n, step)]).reshape(p, n)


def greedy_coreset(z, fraction, start):
    """Indices of the greedy k-center coreset of z [M, D] (k = ceil(fraction M)), from patch `start`."""
    m = z.shape[0]
    k = max(1, math.ceil(fraction * m))
    zsq = (z * z).sum(1)

    def to_center(i):
        c = z[i]
        return zsq - torch.mv(z, c) * 2 + c.dot(c)

    picked = [start]
    min_d = to_center(start)
    for _ in range(1, k):
        idx = int(torch.argmax(min_d))
        picked.append(idx)
        min_d = torch.minimum(min_d, to_center(idx))
    return torch.tensor(picked, dtype=torch.int64)


class Resnet18Maps:
    """resnet18 (formula weights) -> layer2 + layer3 maps, 3 x 3 averaged, upsampled, concatenated: patches [P, N, 384] float64."""

    def __init__(self):
        model = torchvision.models.resnet18()
        sd = model.state_dict()
        model.load_state_dict({name: formula_value(name, k, list(t.shape)) for k, (name, t) in enumerate(sd.items())})
        self.m = model.eval()
        self.mean = torch.tensor(MEAN).view(1, 3, 1, 1)
        self.std = torch.tensor(STD).view(1, 3, 1, 1)
        self.pool = torch.nn.AvgPool2d(3, 1, 1)

    def maps(self, x):
        h = ((x + 1) / 2).expand(-1, 3, -1, -1)
        h = F.interpolate(h, size=(128, 128), mode="bilinear", align_corners=False)
        m = self.m
        h = m.maxpool(m.relu(m.bn1(m.conv1((h - self.mean) / self.std))))
        l2 = m.layer2(m.layer1(h))
        l3 = m.layer3(l2)
        a2 = self.pool(l2)
        a3 = F.interpolate(self.pool(l3), size=a2.shape[-2:], mode="bilinear", align_corners=False)
        return torch.cat([a2, a3], 1).double()  # [n, 384, 16, 16]

    def patches(self, x):
        f = torch.cat([self.maps(x[i : i + BACKBONE_CHUNK]) for i in range(0, x.shape[0], BACKBONE_CHUNK)])
        n, c = f.shape[0], f.shape[1]
        return f.permute(2, 3, 0, 1).reshape(-1, n, c).contiguous()


def make_workloads(a):
    """name -> (fit(train) -> bank, score(bank, test) -> list of scores, train, test)."""
    out = {}
    if "pixels-aware" in a.workloads or "pixels-coreset" in a.workloads:
        ptrain, ptest = load(a.data, "pixels-train", 64), load(a.data, "pixels-test", 64)

    def batched(test, patches, nearest):
        scores = []
        for i in range(0, test.shape[0], SCORE_BATCH):
            scores.append(nearest(patches(test[i : i + SCORE_BATCH])).max(0).values)
        return torch.cat(scores).tolist()

    if "pixels-aware" in a.workloads:
        out["pixels-aware"] = (
            pixel_patches,
            lambda bank, test: batched(test, pixel_patches, lambda q: nearest_aware(q, bank)),
            ptrain,
            ptest,
        )
    if "pixels-coreset" in a.workloads:

        def fit_coreset(train):
            p = pixel_patches(train)
            z = p.transpose(0, 1).reshape(-1, p.shape[2])  # every patch, image-major (as anogen's single bank)
            return z[greedy_coreset(z, 0.01, a.coreset_start)].contiguous()

        out["pixels-coreset"] = (
            fit_coreset,
            lambda bank, test: batched(test, pixel_patches, lambda q: nearest_shared(q, bank)),
            ptrain,
            ptest,
        )
    if "resnet18-maps" in a.workloads:
        net = Resnet18Maps()

        def fit_resnet(train):
            p = net.patches(train)
            return p.transpose(0, 1).reshape(-1, p.shape[2]).contiguous()

        out["resnet18-maps"] = (
            fit_resnet,
            lambda bank, test: batched(test, net.patches, lambda q: nearest_shared(q, bank)),
            load(a.data, "resnet-train", 32),
            load(a.data, "resnet-test", 32),
        )
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="folder of the .ts's raw float32 images")
    ap.add_argument("--workloads", default="pixels-aware,pixels-coreset,resnet18-maps")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--coreset-start", type=int, default=0, help="index of the coreset's first patch (anogen's seeded start)")
    ap.add_argument("--scores", action="store_true", help="also print the scores of the first timed repetition")
    a = ap.parse_args()
    a.workloads = a.workloads.split(",")
    torch.set_num_threads(a.threads)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "times": {}, "scores": {}, "bank": {}}
    with torch.no_grad():
        for name, (fit, score, train, test) in make_workloads(a).items():
            t = {"fit": [], "score": []}
            for i in range(a.warmup + a.reps):
                t0 = time.perf_counter()
                bank = fit(train)
                t1 = time.perf_counter()
                s = score(bank, test)
                t2 = time.perf_counter()
                if i >= a.warmup:
                    t["fit"].append(t1 - t0)
                    t["score"].append(t2 - t1)
                    if a.scores and name not in out["scores"]:
                        out["scores"][name] = s
                out["bank"][name] = list(bank.shape)
                del bank
            out["times"][name] = t
    print(json.dumps(out))


if __name__ == "__main__":
    main()
