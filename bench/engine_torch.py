#!/usr/bin/env python3
"""PyTorch reference for anogen's benchmarks: the GANomaly networks and training step of the
official code (samet-akcay/ganomaly: DCGAN encoder-decoder-encoder generator, DCGAN
discriminator, Adam 2e-4 beta1 0.5, the official generator then discriminator updates).

Written from the paper and the reference's description for timing only; run with Debian's
python3-torch:  /usr/bin/python3 bench/engine_torch.py --steps 20 --threads 2
Prints one JSON line: {"ms_per_step": [...], "peak_rss_mb": ..., "torch": ...}.
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self, isize, nz, nc, ndf, n_extra_layers=0, add_final_conv=True):
        super().__init__()
        assert isize % 16 == 0, "isize has to be a multiple of 16"
        main = nn.Sequential()
        main.add_module(f"initial-conv-{nc}-{ndf}", nn.Conv2d(nc, ndf, 4, 2, 1, bias=False))
        main.add_module(f"initial-relu-{ndf}", nn.LeakyReLU(0.2, inplace=True))
        csize, cndf = isize // 2, ndf
        for t in range(n_extra_layers):
            main.add_module(f"extra-layers-{t}-{cndf}-conv", nn.Conv2d(cndf, cndf, 3, 1, 1, bias=False))
            main.add_module(f"extra-layers-{t}-{cndf}-batchnorm", nn.BatchNorm2d(cndf))
            main.add_module(f"extra-layers-{t}-{cndf}-relu", nn.LeakyReLU(0.2, inplace=True))
        while csize > 4:
            in_feat, out_feat = cndf, cndf * 2
            main.add_module(f"pyramid-{in_feat}-{out_feat}-conv", nn.Conv2d(in_feat, out_feat, 4, 2, 1, bias=False))
            main.add_module(f"pyramid-{out_feat}-batchnorm", nn.BatchNorm2d(out_feat))
            main.add_module(f"pyramid-{out_feat}-relu", nn.LeakyReLU(0.2, inplace=True))
            cndf *= 2
            csize //= 2
        if add_final_conv:
            main.add_module(f"final-{cndf}-{1}-conv", nn.Conv2d(cndf, nz, 4, 1, 0, bias=False))
        self.main = main

    def forward(self, x):
        return self.main(x)


class Decoder(nn.Module):
    def __init__(self, isize, nz, nc, ngf, n_extra_layers=0):
        super().__init__()
        cngf, tisize = ngf // 2, 4
        while tisize != isize:
            cngf *= 2
            tisize *= 2
        main = nn.Sequential()
        main.add_module(f"initial-{nz}-{cngf}-convt", nn.ConvTranspose2d(nz, cngf, 4, 1, 0, bias=False))
        main.add_module(f"initial-{cngf}-batchnorm", nn.BatchNorm2d(cngf))
        main.add_module(f"initial-{cngf}-relu", nn.ReLU(True))
        csize = 4
        while csize < isize // 2:
            main.add_module(f"pyramid-{cngf}-{cngf // 2}-convt", nn.ConvTranspose2d(cngf, cngf // 2, 4, 2, 1, bias=False))
            main.add_module(f"pyramid-{cngf // 2}-batchnorm", nn.BatchNorm2d(cngf // 2))
            main.add_module(f"pyramid-{cngf // 2}-relu", nn.ReLU(True))
            cngf //= 2
            csize *= 2
        for t in range(n_extra_layers):
            main.add_module(f"extra-layers-{t}-{cngf}-conv", nn.Conv2d(cngf, cngf, 3, 1, 1, bias=False))
            main.add_module(f"extra-layers-{t}-{cngf}-batchnorm", nn.BatchNorm2d(cngf))
            main.add_module(f"extra-layers-{t}-{cngf}-relu", nn.ReLU(True))
        main.add_module(f"final-{cngf}-{nc}-convt", nn.ConvTranspose2d(cngf, nc, 4, 2, 1, bias=False))
        main.add_module(f"final-{nc}-tanh", nn.Tanh())
        self.main = main

    def forward(self, x):
        return self.main(x)


class NetD(nn.Module):
    def __init__(self, isize, nc, ndf):
        super().__init__()
        layers = list(Encoder(isize, 1, nc, ndf).main.children())
        self.features = nn.Sequential(*layers[:-1])
        self.classifier = nn.Sequential(layers[-1])
        self.classifier.add_module("Sigmoid", nn.Sigmoid())

    def forward(self, x):
        features = self.features(x)
        classifier = self.classifier(features).view(-1, 1).squeeze(1)
        return classifier, features


class NetG(nn.Module):
    def __init__(self, isize, nz, nc, ngf):
        super().__init__()
        self.encoder1 = Encoder(isize, nz, nc, ngf)
        self.decoder = Decoder(isize, nz, nc, ngf)
        self.encoder2 = Encoder(isize, nz, nc, ngf)

    def forward(self, x):
        latent_i = self.encoder1(x)
        gen_imag = self.decoder(latent_i)
        latent_o = self.encoder2(gen_imag)
        return gen_imag, latent_i, latent_o


def weights_init(mod):
    name = mod.__class__.__name__
    if name.find("Conv") != -1:
        mod.weight.data.normal_(0.0, 0.02)
    elif name.find("BatchNorm") != -1:
        mod.weight.data.normal_(1.0, 0.02)
        mod.bias.data.fill_(0)


def l2(a, b):
    return torch.mean(torch.pow(a - b, 2))


def train_step(netg, netd, opt_g, opt_d, x, real, fake_lbl, w_adv=1, w_con=50, w_enc=1):
    """One official GANomaly step (optimize_params): G update, then D update, D re-initialised
    when its loss collapses. Returns (err_g, err_d, err_adv, err_con, err_enc, d_reinit)."""
    fake, latent_i, latent_o = netg(x)
    pred_real, _ = netd(x)
    pred_fake, _ = netd(fake.detach())
    opt_g.zero_grad()
    err_adv = l2(netd(x)[1], netd(fake)[1])
    err_con = nn.functional.l1_loss(fake, x)
    err_enc = l2(latent_o, latent_i)
    err_g = err_adv * w_adv + err_con * w_con + err_enc * w_enc
    err_g.backward(retain_graph=True)
    opt_g.step()
    opt_d.zero_grad()
    bce = nn.functional.binary_cross_entropy
    err_d = (bce(pred_real, real) + bce(pred_fake, fake_lbl)) * 0.5
    err_d.backward()
    opt_d.step()
    reinit = err_d.item() < 1e-5
    if reinit:
        netd.apply(weights_init)
    return err_g, err_d, err_adv, err_con, err_enc, reinit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--isize", type=int, default=32)
    ap.add_argument("--nc", type=int, default=1)
    ap.add_argument("--nz", type=int, default=100)
    ap.add_argument("--ngf", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--score", action="store_true", help="also time scoring (1 image, batch 256)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    netg, netd = NetG(a.isize, a.nz, a.nc, a.ngf), NetD(a.isize, a.nc, a.ngf)
    netg.apply(weights_init)
    netd.apply(weights_init)
    opt_g = torch.optim.Adam(netg.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(netd.parameters(), lr=2e-4, betas=(0.5, 0.999))
    x = torch.rand(a.batch, a.nc, a.isize, a.isize) * 2 - 1
    real = torch.ones(a.batch)
    fake_lbl = torch.zeros(a.batch)
    times = []
    for step in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        train_step(netg, netd, opt_g, opt_d, x, real, fake_lbl)
        dt = (time.perf_counter() - t0) * 1000
        if step >= a.warmup:
            times.append(dt)
    out = {"ms_per_step": times, "torch": torch.__version__, "threads": torch.get_num_threads()}
    if a.score:
        netg.eval()
        one = torch.rand(1, a.nc, a.isize, a.isize) * 2 - 1
        big = torch.rand(256, a.nc, a.isize, a.isize) * 2 - 1
        s1, s256 = [], []
        with torch.no_grad():
            for i in range(a.warmup + a.steps):
                t0 = time.perf_counter()
                _, li, lo = netg(one)
                torch.mean(torch.pow(li - lo, 2), dim=(1, 2, 3)).tolist()
                if i >= a.warmup:
                    s1.append((time.perf_counter() - t0) * 1000)
            for i in range(a.warmup + max(3, a.steps // 4)):
                t0 = time.perf_counter()
                _, li, lo = netg(big)
                torch.mean(torch.pow(li - lo, 2), dim=(1, 2, 3)).tolist()
                if i >= a.warmup:
                    s256.append((time.perf_counter() - t0) * 1000)
        out["score1_ms"] = s1
        out["score256_ms"] = s256
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
