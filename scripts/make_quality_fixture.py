"""Fixture of anogen's sample-quality measures (src/eval/quality.ts), computed with NumPy/SciPy.

Writes test/fixtures/quality/quality.json: small random feature sets and class probabilities
(seeded) and, for each case, the Frechet distance (FID's formula with scipy.linalg.sqrtm), the
Inception-style classifier score, the predicted-class histogram, the classes covered and
KL(histogram || uniform).

    /usr/bin/python3 scripts/make_quality_fixture.py
"""
import json
import os

import numpy as np
import scipy.linalg

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "quality", "quality.json")


def frechet(f1, f2):
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def classifier_score(p):
    py = p.mean(0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * (np.log(p) - np.log(py)), 0.0).sum(1)
    return float(np.exp(kl.mean()))


def coverage(p):
    k = p.shape[1]
    counts = np.bincount(p.argmax(1), minlength=k)
    h = counts / counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = float(np.where(h > 0, h * np.log(k * h), 0.0).sum())
    return counts.tolist(), int((counts >= 1).sum()), kl


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def case(name, rng, n1, n2, d, k, shift, scale, collapse):
    a = rng.normal(size=(d, d)) / np.sqrt(d)
    f1 = rng.normal(size=(n1, d)) @ a
    b = rng.normal(size=(d, d)) / np.sqrt(d)
    f2 = (rng.normal(size=(n2, d)) @ b) * scale + shift
    logits = rng.normal(size=(n2, k)) * 3
    if collapse:  # most samples predicted as a few classes, some classes never
        logits[:, :collapse] += 6
        logits[:, collapse : collapse + 2] -= 20
    p = softmax(logits)
    # Rounded before anything is computed, so the JSON stays small and holds exactly the inputs.
    f1, f2, p = np.round(f1, 6), np.round(f2, 6), np.round(p, 9)
    counts, modes, kl = coverage(p)
    return {
        "name": name,
        "dim": d,
        "classes": k,
        "n1": n1,
        "n2": n2,
        "features1": f1.ravel().tolist(),
        "features2": f2.ravel().tolist(),
        "probs": p.ravel().tolist(),
        "frechetDistance": frechet(f1, f2),
        "classifierScore": classifier_score(p),
        "counts": counts,
        "modes": modes,
        "klUniform": kl,
    }


def main():
    rng = np.random.default_rng(20261130)
    cases = [
        case("small", rng, 60, 50, 4, 10, 0.5, 1.0, 0),
        case("wide", rng, 120, 100, 32, 10, 0.1, 1.5, 0),
        case("collapsed", rng, 80, 70, 16, 10, 1.0, 0.3, 3),
    ]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"generator": "scripts/make_quality_fixture.py", "numpy": np.__version__, "scipy": scipy.__version__, "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
