"""Turns the MobileNetV2 bundled in the npm package nsfwjs@4.4.0 into the safetensors file that
anogen's MobileNetV2 trunk (the 'backbone' feature source) reads.

Getting the package (nothing is downloaded by this script; npm needs network access once):

    npm pack nsfwjs@4.4.0 && tar xzf nsfwjs-4.4.0.tgz     # -> ./package/
    /usr/bin/python3 scripts/nsfwjs_to_safetensors.py package mobilenet_v2-nsfwjs.safetensors [--verify 3]

Licence: nsfwjs is MIT-licensed (Copyright (c) 2019 Infinite Red, Inc.; see package/LICENSE). The
weights are Keras's ImageNet MobileNetV2 (alpha 1.0, 224 px) fine-tuned by nsfwjs's authors as a
5-class image classifier; only the convolutional trunk is written here (the classifier head --
average pooling, flatten, dense_1..dense_3, dropouts -- is left out). Keep the MIT notice with the
weights if you redistribute the output file.

What it does
1. Decodes ``package/dist/models/<model>/`` (a TFJS LayersModel bundled as browserify modules) with
   ``load_tfjs_model`` of scripts/nsfwjs_bundle.py: the uint8-quantized weights are
   dequantized as TFJS does (``q * scale + min``, float32).
2. Checks the Keras topology is exactly the MobileNetV2 trunk of the shared spec: every layer from
   the input to ``out_relu`` in order, with its class, its inputs, kernel sizes, strides,
   paddings (ZeroPadding2D = Keras ``correct_pad`` for the static input size; 3x3 depthwise
   'same' at stride 1 and 'valid' after the pad at stride 2), channel counts, no biases, ReLU6,
   every BatchNormalization epsilon 1e-3, and the weight shapes. Anything else is refused with a
   message naming the layer and the field. 1x1 stride-1 convolutions may say 'same' or 'valid'
   (identical for a 1x1 kernel; Keras writes 'same' for expand/project and 'valid' for Conv_1).
3. Writes float32 tensors named by Keras layer in PyTorch layouts: Conv2D ``X.weight``
   [out, in, kh, kw] (kernel.permute(3, 2, 0, 1)), DepthwiseConv2D ``X.weight`` [C, 1, kh, kw]
   (depthwise_kernel.permute(2, 3, 0, 1)), BatchNormalization ``X.weight`` / ``X.bias`` /
   ``X.running_mean`` / ``X.running_var`` (gamma, beta, moving mean, moving variance), in
   topology order, atomically (``write_safetensors`` of scripts/torchvision_to_safetensors.py: a
   temporary file then rename), and prints the tensor count, the number of values and the SHA-256.
4. ``--verify N``: reads the written file back, runs a compact PyTorch forward of the spec built
   only from those tensors (``spec_forward``) and the topology-interpreted network of scripts/nsfwjs_bundle.py
   (``KerasNet``, from the decoded bundle) on the first N images (sorted by name) of
   ``--data``/train/good, preprocessed as nsfwjs does (gray -> RGB, /255, bilinear
   align_corners=True to the input size, no mean/std), and prints the max |difference| of the
   four stage outputs (layer1 block_2_add, layer2 block_5_add, layer3 block_12_add, layer4
   out_relu) absolute and relative to the largest |value|; exits 1 if any relative difference
   exceeds ``--tol`` (default 1e-5).

Needs PyTorch, NumPy and Pillow (no TensorFlow, no safetensors package).
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
import nsfwjs_bundle as nsfw  # noqa: E402  (decoder, KerasNet, preprocessing)
from torchvision_to_safetensors import write_safetensors  # noqa: E402

BN_EPS = 1e-3
# blocks 1..16 of Keras MobileNetV2 (alpha 1.0): (out channels, stride)
BLOCKS = [(24, 2), (24, 1), (32, 2), (32, 1), (32, 1), (64, 2), (64, 1), (64, 1), (64, 1),
          (96, 1), (96, 1), (96, 1), (160, 2), (160, 1), (160, 1), (320, 1)]
STAGES = {"layer1": "block_2_add", "layer2": "block_5_add", "layer3": "block_12_add", "layer4": "out_relu"}


class TopologyError(Exception):
    pass


def correct_pad(size):
    """Keras applications ``correct_pad`` for a 3x3 kernel: (before, after) for one dimension."""
    return (0, 1) if size % 2 == 0 else (1, 1)


def expected_trunk():
    """[(name, class, expected config subset, input names, conv/bn channel info)] from input to out_relu.
    Channel info: ("conv", in, out, k) / ("dw", C, k) / ("bn", C) / None; "pad" entries are resolved
    against the static size while checking."""
    out = []

    def conv(name, src, cin, cout, k, stride, padding):
        out.append((name, "Conv2D", {"filters": cout, "kernel_size": [k, k], "strides": [stride, stride],
                                     "padding": padding, "dilation_rate": [1, 1], "activation": "linear",
                                     "use_bias": False}, [src], ("conv", cin, cout, k)))

    def dw(name, src, c, stride, padding):
        out.append((name, "DepthwiseConv2D", {"kernel_size": [3, 3], "strides": [stride, stride], "padding": padding,
                                              "dilation_rate": [1, 1], "activation": "linear", "use_bias": False,
                                              "depth_multiplier": 1}, [src], ("dw", c, 3)))

    def bn(name, src, c):
        out.append((name, "BatchNormalization", {"epsilon": BN_EPS, "center": True, "scale": True}, [src], ("bn", c)))

    def relu6(name, src):
        out.append((name, "ReLU", {"max_value": 6, "negative_slope": 0, "threshold": 0}, [src], None))

    def pad(name, src):
        out.append((name, "ZeroPadding2D", {"padding": "correct_pad"}, [src], None))

    out.append((None, "InputLayer", {}, [], None))  # name taken from the model
    pad("Conv1_pad", "<input>")
    conv("Conv1", "Conv1_pad", 3, 32, 3, 2, "valid")
    bn("bn_Conv1", "Conv1", 32)
    relu6("Conv1_relu", "bn_Conv1")
    dw("expanded_conv_depthwise", "Conv1_relu", 32, 1, "same")
    bn("expanded_conv_depthwise_BN", "expanded_conv_depthwise", 32)
    relu6("expanded_conv_depthwise_relu", "expanded_conv_depthwise_BN")
    conv("expanded_conv_project", "expanded_conv_depthwise_relu", 32, 16, 1, 1, "1x1")
    bn("expanded_conv_project_BN", "expanded_conv_project", 16)
    prev, cin = "expanded_conv_project_BN", 16
    for i, (cout, s) in enumerate(BLOCKS, start=1):
        p, mid = "block_%d_" % i, 6 * cin
        conv(p + "expand", prev, cin, mid, 1, 1, "1x1")
        bn(p + "expand_BN", p + "expand", mid)
        relu6(p + "expand_relu", p + "expand_BN")
        if s == 2:
            pad(p + "pad", p + "expand_relu")
            dw(p + "depthwise", p + "pad", mid, 2, "valid")
        else:
            dw(p + "depthwise", p + "expand_relu", mid, 1, "same")
        bn(p + "depthwise_BN", p + "depthwise", mid)
        relu6(p + "depthwise_relu", p + "depthwise_BN")
        conv(p + "project", p + "depthwise_relu", mid, cout, 1, 1, "1x1")
        bn(p + "project_BN", p + "project", cout)
        if s == 1 and cin == cout:
            out.append((p + "add", "Add", {}, [prev, p + "project_BN"], None))
            prev = p + "add"
        else:
            prev = p + "project_BN"
        cin = cout
    conv("Conv_1", prev, cin, 1280, 1, 1, "1x1")
    bn("Conv_1_bn", "Conv_1", 1280)
    relu6("out_relu", "Conv_1_bn")
    return out


def check_topology(layers, weights):
    """Raises TopologyError unless `layers` begin with exactly the spec's MobileNetV2 trunk.
    Returns (input size, [(layer name, kind)] of the layers holding weights, in order)."""
    exp = expected_trunk()
    if len(layers) < len(exp):
        raise TopologyError("the model has %d layers; the MobileNetV2 trunk alone has %d" % (len(layers), len(exp)))
    first = layers[0]
    if first["class_name"] != "InputLayer":
        raise TopologyError("layer 0 is %s %r, expected an InputLayer" % (first["class_name"], first["name"]))
    shape = first["config"].get("batch_input_shape")
    if not (isinstance(shape, list) and len(shape) == 4 and shape[3] == 3 and isinstance(shape[1], int)
            and shape[1] == shape[2]):
        raise TopologyError("input %r: batch_input_shape %r, expected [null, S, S, 3] with a fixed S"
                            % (first["name"], shape))
    size = shape[1]
    rename = {"<input>": first["name"]}
    hw = size  # spatial size flowing through the trunk (square)
    holders = []
    for idx, ((name, cls, want, srcs, info), lay) in enumerate(zip(exp, layers)):
        name = name or first["name"]
        where = "layer %d (%r)" % (idx, lay["name"])
        if lay["name"] != name or lay["class_name"] != cls:
            raise TopologyError("%s is %s %r; expected %s %r" % (where, lay["class_name"], lay["name"], cls, name))
        cfg = lay["config"]
        nodes = lay.get("inbound_nodes") or []
        got_srcs = [n[0] for n in nodes[0]] if nodes else []
        srcs = [rename.get(s, s) for s in srcs]
        if len(nodes) > 1 or sorted(got_srcs) != sorted(srcs):
            raise TopologyError("%s takes its input from %r; expected %r" % (where, got_srcs, srcs))
        for key, val in want.items():
            got = cfg.get(key)
            if key == "padding" and val == "correct_pad":
                val = [list(correct_pad(hw)), list(correct_pad(hw))]
                if got != val:
                    raise TopologyError("%s: padding %r; Keras correct_pad for a %dx%d input is %r"
                                        % (where, got, hw, hw, val))
                hw += sum(val[0])
                continue
            if key == "padding" and val == "1x1":
                if got not in ("same", "valid"):
                    raise TopologyError("%s: padding %r, expected 'same' or 'valid'" % (where, got))
                continue
            if key == "epsilon" and isinstance(got, (int, float)) and abs(got - val) <= 1e-9:
                continue
            if key == "max_value" and isinstance(got, (int, float)) and got == val:
                continue
            if got != val:
                raise TopologyError("%s: %s is %r, expected %r" % (where, key, got, val))
        if cls == "BatchNormalization" and cfg.get("axis", -1) not in (-1, 3, [3], [-1]):
            raise TopologyError("%s: BatchNormalization axis %r, expected -1 (channels)" % (where, cfg.get("axis")))
        if cls in ("Conv2D", "DepthwiseConv2D"):
            k, s = cfg["kernel_size"][0], cfg["strides"][0]
            if cfg["padding"] == "same":
                hw = -(-hw // s)
            else:
                hw = (hw - k) // s + 1
            if cfg.get("data_format", "channels_last") != "channels_last":
                raise TopologyError("%s: data_format %r, expected channels_last" % (where, cfg.get("data_format")))
        if info:
            kind = info[0]
            if kind == "conv":
                shapes = {name + "/kernel": [info[3], info[3], info[1], info[2]]}
            elif kind == "dw":
                shapes = {name + "/depthwise_kernel": [info[2], info[2], info[1], 1]}
            else:
                shapes = {name + "/" + w: [info[1]] for w in ("gamma", "beta", "moving_mean", "moving_variance")}
            for wname, wshape in shapes.items():
                if wname not in weights:
                    raise TopologyError("%s: weight %r missing from the weights manifest" % (where, wname))
                if list(weights[wname].shape) != wshape:
                    raise TopologyError("%s: weight %r has shape %r, expected %r"
                                        % (where, wname, list(weights[wname].shape), wshape))
            extra = [w for w in weights if w.startswith(name + "/") and w not in shapes]
            if extra:
                raise TopologyError("%s: unexpected weights %r (a bias?)" % (where, extra))
            holders.append((name, kind))
    if size % 32 or hw != size // 32:
        raise TopologyError("out_relu would be %dx%d for a %dx%d input; expected %d" % (hw, hw, size, size, size // 32))
    return size, holders


def convert(weights, holders):
    """{tensor name: float32 torch tensor} in the spec's PyTorch layouts, in topology order."""
    out = {}
    for name, kind in holders:
        if kind == "conv":
            out[name + ".weight"] = torch.from_numpy(weights[name + "/kernel"]).permute(3, 2, 0, 1).contiguous()
        elif kind == "dw":
            k = torch.from_numpy(weights[name + "/depthwise_kernel"])  # [kh, kw, C, 1]
            out[name + ".weight"] = k.permute(2, 3, 0, 1).contiguous()
        else:
            for src, dst in (("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"),
                             ("moving_variance", "running_var")):
                out["%s.%s" % (name, dst)] = torch.from_numpy(weights["%s/%s" % (name, src)]).contiguous()
    return {k: v.float() for k, v in out.items()}


