"""Reference outputs of torchvision's ResNets for anogen's backbone feature source.

Run with /usr/bin/python3 (torch and torchvision; `apt-get install python3-torchvision` on Debian):

    /usr/bin/python3 scripts/make_resnet_fixture.py

No weights are downloaded or committed: every tensor gets values from a closed formula that
test/detectors/backbone.test.ts (src/models/resnet/formula.ts) computes identically. For the
k-th entry of torchvision's state_dict (k counts every entry in order, num_batches_tracked and
fc included) and its flat element index i, with s = sin(0.7 (i mod 997) + 1.3 k) computed in
float64 (periodic, so that the 69M weights of wide_resnet50_2 are made by tiling 997 values; 997
is prime, so no channel repeats another's weights):

    conv weight (4-D)     s / sqrt(fan_in)               (fan_in = in_channels * kh * kw)
    fc.weight (2-D)       s / sqrt(fan_in)
    batch-norm weight     0.5 + 0.25 s
    bias                  0.1 s
    running_mean          0.1 s
    running_var           1 + 0.5 |s|
    num_batches_tracked   0

then rounded to float32. The inputs are closed formulas too (see `inputs()`).

Writes test/fixtures/resnet/resnet-reference.json (about 30 KB):
- `names`: torchvision's state_dict names and shapes of resnet18, resnet50 and wide_resnet50_2
  (wide_resnet50_2's names equal resnet50's; only its shapes are listed);
- `layers`: for each architecture, the outputs of layer1..layer4 global-average-pooled (batch 2,
  3 x 32 x 32 input): every 4th channel for resnet18, every 16th for the two others (7
  significant digits), plus the sum and the sum of squares over all channels of each layer;
- `source`: the whole 'backbone' feature source on resnet18 (gray [-1, 1] images 2 x 1 x 16 x 16
  -> [0, 1] -> 3 channels -> bilinear 32 x 32 -> ImageNet mean/std -> layer2, layer3 pooled,
  concatenated): every 2nd feature, sums and sums of squares;
- `patchcore`: PatchCore's patch features on that same input (layer2 and layer3 maps, 3 x 3
  neighbourhood averages, layer3 upsampled bilinearly to layer2's 4 x 4, concatenated: 384
  values per position) and image 1's nearest-neighbour distances to image 0's patches, per
  position, against the whole bank and against the same position.
"""

import json
import math
import os

import torch
import torch.nn.functional as F
import torchvision

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "resnet", "resnet-reference.json")
ARCHS = ["resnet18", "resnet50", "wide_resnet50_2"]
LAYERS = ["layer1", "layer2", "layer3", "layer4"]
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
PERIOD = 997


