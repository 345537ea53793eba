#!/usr/bin/python3
"""Writes the PyTorch parity fixtures of test/nn and test/optim into test/fixtures/.

Run with Debian's python3 (it has torch): /usr/bin/python3 scripts/make-fixtures.py

Each fixture is a .safetensors file written by the small hand-rolled writer below (no
`safetensors` package needed), which also checks that anogen reads files written by an
independent implementation of the format. Names:
  sd.<name>      state dict entries to load into the anogen module (PyTorch's names)
  x, gy, ...     inputs and upstream gradients (backward of sum(output * gy))
  y, gx, grad.<param name>   PyTorch's outputs and gradients
The GANomaly networks (isize 32, ngf 64) are too large to store; their weights are rebuilt from
the seed (libtorch's generator is the same in both) and checked through per-parameter statistics
and samples (wstat./wsample.), and their weight gradients likewise (gstat./gsample.).
"""
import json
import os
import struct
import sys

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')
DTYPES = {torch.float32: 'F32', torch.float64: 'F64', torch.int64: 'I64', torch.int32: 'I32',
          torch.uint8: 'U8', torch.bool: 'BOOL', torch.float16: 'F16', torch.int8: 'I8', torch.int16: 'I16'}
SAMPLES = 32
written = []


def save(name, tensors, meta=None):
    """Minimal safetensors writer: u64 LE header length, JSON header padded with spaces to 8 bytes, data."""
    header = {}
    if meta:
        header['__metadata__'] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()}
    blobs, off = [], 0
    for key in sorted(tensors):
        t = tensors[key].detach().contiguous().cpu()
        if t.dtype == torch.bool:
            raw = bytes(t.to(torch.uint8).flatten().tolist())
        else:
            raw = t.numpy().tobytes()
        header[key] = {'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hb = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hb += b' ' * ((8 - len(hb) % 8) % 8)
    path = os.path.join(OUT, name + '.safetensors')
    with open(path + '.tmp', 'wb') as f:
        f.write(struct.pack('<Q', len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    os.replace(path + '.tmp', path)
    written.append((name, os.path.getsize(path)))


def sd_of(module, prefix='sd.'):
    return {prefix + k: v.clone() for k, v in module.state_dict().items()}


def grads_of(module, prefix='grad.'):
    return {prefix + k: p.grad.clone() for k, p in module.named_parameters() if p.grad is not None}


def stats(t):
    d = t.detach().double().flatten()
    return torch.tensor([d.sum().item(), d.abs().sum().item(), d.norm().item()], dtype=torch.float64)


def sample(t):
    f = t.detach().flatten()
    n = f.numel()
    if n <= SAMPLES:
        return f.clone()
    step = n // SAMPLES
    return f[torch.arange(SAMPLES) * step].clone()


# ---- single layers -----------------------------------------------------------------------------

def layer_fixture(name, seed, make, x_shape, meta, x_fn=None):
    """Default init under `seed`, then one forward and a backward of sum(y * gy)."""
    torch.manual_seed(seed)
    m = make()
    sd = sd_of(m)
    x = (x_fn() if x_fn else torch.randn(*x_shape)).requires_grad_(True)
    y = m(x)
    gy = torch.randn_like(y)
    (y * gy).sum().backward()
    save(name, {**sd, 'x': x, 'gy': gy, 'y': y, 'gx': x.grad, **grads_of(m)}, {'seed': seed, **meta})


def fixtures_layers():
    layer_fixture('conv2d', 11, lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 9, 9),
                  {'layer': 'Conv2d', 'args': [3, 4, 3], 'stride': 2, 'padding': 1})
    layer_fixture('conv_transpose2d', 12, lambda: nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1),
                  (2, 4, 5, 5), {'layer': 'ConvTranspose2d', 'args': [4, 3, 3], 'stride': 2, 'padding': 1, 'output_padding': 1})
    layer_fixture('linear', 13, lambda: nn.Linear(5, 3), (4, 5), {'layer': 'Linear', 'args': [5, 3]})
    layer_fixture('leaky_relu', 14, lambda: nn.LeakyReLU(0.2), (3, 7), {'layer': 'LeakyReLU', 'negative_slope': 0.2})
    layer_fixture('elu', 41, lambda: nn.ELU(0.7), (3, 7), {'layer': 'ELU', 'alpha': 0.7})
    layer_fixture('softplus', 42, lambda: nn.Softplus(2.0, 3.0), (3, 7), {'layer': 'Softplus', 'beta': 2.0, 'threshold': 3.0})
    layer_fixture('instance_norm2d', 43, lambda: nn.InstanceNorm2d(3, affine=True), (2, 3, 5, 4), {'layer': 'InstanceNorm2d'})
    layer_fixture('layer_norm', 44, lambda: nn.LayerNorm([4, 5]), (3, 4, 5), {'layer': 'LayerNorm'})
    layer_fixture('batchnorm1d', 45, lambda: nn.BatchNorm1d(4), (3, 4, 6), {'layer': 'BatchNorm1d'})
    layer_fixture('upsample_bilinear', 46, lambda: nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False),
                  (1, 2, 3, 4), {'layer': 'Upsample'})
    layer_fixture('conv2d_groups_dilation', 47, lambda: nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2, padding_mode='reflect'),
                  (2, 4, 7, 7), {'layer': 'Conv2d', 'groups': 2, 'dilation': 2, 'padding_mode': 'reflect'})

    # Embedding with a padding row: default init N(0, 1) with the row zeroed; gradient of the weight.
    torch.manual_seed(48)
    emb = nn.Embedding(7, 3, padding_idx=2)
    sd = sd_of(emb)
    idx = torch.tensor([[0, 2, 5], [2, 6, 0]])
    y = emb(idx)
    gy = torch.randn_like(y)
    (y * gy).sum().backward()
    save('embedding', {**sd, 'x': idx, 'gy': gy, 'y': y, **grads_of(emb)}, {'seed': 48, 'layer': 'Embedding', 'padding_idx': 2})

    # BatchNorm2d with non-trivial affine parameters and running statistics, train and eval.
    torch.manual_seed(15)
    bn = nn.BatchNorm2d(3)
    with torch.no_grad():
        bn.weight.normal_(1.0, 0.3)
        bn.bias.normal_(0.0, 0.3)
        bn.running_mean.normal_(0.0, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.num_batches_tracked.fill_(3)
    sd = sd_of(bn)
    x = (torch.randn(4, 3, 5, 5) * 2 + 0.5).requires_grad_(True)
    gy = torch.randn(4, 3, 5, 5)
    out = {**sd, 'x': x, 'gy': gy}
    bn.train()
    y = bn(x)
    (y * gy).sum().backward()
    out.update({'train.y': y, 'train.gx': x.grad.clone(), **grads_of(bn, 'train.grad.'),
                **{'train.' + k: v.clone() for k, v in bn.state_dict().items() if k.startswith(('running', 'num'))}})
    bn.load_state_dict({k[3:]: v for k, v in sd.items()})
    bn.zero_grad()
    x.grad = None
    bn.eval()
    y = bn(x)
    (y * gy).sum().backward()
    out.update({'eval.y': y, 'eval.gx': x.grad.clone(), **grads_of(bn, 'eval.grad.')})
    save('batchnorm2d', out, {'seed': 15, 'layer': 'BatchNorm2d', 'args': [3]})

    # LSTM: 2 layers, bidirectional, batch first, given initial states.
    torch.manual_seed(16)
    lstm = nn.LSTM(4, 6, num_layers=2, batch_first=True, bidirectional=True)
    sd = sd_of(lstm)
    x = torch.randn(2, 5, 4, requires_grad=True)
    h0 = torch.randn(4, 2, 6, requires_grad=True)
    c0 = torch.randn(4, 2, 6, requires_grad=True)
    output, (h, c) = lstm(x, (h0, c0))
    gy, gh, gc = torch.randn_like(output), torch.randn_like(h), torch.randn_like(c)
    ((output * gy).sum() + (h * gh).sum() + (c * gc).sum()).backward()
    save('lstm', {**sd, 'x': x, 'h0': h0, 'c0': c0, 'gy': gy, 'gh': gh, 'gc': gc, 'y': output, 'h': h, 'c': c,
                  'gx': x.grad, 'gh0': h0.grad, 'gc0': c0.grad, **grads_of(lstm)},
         {'seed': 16, 'layer': 'LSTM', 'args': [4, 6], 'num_layers': 2, 'batch_first': True, 'bidirectional': True})


# ---- optimisers ------------------------------------------------------------------------------------

OPTIMISERS = {
    'adam': (torch.optim.Adam, {'lr': 1e-2, 'betas': (0.5, 0.999)}),
    'adam_amsgrad_wd': (torch.optim.Adam, {'lr': 1e-2, 'amsgrad': True, 'weight_decay': 0.1}),
    'adamw': (torch.optim.AdamW, {'lr': 1e-2}),
    'sgd': (torch.optim.SGD, {'lr': 0.1}),
    'sgd_momentum': (torch.optim.SGD, {'lr': 0.1, 'momentum': 0.9, 'dampening': 0.1, 'weight_decay': 1e-2}),
    'sgd_nesterov': (torch.optim.SGD, {'lr': 0.1, 'momentum': 0.9, 'nesterov': True}),
    'rmsprop': (torch.optim.RMSprop, {'lr': 1e-2}),
    'rmsprop_centered': (torch.optim.RMSprop, {'lr': 1e-2, 'centered': True, 'momentum': 0.5, 'weight_decay': 0.01}),
}
STEPS = 3


def fixtures_optim():
    torch.manual_seed(21)
    p0 = {'a': torch.randn(3, 4), 'b': torch.randn(4)}
    grads = [{k: torch.randn_like(v) for k, v in p0.items()} for _ in range(STEPS)]
    out = {'p0.' + k: v for k, v in p0.items()}
    for s, g in enumerate(grads):
        out.update({'g.%d.%s' % (s, k): v for k, v in g.items()})
    meta = {}
    for name, (cls, kw) in OPTIMISERS.items():
        params = {k: v.clone().requires_grad_(True) for k, v in p0.items()}
        opt = cls(list(params.values()), **kw)
        for s in range(STEPS):
            for k, p in params.items():
                p.grad = grads[s][k].clone()
            opt.step()
            out.update({'%s.%d.%s' % (name, s, k): p.detach().clone() for k, p in params.items()})
        meta[name] = {k: list(v) if isinstance(v, tuple) else v for k, v in kw.items()}
    # clip_grad_norm_ (2-norm and max-norm)
    for norm_type, key in ((2.0, 'clip2'), (float('inf'), 'clipinf')):
        params = {k: v.clone().requires_grad_(True) for k, v in p0.items()}
        for k, p in params.items():
            p.grad = grads[0][k].clone()
        total = torch.nn.utils.clip_grad_norm_(list(params.values()), 0.5, norm_type=norm_type)
        out[key + '.total'] = total.reshape(1)
        out.update({'%s.%s' % (key, k): p.grad.clone() for k, p in params.items()})
    save('optim', out, {'seed': 21, 'steps': STEPS, 'optimisers': meta, 'clip_max_norm': 0.5})


# ---- GANomaly networks (own implementation of the reference architecture) ----------------------------

def dcgan_encoder(isize, nz, nc, ndf, extra=0):
    seq = nn.Sequential()
    seq.add_module('initial-conv-%d-%d' % (nc, ndf), nn.Conv2d(nc, ndf, 4, 2, 1, bias=False))
    seq.add_module('initial-relu-%d' % ndf, nn.LeakyReLU(0.2, inplace=True))
    size, ch = isize // 2, ndf
    for t in range(extra):
        seq.add_module('extra-layers-%d-%d-conv' % (t, ch), nn.Conv2d(ch, ch, 3, 1, 1, bias=False))
        seq.add_module('extra-layers-%d-%d-batchnorm' % (t, ch), nn.BatchNorm2d(ch))
        seq.add_module('extra-layers-%d-%d-relu' % (t, ch), nn.LeakyReLU(0.2, inplace=True))
    while size > 4:
        seq.add_module('pyramid-%d-%d-conv' % (ch, ch * 2), nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False))
        seq.add_module('pyramid-%d-batchnorm' % (ch * 2), nn.BatchNorm2d(ch * 2))
        seq.add_module('pyramid-%d-relu' % (ch * 2), nn.LeakyReLU(0.2, inplace=True))
        ch, size = ch * 2, size // 2
    seq.add_module('final-%d-1-conv' % ch, nn.Conv2d(ch, nz, 4, 1, 0, bias=False))
    return seq


