#!/usr/bin/python3
"""Writes test/fixtures/wgan-gp/penalty.safetensors: WGAN-GP's gradient penalty computed by PyTorch.

Run with Debian's python3 (it has torch): /usr/bin/python3 scripts/make_wgan_gp_fixture.py

The critic is anogen's DcganDiscriminator without batch norm (src/models/gan/networks.ts) at
isize 16, nc 1, ndf 4: conv 1->4 (4x4, stride 2) + LeakyReLU 0.2, conv 4->8 (4x4, stride 2) +
LeakyReLU 0.2, conv 8->1 (4x4), every conv with a bias; its weights are seeded normals scaled
by 0.2, written into the fixture (sd.<name>). For real and fake images [4, 1, 16, 16] and eps
[4, 1, 1, 1] the script computes, as Gulrajani et al.'s Algorithm 1,
    x^ = eps * real + (1 - eps) * fake,   g = d critic(x^).sum() / d x^  (create_graph=True)
    penalty = lambda * mean((||g||_2 - 1)^2),  lambda = 10
and stores the penalty, the mean gradient norm and the gradient of the penalty with respect to
every critic parameter (grad.<name>), which goes through g: a double backward.
"""
import json
import os
import struct

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'wgan-gp')
LAMBDA = 10.0


def save(path, tensors, meta):
    """Minimal safetensors writer: u64 LE header length, JSON header padded with spaces to 8 bytes, data."""
    header = {'__metadata__': {k: json.dumps(v) for k, v in meta.items()}}
    blobs, off = [], 0
    for key in sorted(tensors):
        t = tensors[key].detach().contiguous().cpu().float()
        raw = t.numpy().tobytes()
        header[key] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hb = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hb += b' ' * ((8 - len(hb) % 8) % 8)
    with open(path + '.tmp', 'wb') as f:
        f.write(struct.pack('<Q', len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    os.replace(path + '.tmp', path)


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential()
        self.main.add_module('initial-conv-1-4', nn.Conv2d(1, 4, 4, 2, 1, bias=True))
        self.main.add_module('initial-relu-4', nn.LeakyReLU(0.2))
        self.main.add_module('pyramid-4-8-conv', nn.Conv2d(4, 8, 4, 2, 1, bias=True))
        self.main.add_module('pyramid-8-relu', nn.LeakyReLU(0.2))
        self.main.add_module('final-8-1-conv', nn.Conv2d(8, 1, 4, 1, 0, bias=True))

    def forward(self, x):
        return self.main(x).view(-1)


def main():
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(1234)
    critic = Critic()
    with torch.no_grad():
        for _, p in critic.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    real = torch.rand(4, 1, 16, 16, generator=g) * 2 - 1
    fake = torch.rand(4, 1, 16, 16, generator=g) * 2 - 1
    eps = torch.rand(4, 1, 1, 1, generator=g)
    xhat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    out = critic(xhat)
    (grad,) = torch.autograd.grad(out.sum(), xhat, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    penalty = LAMBDA * ((norms - 1) ** 2).mean()
    critic.zero_grad()
    penalty.backward()
    tensors = {'real': real, 'fake': fake, 'eps': eps, 'penalty': penalty.reshape([]), 'gradNorm': norms.mean().reshape([])}
    for k, v in critic.state_dict().items():
        tensors['sd.' + k] = v
    # The input gradient does not depend on the last bias (nor, almost everywhere, on the others:
    # LeakyReLU's second derivative is 0), so some gradients are None: stored as zeros.
    for k, p in critic.named_parameters():
        tensors['grad.' + k] = p.grad if p.grad is not None else torch.zeros_like(p)
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, 'penalty.safetensors')
    save(path, tensors, {'torch': torch.__version__, 'lambda': LAMBDA, 'isize': 16, 'nc': 1, 'ndf': 4})
    print(f'{path}: {os.path.getsize(path)} bytes, penalty {penalty.item():.6f}, mean grad norm {norms.mean().item():.6f}')


if __name__ == '__main__':
    main()
