#!/usr/bin/env python3
"""Do the ImageNet-derived CNNs bundled in the npm package nsfwjs@4.4.0 (MIT) lift ELPV anomaly
detection? A PyTorch prototype (nothing downloaded at run time; nothing from nsfwjs is committed).

What it does
1. Decodes a model bundled in nsfwjs (``package/dist/models/<name>/``). Format found: each
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
# 1. decoding the bundled TFJS model


class _JsLiteral:
    """Recursive-descent reader of a JavaScript object literal (as minifiers write it)."""

    _num = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
    _ident = re.compile(r"[A-Za-z_$][A-Za-z_$0-9]*|\d+")

    def __init__(self, text, pos):
        self.t = text
        self.i = pos

    def _ws(self):
        while self.t[self.i] in " \n\t\r":
            self.i += 1

    def value(self):
        self._ws()
        c = self.t[self.i]
        if c == "{":
            self.i += 1
            out = {}
            while True:
                self._ws()
                if self.t[self.i] == "}":
                    self.i += 1
                    return out
                if self.t[self.i] in "\"'":
                    key = self._string()
                else:
                    m = self._ident.match(self.t, self.i)
                    key = m.group(0)
                    self.i = m.end()
                self._ws()
                if self.t[self.i] != ":":
                    raise ValueError("expected ':' at %d: %r" % (self.i, self.t[self.i - 30 : self.i + 30]))
                self.i += 1
                out[key] = self.value()
                self._ws()
                if self.t[self.i] == ",":
                    self.i += 1
        if c == "[":
            self.i += 1
            out = []
            while True:
                self._ws()
                if self.t[self.i] == "]":
                    self.i += 1
                    return out
                out.append(self.value())
                self._ws()
                if self.t[self.i] == ",":
                    self.i += 1
        if c in "\"'":
            return self._string()
        for word, val in (("!0", True), ("!1", False), ("null", None), ("true", True), ("false", False), ("void 0", None)):
            if self.t.startswith(word, self.i):
                self.i += len(word)
                return val
        m = self._num.match(self.t, self.i)
        if not m:
            raise ValueError("cannot read a value at %d: %r" % (self.i, self.t[self.i - 30 : self.i + 30]))
        self.i = m.end()
        g = m.group(0)
        return float(g) if any(ch in g for ch in ".eE") else int(g)

    def _string(self):
        q = self.t[self.i]
        self.i += 1
        out = []
        while self.t[self.i] != q:
            if self.t[self.i] == "\\":
                out.append(self.t[self.i : self.i + 2].encode().decode("unicode_escape"))
                self.i += 2
            else:
                out.append(self.t[self.i])
                self.i += 1
        self.i += 1
        return "".join(out)


def read_bundle_export(path):
    """The value of module 1's ``<x>.exports = ...`` in a browserify bundle written by nsfwjs."""
    text = open(path, encoding="utf-8").read()
    start = text.find("1:[function(")
    m = re.compile(r"\b[A-Za-z_$]\.exports=").search(text, start)
    if start < 0 or not m:
        raise ValueError("%s: no browserify module 1 with an exports assignment" % path)
    return _JsLiteral(text, m.end()).value()


def load_tfjs_model(model_dir):
    """(topology layers list, {weight name: float32 ndarray}) of a bundled nsfwjs model folder."""
    mj = read_bundle_export(os.path.join(model_dir, "model.min.js"))
    layers = mj["modelTopology"]["model_config"]["config"]["layers"]
    weights = {}
    for group in mj["weightsManifest"]:
        data = b"".join(
            base64.b64decode(read_bundle_export(os.path.join(model_dir, p + ".min.js"))) for p in group["paths"]
        )
        off = 0
        for spec in group["weights"]:
            n = int(np.prod(spec["shape"])) if spec["shape"] else 1
            q = spec.get("quantization")
            if q:
                qdt = {"uint8": np.uint8, "uint16": np.uint16}[q["dtype"]]
                raw = np.frombuffer(data, dtype=qdt, count=n, offset=off)
                off += n * raw.itemsize
                if "scale" in q:
                    val = raw.astype(np.float32) * np.float32(q["scale"]) + np.float32(q["min"])
                else:
                    raise ValueError("unsupported quantization %r" % q)
            else:
                assert spec["dtype"] == "float32", spec
                val = np.frombuffer(data, dtype=np.float32, count=n, offset=off).copy()
                off += 4 * n
            weights[spec["name"]] = val.reshape(spec["shape"]).astype(np.float32)
        if off != len(data):
            raise ValueError("weights manifest covers %d of %d bytes" % (off, len(data)))
    return layers, weights


