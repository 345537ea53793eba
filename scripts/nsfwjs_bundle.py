"""Reading the TensorFlow.js models that the npm package nsfwjs (MIT) bundles, in PyTorch.

Shared by scripts/nsfwjs_to_safetensors.py (the converter anogen's `--backbone-arch mobilenet_v2`
needs) and bench/elpv_nsfwjs_features.py (the prototype that measured those features on ELPV and
verified this decoding against nsfwjs itself). See the latter's docstring for the format:
browserify bundles whose module 1 exports the LayersModel JSON as a JS object literal, or a
shard's weight bytes as base64; uint8-quantised weights, dequantised as TFJS does.
"""
import base64
import math
import os
import re

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
