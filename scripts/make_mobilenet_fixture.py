"""Reference outputs of the Keras MobileNetV2 trunk (alpha 1.0, no head) for anogen's src/models/mobilenet.

Run with /usr/bin/python3 (torch only):

    /usr/bin/python3 scripts/make_mobilenet_fixture.py

A standalone PyTorch implementation of the architecture as Keras builds it
(keras/applications/mobilenet_v2.py), written from the specification in src/models/mobilenet/README.md,
not from anogen's TypeScript: Conv1 (Keras `correct_pad`, 3x3 stride 2 'valid', 32), bn_Conv1, ReLU6;
expanded_conv (depthwise 3x3 'same', project to 16); block_1..block_16 (1x1 expand x6, depthwise 3x3 with
correct_pad + 'valid' when stride 2, 1x1 project, residual add when stride 1 and in == out); Conv_1 (1x1, 1280),
Conv_1_bn, ReLU6. Every batch norm has eps 1e-3 and runs on its moving statistics. The stages: layer1 =
block_2_add, layer2 = block_5_add, layer3 = block_12_add, layer4 = out_relu.

No weights are downloaded or committed: every tensor gets values from a closed formula that
test/models/mobilenet.test.ts computes identically. For the k-th tensor in the spec's order (each layer in
order; a conv's `weight`, a batch norm's `weight`, `bias`, `running_mean`, `running_var`) and its flat
element index i, with s = sin(0.7 (i mod 997) + 1.3 k) computed in float64:

    conv weight (4-D)     s / sqrt(fan_in)          (fan_in = in_channels / groups * kh * kw = shape[1] * kh * kw)
    batch-norm weight     1.5 + 0.5 s               (larger than the ResNet fixture's 0.5 + 0.25 s so that
                                                    activations reach ReLU6's upper clamp in the deeper blocks)
    batch-norm bias       0.1 s
    running_mean          0.1 s
    running_var           1 + 0.5 |s|

then rounded to float32. The inputs (closed formulas too, see `inputs()`): a [2, 3, 224, 224] batch (every
stride-2 pad is the even case: top/left 0, bottom/right 1) and a [2, 3, 97, 102] batch (heights all odd: pad
1/1; widths 102 -> 51 -> 26 -> 13 -> 7 -> 4 mix both cases, and H != W catches a swapped pad).

Writes test/fixtures/mobilenet/reference.json (about 30 KB):
- `names`: the state-dict names and shapes, in order (PyTorch's num_batches_tracked left out, as in the spec);
- `cases`: per input, its shape and, for layer1..layer4, the output shape and, per image, every `step`-th value
  of the flattened [C, H, W] map (7 significant digits; `step` is coprime with H * W so that the samples move
  across positions and channels), the sum and the sum of squares of the whole map (float64).
"""

import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "mobilenet", "reference.json")
PERIOD = 997
EPS = 1e-3
# (out channels, stride) of block_1 .. block_16
BLOCKS = [(24, 2), (24, 1), (32, 2), (32, 1), (32, 1), (64, 2), (64, 1), (64, 1), (64, 1), (96, 1), (96, 1), (96, 1), (160, 2), (160, 1), (160, 1), (320, 1)]
TAPS = {2: "layer1", 5: "layer2", 12: "layer3"}
LAYERS = ["layer1", "layer2", "layer3", "layer4"]
SIZES = [(224, 224), (97, 102)]


def correct_pad(x):
    """Keras's correct_pad for a 3x3 kernel: per spatial dim, (0, 1) when even, (1, 1) when odd; F.pad takes (left, right, top, bottom)."""
    h, w = x.shape[-2:]
    return F.pad(x, (w % 2, 1, h % 2, 1))


def relu6(x):
    return torch.clamp(x, 0.0, 6.0)