def dcgan_decoder(isize, nz, nc, ngf, extra=0):
    ch, size = ngf // 2, 4
    while size != isize:
        ch, size = ch * 2, size * 2
    seq = nn.Sequential()
    seq.add_module('initial-%d-%d-convt' % (nz, ch), nn.ConvTranspose2d(nz, ch, 4, 1, 0, bias=False))
    seq.add_module('initial-%d-batchnorm' % ch, nn.BatchNorm2d(ch))
    seq.add_module('initial-%d-relu' % ch, nn.ReLU(True))
    size = 4
    while size < isize // 2:
        seq.add_module('pyramid-%d-%d-convt' % (ch, ch // 2), nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False))
        seq.add_module('pyramid-%d-batchnorm' % (ch // 2), nn.BatchNorm2d(ch // 2))
        seq.add_module('pyramid-%d-relu' % (ch // 2), nn.ReLU(True))
        ch, size = ch // 2, size * 2
    for t in range(extra):
        seq.add_module('extra-layers-%d-%d-conv' % (t, ch), nn.Conv2d(ch, ch, 3, 1, 1, bias=False))
        seq.add_module('extra-layers-%d-%d-batchnorm' % (t, ch), nn.BatchNorm2d(ch))
        seq.add_module('extra-layers-%d-%d-relu' % (t, ch), nn.ReLU(True))
    seq.add_module('final-%d-%d-convt' % (ch, nc), nn.ConvTranspose2d(ch, nc, 4, 2, 1, bias=False))
    seq.add_module('final-%d-tanh' % nc, nn.Tanh())
    return seq


class Wrap(nn.Module):
    def __init__(self, main):
        super().__init__()
        self.main = main

    def forward(self, x):
        return self.main(x)


class Generator(nn.Module):
    def __init__(self, isize, nz, nc, ngf):
        super().__init__()
        self.encoder1 = Wrap(dcgan_encoder(isize, nz, nc, ngf))
        self.decoder = Wrap(dcgan_decoder(isize, nz, nc, ngf))
        self.encoder2 = Wrap(dcgan_encoder(isize, nz, nc, ngf))

    def forward(self, x):
        z = self.encoder1(x)
        xh = self.decoder(z)
        return xh, z, self.encoder2(xh)


class Discriminator(nn.Module):
    def __init__(self, isize, nc, ndf):
        super().__init__()
        layers = list(dcgan_encoder(isize, 1, nc, ndf).children())
        self.features = nn.Sequential(*layers[:-1])
        self.classifier = nn.Sequential(layers[-1])
        self.classifier.add_module('Sigmoid', nn.Sigmoid())

    def forward(self, x):
        f = self.features(x)
        return self.classifier(f).view(-1, 1).squeeze(1), f


def dcgan_init(m):
    cls = m.__class__.__name__
    if 'Conv' in cls:
        m.weight.data.normal_(0.0, 0.02)
    elif 'BatchNorm' in cls:
        m.weight.data.normal_(1.0, 0.02)
        m.bias.data.fill_(0)


def net_summary(net, out):
    for k, p in net.named_parameters():
        out['wstat.' + k] = stats(p)
        out['wsample.' + k] = sample(p)
        out['gstat.' + k] = stats(p.grad)
        out['gsample.' + k] = sample(p.grad)
    for k, b in net.named_buffers():
        out['after.' + k] = b.clone()


def keys_meta(net):
    return [[k, list(v.shape)] for k, v in net.state_dict().items()]


def fixtures_ganomaly():
    isize, nc, nz, ngf, batch = 32, 1, 100, 64, 2
    arch = {'isize': isize, 'nc': nc, 'nz': nz, 'ngf': ngf, 'ndf': ngf, 'batch': batch}
    # Generator: built and DCGAN-initialised under seed 31, as the reference trainer does.
    torch.manual_seed(31)
    netg = Generator(isize, nz, nc, ngf)
    netg.apply(dcgan_init)
    keys = keys_meta(netg)
    torch.manual_seed(32)
    x = (torch.rand(batch, nc, isize, isize) * 2 - 1).requires_grad_(True)
    netg.train()
    xh, z, zh = netg(x)
    g1, g2, g3 = torch.randn_like(xh), torch.randn_like(z), torch.randn_like(zh)
    ((xh * g1).sum() + (z * g2).sum() + (zh * g3).sum()).backward()
    out = {'x': x, 'g_xh': g1, 'g_z': g2, 'g_zh': g3, 'xh': xh, 'z': z, 'zh': zh, 'gx': x.grad}
    net_summary(netg, out)
    netg.eval()
    with torch.no_grad():
        exh, ez, ezh = netg(x)
    out.update({'eval.xh': exh, 'eval.z': ez, 'eval.zh': ezh})
    save('ganomaly_netg', out, {'seed': 31, 'data_seed': 32, 'arch': arch, 'keys': keys, 'samples': SAMPLES})

    # Discriminator under seed 33.
    torch.manual_seed(33)
    netd = Discriminator(isize, nc, ngf)
    netd.apply(dcgan_init)
    keys = keys_meta(netd)
    torch.manual_seed(34)
    x = (torch.rand(batch, nc, isize, isize) * 2 - 1).requires_grad_(True)
    netd.train()
    pred, feat = netd(x)
    g1, g2 = torch.randn_like(pred), torch.randn_like(feat)
    ((pred * g1).sum() + (feat * g2).sum()).backward()
    out = {'x': x, 'g_pred': g1, 'g_feat': g2, 'pred': pred, 'feat': feat, 'gx': x.grad}
    net_summary(netd, out)
    save('ganomaly_netd', out, {'seed': 33, 'data_seed': 34, 'arch': arch, 'keys': keys, 'samples': SAMPLES})


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    fixtures_layers()
    fixtures_optim()
    fixtures_ganomaly()
    total = 0
    for name, size in written:
        total += size
        print('%-20s %8d bytes' % (name + '.safetensors', size))
    print('%-20s %8d bytes (torch %s)' % ('total', total, torch.__version__))
    if total > 2_000_000:
        sys.exit('fixtures exceed 2 MB')


if __name__ == '__main__':
    main()
