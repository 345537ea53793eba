#!/usr/bin/env python3
"""Do the ImageNet-derived CNNs bundled in the npm package nsfwjs@4.4.0 (MIT) lift ELPV anomaly
detection? A PyTorch prototype (nothing downloaded at run time; nothing from nsfwjs is committed).

What it does
1. Decodes (with scripts/nsfwjs_bundle.py, shared with scripts/nsfwjs_to_safetensors.py) a model bundled in nsfwjs (``package/dist/models/<name>/``). Format found: each
   ``*.min.js`` is a browserify UMD bundle whose module 1 is ``a.exports = <JS object literal>``
   (model.min.js: the TFJS LayersModel ``model.json`` -- ``modelTopology`` (Keras 2.2.4 config) and
   ``weightsManifest``) or ``h.exports = "<base64>"`` (group1-shardKofN.min.js: the weight bytes).
   The literal is not JSON (unquoted keys, ``!0``/``!1``, ``.5``) so a small JS-literal parser
   reads it. All weights are uint8-quantized (``quantization: {min, scale, dtype: "uint8"}``);
   TFJS dequantizes as ``q * scale + min`` and so does this script.
2. Rebuilds the network in PyTorch by interpreting the Keras topology layer by layer (InputLayer,
   ZeroPadding2D, Conv2D, DepthwiseConv2D, BatchNormalization (eps from config), ReLU (max_value),
   Add, AveragePooling2D, Flatten, Dense, Dropout=identity; plus what InceptionV3 needs:
   MaxPooling2D, Concatenate, Activation). ``padding: "same"`` uses TF's rule (total =
   max((ceil(in/s)-1)*s + k - in, 0), the extra pixel at the bottom/right); MobileNetV2's stride-2
   convs are ``valid`` after an explicit ZeroPadding2D ((0,1),(0,1)), reproduced as given.
3. Verifies it (``--verify-node DIR``, DIR = a scratch folder with ``npm install @tensorflow/tfjs@4
   nsfwjs@4.4.0``): Node runs nsfwjs's own bundled model (``nsfwjs.load(name)`` then
   ``model.infer(tensor3d)``, tfjs cpu backend) on 3 ELPV images given as raw RGB uint8 pixels, also
   at the endpoints used below; PyTorch runs the rebuilt net on the same pixels with the same
   preprocessing; the max abs differences are printed.
   nsfwjs preprocessing (dist/cjs/core.js ``infer``): ``img.toFloat().div(255)`` (so [0, 1], no
   mean/std, no [-1, 1]) then, if not already size x size, ``tf.image.resizeBilinear(x, [size,
   size], alignCorners=true)`` -- identical to torch ``F.interpolate(bilinear, align_corners=True)``.
4. Evaluates on ELPV (train/good 1,131; test/good 377 vs test/defect 821; test/uncertain left out)
   with two configurations fixed before any result:
   (a) gaussian: gray -> RGB, /255, bilinear (align_corners=True) to the model size; features at
       the last block of the stride-8 stage and of the stride-16 stage, each globally average
       pooled; one sklearn LedoitWolf Gaussian per stage on all train/good; score = sum over the
       two stages of the Mahalanobis distance (sqrt of the squared distance).
   (b) patchcore: the same two maps, each AvgPool2d(3, stride 1, padding 1) (count_include_pad,
       torch default), the stride-16 map bilinearly upsampled (align_corners=False) to the stride-8
       map's size, concatenated on channels; per position, L2 distance to the nearest training
       image's feature at the same position; image score = max over positions.
   AUROC and AUPRC (defect = positive, sklearn roc_auc_score / average_precision_score).
   Stages: MobileNetV2 (224 px): stride 8 = ``block_5_add`` (28x28x32; blocks 3-5, block_3 is the
   stride-2 one), stride 16 = ``block_12_add`` (14x14x96; blocks 6-12, the last block before
   block_13's stride 2). InceptionV3 (299 px, Keras ``valid`` stem): stride 8 = ``mixed2``
   (35x35x288; mixed0-2 is the 35x35 stage), stride 16 = ``mixed7`` (17x17x768; mixed3 reduces
   to 17x17, mixed4-7 are the 17x17 stage, mixed8 reduces to 8x8). (InceptionV3's stem is all
   'valid', so the "strides" are nominal: 299 -> 35 -> 17.)

Command (torch 1.13 CPU, one thread, under nice; the scratch Node folder is only for --verify-node):
  nice -n 10 /usr/bin/python3 bench/elpv_nsfwjs_features.py --nsfwjs /tmp/nsfwchk/package \\
      --data /work/shared/data/elpv --model mobilenet_v2 --verify-node /tmp/tfjs
  (the numbers below came from two runs of this: one with --verify-only, one without
  --verify-node; --verify-node needs `node` and DIR/node_modules/{@tensorflow/tfjs@4,nsfwjs@4.4.0})

Measured results (2026-11-30, 2 shared cores under load ~6, torch 1.13 CPU, 1 thread, batch 32):
  MobileNetV2 (2,619,461 weights, 162 layers; decode 0.7 s):
    verification vs nsfwjs 4.4.0 / tfjs 4.22.0 cpu backend in Node, 3 images (the first file
    of each folder: train/good cell0004, test/good cell0009, test/defect cell0001): 5-class
    probabilities max |diff| 5.8e-6, 1.3e-6, 8.3e-6 (e.g. nsfwjs [0.016283, 0.034468,
    0.162713, 0.741110, 0.045426] vs torch [0.016281, 0.034466, 0.162711, 0.741116, 0.045427]);
    block_5_add max |diff| 7.5e-4..8.2e-4 (values up to 23.4), block_12_add 4.7e-4..5.2e-4
    (values up to 25.3), relative ~4e-5, consistent with float32 summation-order noise.
    features block_5_add [32, 28, 28], block_12_add [96, 14, 14]; extraction 65.4 s train (1,131)
    + 61.2 s test (1,198) = 0.054 s/image.
    (a) gaussian   AUROC 0.8096  AUPRC 0.9136  (fit + score 0.8 s)
    (b) patchcore  AUROC 0.8669  AUPRC 0.9366  (patch map [128, 28, 28]; 29.9 s)
  (previous best without pretrained weights: 0.775)
  InceptionV3 (22,360,869 weights, 318 layers; decode 11 s): verified the same way (Node took
    644 s for the 3 images x 3 passes): 5-class probabilities max |diff| 8.2e-6, 2.7e-5, 9.4e-6
    (top class Neutral 0.952/0.809/0.817 both sides); mixed2 [35, 35, 288] max |diff| 5.5e-5..7.4e-5
    (values up to 7.4); mixed7 [17, 17, 768] 1.4e-4..1.5e-4 (values up to 4.9).
    ELPV evaluation NOT run (deadline): extraction to mixed7 measured 0.92 s/image (8 images,
    1 thread, loaded machine), i.e. ~36 min for the 2,329 images; patchcore on the
    [1056, 35, 35] map is ~1.8e12 multiply-adds, 13x MobileNetV2's 1.4e11 (30 s), so ~7 min
    more. Command: the one above with --model inception_v3.
"""
import argparse
import base64
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# ----------------------------------------------------------------------------------------------
# 1-2. decoding the bundled TFJS model and its Keras topology in PyTorch: scripts/nsfwjs_bundle.py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from nsfwjs_bundle import KerasNet, load_rgb, load_tfjs_model, preprocess  # noqa: E402