class KerasMobileNetV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.order = []  # layer names in the spec's order

        def conv(name, cin, cout, k, stride=1, groups=1):
            setattr(self, name, nn.Conv2d(cin, cout, k, stride=stride, padding=0, groups=groups, bias=False))
            self.order.append(name)

        def bn(name, c):
            setattr(self, name, nn.BatchNorm2d(c, eps=EPS))
            self.order.append(name)

        conv("Conv1", 3, 32, 3, stride=2)
        bn("bn_Conv1", 32)
        conv("expanded_conv_depthwise", 32, 32, 3, groups=32)
        bn("expanded_conv_depthwise_BN", 32)
        conv("expanded_conv_project", 32, 16, 1)
        bn("expanded_conv_project_BN", 16)
        cin = 16
        for i, (cout, stride) in enumerate(BLOCKS, start=1):
            e = 6 * cin
            conv(f"block_{i}_expand", cin, e, 1)
            bn(f"block_{i}_expand_BN", e)
            conv(f"block_{i}_depthwise", e, e, 3, stride=stride, groups=e)
            bn(f"block_{i}_depthwise_BN", e)
            conv(f"block_{i}_project", e, cout, 1)
            bn(f"block_{i}_project_BN", cout)
            cin = cout
        conv("Conv_1", 320, 1280, 1)
        bn("Conv_1_bn", 1280)

    def m(self, name):
        return getattr(self, name)

    def forward_layers(self, x):
        out = {}
        x = relu6(self.bn_Conv1(self.Conv1(correct_pad(x))))
        x = relu6(self.expanded_conv_depthwise_BN(self.expanded_conv_depthwise(F.pad(x, (1, 1, 1, 1)))))
        x = self.expanded_conv_project_BN(self.expanded_conv_project(x))
        cin = 16
        for i, (cout, stride) in enumerate(BLOCKS, start=1):
            h = relu6(self.m(f"block_{i}_expand_BN")(self.m(f"block_{i}_expand")(x)))
            h = correct_pad(h) if stride == 2 else F.pad(h, (1, 1, 1, 1))
            h = relu6(self.m(f"block_{i}_depthwise_BN")(self.m(f"block_{i}_depthwise")(h)))
            h = self.m(f"block_{i}_project_BN")(self.m(f"block_{i}_project")(h))
            x = x + h if stride == 1 and cin == cout else h
            cin = cout
            if i in TAPS:
                out[TAPS[i]] = x
        out["layer4"] = relu6(self.Conv_1_bn(self.Conv_1(x)))
        return out

    def spec_entries(self):
        """(name, tensor) in the spec's order, without num_batches_tracked."""
        entries = []
        for name in self.order:
            mod = self.m(name)
            if isinstance(mod, nn.Conv2d):
                entries.append((f"{name}.weight", mod.weight))
            else:
                for p in ["weight", "bias", "running_mean", "running_var"]:
                    entries.append((f"{name}.{p}", getattr(mod, p)))
        return entries


def formula_value(name, k, shape):
    """The formula tensor of the k-th spec tensor `name` (see the module docstring)."""
    n = 1
    for d in shape:
        n *= d
    s = torch.sin(0.7 * torch.arange(PERIOD, dtype=torch.float64) + 1.3 * k)
    if name.endswith("running_var"):
        v = 1 + 0.5 * s.abs()
    elif name.endswith("running_mean") or name.endswith("bias"):
        v = 0.1 * s
    elif len(shape) == 4:
        v = s / math.sqrt(shape[1] * shape[2] * shape[3])
    else:
        v = 1.5 + 0.5 * s
    return v.to(torch.float32).repeat((n + PERIOD - 1) // PERIOD)[:n].reshape(shape)


def build():
    model = KerasMobileNetV2()
    entries = model.spec_entries()
    with torch.no_grad():
        for k, (name, t) in enumerate(entries):
            t.copy_(formula_value(name, k, list(t.shape)))
    return model.eval(), [[name, list(t.shape)] for name, t in entries]


def inputs(h, w):
    """[2, 3, h, w], x_i = 0.5 + 0.5 sin(0.37 i + 0.1) (in [0, 1], as the preprocessed pixels)."""
    n = 2 * 3 * h * w
    return (0.5 + 0.5 * torch.sin(0.37 * torch.arange(n, dtype=torch.float64) + 0.1)).to(torch.float32).reshape(2, 3, h, w)


def sample_step(numel, hw, count=40):
    step = max(1, numel // count)
    while math.gcd(step, hw) != 1:
        step += 1
    return step


def summary(t):
    """t: [N, C, H, W] -> every step-th value of each image's flattened map, its sum and sum of squares."""
    n, c, h, w = t.shape
    flat = t.double().reshape(n, -1)
    step = sample_step(c * h * w, h * w)
    return {
        "shape": list(t.shape),
        "step": step,
        "values": [[float("%.7g" % float(v)) for v in row[::step]] for row in flat],
        "sum": [float(row.sum()) for row in flat],
        "sumsq": [float((row * row).sum()) for row in flat],
    }


def main():
    torch.set_num_threads(1)
    model, names = build()
    cases = []
    with torch.no_grad():
        for h, w in SIZES:
            outs = model.forward_layers(inputs(h, w))
            cases.append({"input": [2, 3, h, w], "layers": {name: summary(outs[name]) for name in LAYERS}})
            for name in LAYERS:
                o = outs[name]
                zeros, sixes = float((o == 0).double().mean()), float((o == 6).double().mean())
                print(f"{h}x{w} {name} {list(o.shape)} mean {o.mean():.4f} std {o.std():.4f} max|.| {o.abs().max():.4f} zeros {zeros:.3f} sixes {sixes:.3f}")
    out = {"generator": "scripts/make_mobilenet_fixture.py", "torch": torch.__version__, "names": names, "cases": cases}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, OUT)
    print(len(names), "tensors,", sum(math.prod(s) for _, s in names), "values; wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