def read_safetensors(path):
    """{name: float32 tensor} of a safetensors file holding only F32 tensors (a minimal reader)."""
    data = open(path, "rb").read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        if spec["dtype"] != "F32":
            raise ValueError("%s: %s is %s, expected F32" % (path, name, spec["dtype"]))
        a, b = spec["data_offsets"]
        arr = np.frombuffer(data, dtype="<f4", count=(b - a) // 4, offset=base + a).copy()
        out[name] = torch.from_numpy(arr).reshape(spec["shape"])
    return out


def spec_forward(t, x):
    """The shared spec's MobileNetV2 trunk from the safetensors tensors `t`; x: [N, 3, S, S] preprocessed.
    Returns {layer1..layer4: NCHW map}."""

    def bn(y, name, relu):
        y = F.batch_norm(y, t[name + ".running_mean"], t[name + ".running_var"], t[name + ".weight"], t[name + ".bias"],
                         False, 0.0, BN_EPS)
        return y.clamp(0.0, 6.0) if relu else y

    def pad(y):
        (t0, b0), (l0, r0) = correct_pad(y.shape[2]), correct_pad(y.shape[3])
        return F.pad(y, (l0, r0, t0, b0))

    def dw(y, name, stride):
        w = t[name + ".weight"]
        if stride == 2:
            return F.conv2d(pad(y), w, stride=2, groups=w.shape[0])
        return F.conv2d(y, w, padding=1, groups=w.shape[0])

    outs = {}
    y = bn(F.conv2d(pad(x), t["Conv1.weight"], stride=2), "bn_Conv1", True)
    y = bn(dw(y, "expanded_conv_depthwise", 1), "expanded_conv_depthwise_BN", True)
    y = bn(F.conv2d(y, t["expanded_conv_project.weight"]), "expanded_conv_project_BN", False)
    cin = 16
    for i, (cout, s) in enumerate(BLOCKS, start=1):
        p = "block_%d_" % i
        h = bn(F.conv2d(y, t[p + "expand.weight"]), p + "expand_BN", True)
        h = bn(dw(h, p + "depthwise", s), p + "depthwise_BN", True)
        h = bn(F.conv2d(h, t[p + "project.weight"]), p + "project_BN", False)
        y = y + h if s == 1 and cin == cout else h
        cin = cout
        for stage, tap in STAGES.items():
            if tap == p + "add":
                outs[stage] = y
    outs["layer4"] = bn(F.conv2d(y, t["Conv_1.weight"]), "Conv_1_bn", True)
    return outs


def verify(out_path, layers, weights, size, data, n, tol):
    """Prints the spec forward vs the KerasNet (scripts/nsfwjs_bundle.py) differences on n images; returns True if within tol."""
    t = read_safetensors(out_path)
    folder = os.path.join(data, "train", "good")
    paths = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".png"))[:n]
    if len(paths) < n:
        raise SystemExit("--verify %d: only %d PNG images in %s" % (n, len(paths), folder))
    x = nsfw.preprocess(np.stack([nsfw.load_rgb(p) for p in paths]), size)  # NHWC
    net = nsfw.KerasNet(layers, weights).eval()
    with torch.no_grad():
        ref = net(x, list(STAGES.values()))
        got = spec_forward(t, x.permute(0, 3, 1, 2).contiguous())
    ok = True
    rows = {}
    for stage, tap in STAGES.items():
        a, b = got[stage], ref[tap]
        if a.shape != b.shape:
            print("verify: %s (%s) shape %r vs KerasNet %r" % (stage, tap, list(a.shape), list(b.shape)))
            return False
        diff = float((a - b).abs().max())
        peak = float(b.abs().max())
        rel = diff / peak if peak > 0 else diff
        ok = ok and rel <= tol
        rows[stage] = {"tap": tap, "shape": list(a.shape[1:]), "max_abs_diff": diff, "max_abs": round(peak, 4),
                       "relative": rel}
    print(json.dumps({"verify": {"images": [os.path.basename(p) for p in paths], "tol_relative": tol, "stages": rows,
                                 "ok": ok}}))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("package", help="the extracted nsfwjs package folder (holding dist/models/)")
    ap.add_argument("output", help="the .safetensors file to write")
    ap.add_argument("--model", default="mobilenet_v2", help="folder under dist/models (default mobilenet_v2; only a "
                    "Keras MobileNetV2 LayersModel is accepted)")
    ap.add_argument("--verify", type=int, default=0, metavar="N", help="check the written file on the first N ELPV "
                    "train/good images against nsfwjs_bundle.py's KerasNet (default 0 = off)")
    ap.add_argument("--data", default="/work/shared/data/elpv",
                    help="ELPV root for --verify (default /work/shared/data/elpv)")
    ap.add_argument("--tol", type=float, default=1e-5,
                    help="--verify: largest accepted max|diff| / max|value| (default 1e-5)")
    a = ap.parse_args()
    if a.verify < 0:
        sys.exit("--verify must be >= 0 (got %d)" % a.verify)
    torch.set_num_threads(1)
    model_dir = os.path.join(a.package, "dist", "models", a.model)
    if not os.path.isfile(os.path.join(model_dir, "model.min.js")):
        sys.exit("%s: no model.min.js; --model must name a folder of %s (got %r)"
                 % (model_dir, os.path.join(a.package, "dist", "models"), a.model))
    try:
        layers, weights = nsfw.load_tfjs_model(model_dir)
    except KeyError as e:
        sys.exit("%s: not a TFJS LayersModel bundle (no %s in model.json); only the Keras MobileNetV2 is supported"
                 % (model_dir, e))
    try:
        size, holders = check_topology(layers, weights)
    except TopologyError as e:
        sys.exit("%s: not the expected Keras MobileNetV2 (alpha 1.0) trunk: %s" % (model_dir, e))
    tensors = convert(weights, holders)
    version = "?"
    try:
        version = json.load(open(os.path.join(a.package, "package.json")))["version"]
    except (OSError, ValueError, KeyError):
        pass
    meta = {"format": "pt", "arch": "mobilenet_v2", "source": "nsfwjs@%s dist/models/%s" % (version, a.model),
            "license": "MIT (nsfwjs, Copyright (c) 2019 Infinite Red, Inc.)", "input_size": str(size),
            "bn_eps": str(BN_EPS), "preprocess": "rgb/255, bilinear align_corners=true to input_size, no mean/std"}
    write_safetensors(a.output, tensors, meta)
    sha = hashlib.sha256(open(a.output, "rb").read()).hexdigest()
    nvals = sum(v.numel() for v in tensors.values())
    dropped = sum(v.size for k, v in weights.items() if k.split("/")[0] not in {h for h, _ in holders})
    print("wrote %s: %d tensors, %s float32 values (%s head values left out), sha256 %s"
          % (a.output, len(tensors), format(nvals, ","), format(int(dropped), ","), sha))
    if a.verify and not verify(a.output, layers, weights, size, a.data, a.verify, a.tol):
        sys.exit(1)


if __name__ == "__main__":
    main()