def formula_value(name, k, shape):
    """The formula tensor of the k-th state_dict entry `name` (see the module docstring)."""
    n = 1
    for d in shape:
        n *= d
    if name.endswith("num_batches_tracked"):
        return torch.zeros(shape, dtype=torch.int64)
    s = torch.sin(0.7 * torch.arange(PERIOD, dtype=torch.float64) + 1.3 * k)
    if name.endswith("running_var"):
        v = 1 + 0.5 * s.abs()
    elif name.endswith("running_mean") or name.endswith("bias"):
        v = 0.1 * s
    elif len(shape) == 4:
        v = s / math.sqrt(shape[1] * shape[2] * shape[3])
    elif len(shape) == 2:
        v = s / math.sqrt(shape[1])
    else:
        v = 0.5 + 0.25 * s
    return v.to(torch.float32).repeat((n + PERIOD - 1) // PERIOD)[:n].reshape(shape)


def build(arch):
    model = getattr(torchvision.models, arch)()
    sd = model.state_dict()
    new = {name: formula_value(name, k, list(t.shape)) for k, (name, t) in enumerate(sd.items())}
    model.load_state_dict(new)
    return model.eval(), [[name, list(t.shape)] for name, t in sd.items()]


def inputs():
    """x: 2 x 3 x 32 x 32, x_i = sin(0.37 i + 0.1); gray: 2 x 1 x 16 x 16 in [-1, 1], g_i = sin(0.23 i)."""
    x = torch.sin(0.37 * torch.arange(2 * 3 * 32 * 32, dtype=torch.float64) + 0.1).to(torch.float32).reshape(2, 3, 32, 32)
    g = torch.sin(0.23 * torch.arange(2 * 1 * 16 * 16, dtype=torch.float64)).to(torch.float32).reshape(2, 1, 16, 16)
    return x, g


def pooled_layers(model, x):
    out = {}
    h = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    for name in LAYERS:
        h = getattr(model, name)(h)
        out[name] = h.mean(dim=(2, 3)).double()
    return out


def patchcore_reference(model, x):
    """PatchCore on the 'backbone' source's input x (2 images): layer2 and layer3 each averaged over
    3 x 3 neighbourhoods (nn.AvgPool2d(3, 1, 1)), layer3 upsampled bilinearly to layer2's size,
    concatenated; the bank is image 0's patches; image 1's per-position nearest distances, position-
    agnostic (the whole bank) and position-aware (image 0's patch at the same position)."""
    h = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    l2 = model.layer2(model.layer1(h))
    l3 = model.layer3(l2)
    pool = torch.nn.AvgPool2d(3, 1, 1)
    a2 = pool(l2)
    a3 = F.interpolate(pool(l3), size=a2.shape[-2:], mode="bilinear", align_corners=False)
    maps = torch.cat([a2, a3], dim=1).double()  # [2, 384, 4, 4]
    patches = maps.flatten(2).transpose(1, 2)  # [2, 16, 384]
    bank, query = patches[0], patches[1]
    agnostic = torch.cdist(query, bank).min(dim=1).values
    aware = (query - bank).norm(dim=1)
    return {
        "layers": ["layer2", "layer3"],
        "size": 32,
        "neighbourhood": 3,
        "side": maps.shape[-1],
        "channels": maps.shape[1],
        "agnostic": [float(v) for v in agnostic],
        "aware": [float(v) for v in aware],
    }


def summary(p, step):
    """Every `step`-th channel of [N, C] pooled features (7 significant digits), and each row's sum and sum of squares over all channels."""
    return {
        "step": step,
        "values": [[float("%.7g" % float(v)) for v in row[::step]] for row in p],
        "sum": [float(row.sum()) for row in p],
        "sumsq": [float((row * row).sum()) for row in p],
    }


def main():
    torch.set_num_threads(2)
    x, g = inputs()
    names = {}
    layers = {}
    source = None
    patchcore = None
    with torch.no_grad():
        for arch in ARCHS:
            model, entries = build(arch)
            names[arch] = entries if arch != "wide_resnet50_2" else [shape for _, shape in entries]
            if arch == "wide_resnet50_2":
                assert [n for n, _ in entries] == [n for n, _ in names["resnet50"]]
            pooled = pooled_layers(model, x)
            layers[arch] = {name: summary(p, 4 if arch == "resnet18" else 16) for name, p in pooled.items()}
            if arch == "resnet18":
                mean = torch.tensor(MEAN).view(1, 3, 1, 1)
                std = torch.tensor(STD).view(1, 3, 1, 1)
                x01 = ((g + 1) / 2).repeat(1, 3, 1, 1)
                x32 = F.interpolate(x01, size=(32, 32), mode="bilinear", align_corners=False)
                p = pooled_layers(model, (x32 - mean) / std)
                feats = torch.cat([p["layer2"], p["layer3"]], dim=1)
                source = {"layers": ["layer2", "layer3"], "size": 32, **summary(feats, 2)}
                patchcore = patchcore_reference(model, (x32 - mean) / std)
            del model
    out = {
        "generator": "scripts/make_resnet_fixture.py",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "names": names,
        "layers": layers,
        "source": source,
        "patchcore": patchcore,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, OUT)
    for arch in ARCHS:
        mags = {name: max(abs(v) for row in layers[arch][name]["values"] for v in row) for name in LAYERS}
        print(arch, "max |pooled| per layer:", {k: round(v, 4) for k, v in mags.items()})
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