# ----------------------------------------------------------------------------------------------
# 2. the Keras topology interpreted in PyTorch (NCHW inside)


def _tf_same_pad(size, k, s, d=1):
    keff = (k - 1) * d + 1
    out = math.ceil(size / s)
    total = max((out - 1) * s + keff - size, 0)
    return total // 2, total - total // 2


class KerasNet(torch.nn.Module):
    """Runs a Keras functional-model config with TFJS weights; forward returns the named outputs."""

    def __init__(self, layers, weights):
        super().__init__()
        self.layers_cfg = layers
        self.params = {}
        for lay in layers:
            name, cls, cfg = lay["name"], lay["class_name"], lay["config"]
            p = {}
            if cls == "Conv2D":
                p["w"] = torch.from_numpy(weights[name + "/kernel"]).permute(3, 2, 0, 1).contiguous()
                if cfg.get("use_bias"):
                    p["b"] = torch.from_numpy(weights[name + "/bias"])
            elif cls == "DepthwiseConv2D":
                k = torch.from_numpy(weights[name + "/depthwise_kernel"])  # [kh, kw, in, mult]
                kh, kw, cin, mult = k.shape
                p["w"] = k.permute(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw).contiguous()
                if cfg.get("use_bias"):
                    p["b"] = torch.from_numpy(weights[name + "/bias"])
            elif cls == "BatchNormalization":
                mean = torch.from_numpy(weights[name + "/moving_mean"])
                var = torch.from_numpy(weights[name + "/moving_variance"])
                gamma = torch.from_numpy(weights[name + "/gamma"]) if cfg.get("scale", True) else torch.ones_like(mean)
                beta = torch.from_numpy(weights[name + "/beta"]) if cfg.get("center", True) else torch.zeros_like(mean)
                if cfg.get("axis", -1) not in (-1, 3, [3]):
                    raise ValueError("%s: BN axis %r" % (name, cfg.get("axis")))
                p["mean"], p["var"], p["gamma"], p["beta"] = mean, var, gamma, beta
            elif cls == "Dense":
                p["w"] = torch.from_numpy(weights[name + "/kernel"]).t().contiguous()
                if cfg.get("use_bias"):
                    p["b"] = torch.from_numpy(weights[name + "/bias"])
            self.params[name] = p

    @staticmethod
    def _act(x, a):
        if a in (None, "linear"):
            return x
        if a == "relu":
            return F.relu(x)
        if a == "softmax":
            return F.softmax(x, dim=-1)
        raise ValueError("activation %r" % a)

    def _conv(self, x, cfg, p, groups):
        kh, kw = cfg["kernel_size"]
        sh, sw = cfg["strides"]
        dh, dw = cfg.get("dilation_rate", [1, 1])
        if cfg["padding"] == "same":
            t, b = _tf_same_pad(x.shape[2], kh, sh, dh)
            left, r = _tf_same_pad(x.shape[3], kw, sw, dw)
            x = F.pad(x, (left, r, t, b))
        elif cfg["padding"] != "valid":
            raise ValueError("padding %r" % cfg["padding"])
        return F.conv2d(x, p["w"], p.get("b"), stride=(sh, sw), dilation=(dh, dw), groups=groups)

    def forward(self, x, outputs):
        """x: [N, H, W, 3] float (already preprocessed, NHWC like TFJS); outputs: layer names.
        Returns {name: tensor} with 4-D maps in NCHW and 2-D outputs as they are."""
        want = set(outputs)
        vals = {}
        last = max(i for i, lay in enumerate(self.layers_cfg) if lay["name"] in want)
        for lay in self.layers_cfg[: last + 1]:
            name, cls, cfg = lay["name"], lay["class_name"], lay["config"]
            ins = [vals[n[0]] for n in lay["inbound_nodes"][0]] if lay["inbound_nodes"] else []
            p = self.params[name]
            if cls == "InputLayer":
                y = x.permute(0, 3, 1, 2).contiguous()
            elif cls == "ZeroPadding2D":
                (t, b), (left, r) = cfg["padding"]
                y = F.pad(ins[0], (left, r, t, b))
            elif cls == "Conv2D":
                y = self._act(self._conv(ins[0], cfg, p, 1), cfg.get("activation"))
            elif cls == "DepthwiseConv2D":
                y = self._act(self._conv(ins[0], cfg, p, ins[0].shape[1]), cfg.get("activation"))
            elif cls == "BatchNormalization":
                y = F.batch_norm(ins[0], p["mean"], p["var"], p["gamma"], p["beta"], False, 0.0, cfg["epsilon"])
            elif cls == "ReLU":
                if cfg.get("negative_slope", 0) or cfg.get("threshold", 0):
                    raise ValueError("%s: leaky/threshold ReLU unsupported" % name)
                y = F.relu(ins[0]) if cfg.get("max_value") is None else torch.clamp(ins[0], 0.0, cfg["max_value"])
            elif cls == "Activation":
                y = self._act(ins[0], cfg["activation"])
            elif cls == "Add":
                y = ins[0]
                for other in ins[1:]:
                    y = y + other
            elif cls == "Concatenate":
                if cfg.get("axis", -1) not in (-1, 3):
                    raise ValueError("%s: concat axis %r" % (name, cfg.get("axis")))
                y = torch.cat(ins, dim=1)
            elif cls in ("AveragePooling2D", "MaxPooling2D"):
                kh, kw = cfg["pool_size"]
                sh, sw = cfg["strides"] or cfg["pool_size"]
                xin = ins[0]
                if cfg["padding"] == "same":
                    t, b = _tf_same_pad(xin.shape[2], kh, sh)
                    left, r = _tf_same_pad(xin.shape[3], kw, sw)
                    if cls == "MaxPooling2D":
                        y = F.max_pool2d(F.pad(xin, (left, r, t, b), value=-math.inf), (kh, kw), (sh, sw))
                    else:  # TF's 'same' average pooling divides by the count of real pixels
                        ones = torch.ones_like(xin[:1, :1])
                        s = F.avg_pool2d(F.pad(xin, (left, r, t, b)), (kh, kw), (sh, sw))
                        c = F.avg_pool2d(F.pad(ones, (left, r, t, b)), (kh, kw), (sh, sw))
                        y = s / c
                else:
                    pool = F.max_pool2d if cls == "MaxPooling2D" else F.avg_pool2d
                    y = pool(xin, (kh, kw), (sh, sw))
            elif cls == "GlobalAveragePooling2D":
                y = ins[0].mean(dim=(2, 3))
            elif cls == "Flatten":
                y = ins[0].permute(0, 2, 3, 1).reshape(ins[0].shape[0], -1)  # channels_last order
            elif cls == "Dense":
                y = self._act(F.linear(ins[0], p["w"], p.get("b")), cfg.get("activation"))
            elif cls == "Dropout":
                y = ins[0]
            else:
                raise ValueError("layer class %s (%s) not supported" % (cls, name))
            vals[name] = y
        return {n: vals[n] for n in outputs}


MODELS = {
    # folder: (nsfwjs name, input size, stride-8 endpoint, stride-16 endpoint, classifier output)
    "mobilenet_v2": ("MobileNetV2", 224, "block_5_add", "block_12_add", "dense_3"),
    "inception_v3": ("InceptionV3", 299, "mixed2", "mixed7", "dense_3"),
}


def preprocess(rgb_u8, size):
    """nsfwjs infer(): float / 255, then resizeBilinear(alignCorners=true) if not size x size.
    rgb_u8: [N, H, W, 3] uint8 ndarray -> [N, size, size, 3] float32 tensor."""
    x = torch.from_numpy(rgb_u8).float() / 255.0
    if x.shape[1] != size or x.shape[2] != size:
        x = F.interpolate(x.permute(0, 3, 1, 2), size=(size, size), mode="bilinear", align_corners=True)
        x = x.permute(0, 2, 3, 1).contiguous()
    return x


def load_rgb(path):
    """Gray PNG -> [H, W, 3] uint8 (channel replicated)."""
    g = np.asarray(Image.open(path).convert("L"), dtype=np.uint8)
    return np.repeat(g[:, :, None], 3, axis=2)


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
