"""Turns a torchvision ResNet checkpoint (.pth) into the safetensors file anogen's 'backbone'
feature source reads (ocsvm and gaussian: --features backbone --backbone-weights FILE).

Needs only PyTorch (no torchvision, no safetensors package): the file is written by hand in the
safetensors layout (8-byte little-endian header length, a JSON header of
{name: {dtype, shape, data_offsets}}, padded with spaces to a multiple of 8, then the raw
little-endian float32 bytes of every tensor in order).

    python3 scripts/torchvision_to_safetensors.py resnet18-f37072fd.pth resnet18.safetensors

The checkpoint may be a state dict (what torchvision's model zoo serves: for example
https://download.pytorch.org/models/resnet18-f37072fd.pth, resnet50-0676ba61.pth or
wide_resnet50_2-95faca4d.pth, which you download yourself), a dict holding one under
'state_dict' or 'model', or a whole pickled model. A 'module.' prefix (DataParallel) is stripped;
floating-point tensors are written as float32; `num_batches_tracked` counters (not used in
evaluation mode) and, unless --keep-fc, the classifier `fc.*` are left out. The architecture is
guessed from the shapes and printed: pass it to anogen as --backbone-arch.
"""

import argparse
import ctypes
import json
import os
import sys

import torch


def load_state_dict(path):
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # PyTorch < 1.13 has no weights_only
        obj = torch.load(path, map_location="cpu")
    except Exception:  # a whole pickled model needs the full unpickler: only for files you trust
        obj = torch.load(path, map_location="cpu", weights_only=False)
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        obj = obj.state_dict()
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        sys.exit(f"{path}: not a state dict of tensors (nor a dict holding one under 'state_dict' or 'model')")
    out = {}
    for name, t in obj.items():
        if name.startswith("module."):
            name = name[len("module."):]
        out[name] = t
    return out


def guess_arch(sd):
    w = sd.get("layer1.0.conv1.weight")
    if w is None:
        return None
    if "layer1.0.conv3.weight" not in sd:
        return "resnet18" if "layer4.1.conv2.weight" in sd and "layer3.2.conv1.weight" not in sd else "resnet34 (not supported by anogen)"
    if "layer3.6.conv1.weight" in sd:
        return "resnet101 or deeper (not supported by anogen)"
    return {64: "resnet50", 128: "wide_resnet50_2"}.get(w.shape[0], "an unknown bottleneck ResNet")


def write_safetensors(path, tensors, metadata):
    if sys.byteorder != "little":
        sys.exit("this script writes the tensors' bytes as they are in memory: it needs a little-endian machine")
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().to("cpu", torch.float32).contiguous()
        size = t.numel() * 4
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        blobs.append((t, size))
        offset += size
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text.encode("utf-8")) % 8) % 8)
    head = text.encode("utf-8")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(head).to_bytes(8, "little"))
        f.write(head)
        for t, size in blobs:
            if size > 0:
                f.write(ctypes.string_at(t.data_ptr(), size))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", help="the torchvision .pth file")
    p.add_argument("output", help="the .safetensors file to write")
    p.add_argument("--keep-fc", action="store_true", help="also write the classifier fc.weight / fc.bias (anogen ignores them)")
    a = p.parse_args()
    sd = load_state_dict(a.checkpoint)
    keep = {}
    for name, t in sd.items():
        if name.endswith("num_batches_tracked") or (name.startswith("fc.") and not a.keep_fc):
            continue
        if not t.is_floating_point():
            sys.exit(f"{a.checkpoint}: tensor {name} has dtype {t.dtype}; expected floating-point weights")
        keep[name] = t
    arch = guess_arch(keep)
    write_safetensors(a.output, keep, {"format": "pt", "source": os.path.basename(a.checkpoint), "arch": arch or "unknown"})
    n = sum(t.numel() for t in keep.values())
    print(f"wrote {a.output}: {len(keep)} tensors, {n:,} float32 values ({os.path.getsize(a.output) / 2**20:.1f} MiB)")
    print(f"architecture: {arch or 'not a torchvision ResNet (no layer1.0.conv1.weight)'}")
    if arch in ("resnet18", "resnet50", "wide_resnet50_2"):
        print(f"use: anogen train gaussian --features backbone --backbone-arch {arch} --backbone-weights {a.output} ...")


if __name__ == "__main__":
    main()