MODELS = {
    # folder: (nsfwjs name, input size, stride-8 endpoint, stride-16 endpoint, classifier output)
    "mobilenet_v2": ("MobileNetV2", 224, "block_5_add", "block_12_add", "dense_3"),
    "inception_v3": ("InceptionV3", 299, "mixed2", "mixed7", "dense_3"),
}


# ----------------------------------------------------------------------------------------------
# 3. verification against nsfwjs itself in Node

NODE_SCRIPT = r"""
const { createRequire } = require('module');
const fs = require('fs');
const req = createRequire(process.argv[2] + '/');
const tf = req('@tensorflow/tfjs');
const nsfwjs = req('nsfwjs');
(async () => {
  await tf.setBackend('cpu');
  const inp = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
  const model = await nsfwjs.load(inp.model, { size: inp.size });
  const out = { tfjs: tf.version.tfjs, backend: tf.getBackend(), images: [] };
  for (const img of inp.images) {
    const t = tf.tensor3d(img.data, [img.h, img.w, 3], 'int32');
    const rec = { name: img.name, probs: Array.from(await model.infer(t).data()) };
    const cls = await model.classify(t, 5);
    rec.classify = cls;
    for (const ep of inp.endpoints) {
      const y = model.infer(t, ep);
      rec[ep] = { shape: y.shape, data: Array.from(await y.data()) };
      y.dispose();
    }
    t.dispose();
    out.images.push(rec);
  }
  fs.writeFileSync(process.argv[4], JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def verify_node(net, folder, node_dir, paths):
    name, size, e8, e16, head = MODELS[folder]
    imgs = [load_rgb(p) for p in paths]
    endpoints = [e8, e16]
    with tempfile.TemporaryDirectory() as td:
        inp = {
            "model": name,
            "size": size,
            "endpoints": endpoints,
            "images": [
                {"name": os.path.basename(p), "h": im.shape[0], "w": im.shape[1], "data": im.reshape(-1).tolist()}
                for p, im in zip(paths, imgs)
            ],
        }
        ip, op, js = (os.path.join(td, f) for f in ("in.json", "out.json", "run.cjs"))
        json.dump(inp, open(ip, "w"))
        open(js, "w").write(NODE_SCRIPT)
        t0 = time.time()
        r = subprocess.run(["node", js, os.path.abspath(node_dir), ip, op], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("node failed:\n" + r.stdout + r.stderr)
        res = json.load(open(op))
        t_node = time.time() - t0
    x = preprocess(np.stack(imgs), size)
    with torch.no_grad():
        outs = net(x, endpoints + ([head] if head else []))
    report = {"tfjs": res["tfjs"], "backend": res["backend"], "node_s": round(t_node, 1), "images": []}
    for i, rec in enumerate(res["images"]):
        row = {"image": rec["name"]}
        if head:
            pt = outs[head][i].numpy()
            js_p = np.array(rec["probs"], dtype=np.float64)
            row["nsfwjs_probs"] = [round(float(v), 6) for v in js_p]
            row["torch_probs"] = [round(float(v), 6) for v in pt]
            row["max_abs_diff_probs"] = float(np.abs(pt - js_p).max())
            row["classify_top"] = rec["classify"][0]
        for ep in endpoints:
            js_f = np.array(rec[ep]["data"], dtype=np.float32).reshape(rec[ep]["shape"][1:])  # HWC
            pt_f = outs[ep][i].permute(1, 2, 0).numpy()
            row[ep] = {
                "shape_hwc": list(js_f.shape),
                "max_abs_diff": float(np.abs(pt_f - js_f).max()),
                "max_abs": float(np.abs(js_f).max()),
            }
        report["images"].append(row)
    return report


# ----------------------------------------------------------------------------------------------
# 4. ELPV evaluation


def list_split(data, split, label):
    d = os.path.join(data, split, label)
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".png"))


def extract(net, folder, paths, batch):
    """Stride-8 and stride-16 maps (NCHW float32) of all paths."""
    _, size, e8, e16, _ = MODELS[folder]
    f8, f16 = [], []
    with torch.no_grad():
        for i in range(0, len(paths), batch):
            x = preprocess(np.stack([load_rgb(p) for p in paths[i : i + batch]]), size)
            o = net(x, [e8, e16])
            f8.append(o[e8].clone())
            f16.append(o[e16].clone())
    return torch.cat(f8), torch.cat(f16)


def gaussian_scores(train_maps, test_maps):
    from sklearn.covariance import LedoitWolf

    total = np.zeros(test_maps[0].shape[0])
    for tr, te in zip(train_maps, test_maps):
        a = tr.mean(dim=(2, 3)).double().numpy()
        b = te.mean(dim=(2, 3)).double().numpy()
        lw = LedoitWolf().fit(a)
        total += np.sqrt(np.maximum(lw.mahalanobis(b), 0.0))  # sklearn returns the squared distance
    return total


def patch_maps(m8, m16):
    a = F.avg_pool2d(m8, 3, 1, 1)
    b = F.avg_pool2d(m16, 3, 1, 1)
    b = F.interpolate(b, size=a.shape[2:], mode="bilinear", align_corners=False)
    return torch.cat([a, b], dim=1)


def patchcore_scores(train_p, test_p, chunk=16):
    """Per position nearest training feature at that position (L2), max over positions."""
    n, c, h, w = test_p.shape
    tr = train_p.permute(2, 3, 0, 1).reshape(h * w, train_p.shape[0], c)  # [P, M, C]
    te = test_p.permute(2, 3, 0, 1).reshape(h * w, n, c)  # [P, N, C]
    best = torch.full((n,), -math.inf)
    for p in range(0, h * w, chunk):
        d = torch.cdist(te[p : p + chunk].double(), tr[p : p + chunk].double()).min(dim=2).values  # [p, N]
        best = torch.maximum(best, d.max(dim=0).values.float())
    return best.numpy()


def metrics(scores, labels):
    from sklearn.metrics import average_precision_score, roc_auc_score

    return {"auroc": round(float(roc_auc_score(labels, scores)), 4), "auprc": round(float(average_precision_score(labels, scores)), 4)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nsfwjs", required=True, help="the extracted nsfwjs 'package/' folder")
    ap.add_argument("--data", default="/work/shared/data/elpv", help="ELPV root (train/good, test/good, test/defect)")
    ap.add_argument("--model", default="mobilenet_v2", choices=sorted(MODELS), help="bundled model folder (default mobilenet_v2)")
    ap.add_argument("--verify-node", default=None, help="scratch folder with node_modules/{@tensorflow/tfjs,nsfwjs}")
    ap.add_argument("--verify-only", action="store_true", help="stop after the verification")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--batch", type=int, default=32, help="images per forward pass (default 32)")
    ap.add_argument("--limit", type=int, default=0, help="debug: use only the first N images per folder (default 0 = all)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    folder = args.model
    name, size, e8, e16, _ = MODELS[folder]

    t0 = time.time()
    layers, weights = load_tfjs_model(os.path.join(args.nsfwjs, "dist", "models", folder))
    net = KerasNet(layers, weights).eval()
    print(json.dumps({"model": name, "size": size, "layers": len(layers), "weights": len(weights),
                      "params": int(sum(v.size for v in weights.values())), "decode_s": round(time.time() - t0, 2),
                      "stride8": e8, "stride16": e16}), flush=True)

    train = list_split(args.data, "train", "good")
    good = list_split(args.data, "test", "good")
    bad = list_split(args.data, "test", "defect")
    if args.limit:
        train, good, bad = train[: args.limit], good[: args.limit], bad[: args.limit]

    if args.verify_node:
        rep = verify_node(net, folder, args.verify_node, [train[0], good[0], bad[0]])
        print(json.dumps({"verify": rep}), flush=True)
        if args.verify_only:
            return

    t0 = time.time()
    tr8, tr16 = extract(net, folder, train, args.batch)
    t_train = time.time() - t0
    t0 = time.time()
    te8, te16 = extract(net, folder, good + bad, args.batch)
    t_test = time.time() - t0
    labels = np.array([0] * len(good) + [1] * len(bad))
    print(json.dumps({"features": {e8: list(tr8.shape[1:]), e16: list(tr16.shape[1:])},
                      "extract_train_s": round(t_train, 1), "extract_test_s": round(t_test, 1),
                      "n_train": len(train), "n_test_good": len(good), "n_test_defect": len(bad),
                      "s_per_image": round((t_train + t_test) / (len(train) + len(good) + len(bad)), 4)}), flush=True)

    t0 = time.time()
    sg = gaussian_scores([tr8, tr16], [te8, te16])
    res_g = dict(metrics(sg, labels), seconds=round(time.time() - t0, 2))
    print(json.dumps({"gaussian": res_g}), flush=True)

    t0 = time.time()
    trp, tep = patch_maps(tr8, tr16), patch_maps(te8, te16)
    sp = patchcore_scores(trp, tep)
    res_p = dict(metrics(sp, labels), seconds=round(time.time() - t0, 2), patch_map=list(trp.shape[1:]))
    print(json.dumps({"patchcore": res_p}), flush=True)


if __name__ == "__main__":
    main()
